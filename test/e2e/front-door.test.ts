import { request as httpRequest } from 'node:http';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyTaken, request, runCli, spawnServer, type ServerProcess } from '../support/process.js';
import { freshStoreEnv } from '../support/test-db.js';
import { waitFor } from '../support/wait.js';

/**
 * Refusals over TLS against the real server: every one reaches the client, however much the
 * client was still sending, and every answered request is logged and counted once. The races
 * this guards against show only now and then, so each case runs RUNS times.
 */
const RUNS = 20;

interface Exchange {
  /** Status lines of every answer received, interim (100) ones included. */
  statusLines: string[];
  text: string;
  /** The error that ended the connection (EPIPE, ECONNRESET: the server reset it while the client sent), if any. */
  reset?: string;
}

/**
 * Sends `head` and then `body` on a raw TLS connection in 4 KB writes, each after the last was
 * taken, until an answer starts to arrive (as curl does, which gives up on a failed write: exit
 * 55); with `Expect: 100-continue` in `head`, the body only after a 100. Resolves with what came
 * back once the connection closed.
 */
function exchange(url: string, head: string, body?: Buffer): Promise<Exchange> {
  const { port } = new URL(url);
  const isExpecting = /expect: 100-continue/i.test(head);
  return new Promise((resolve, reject) => {
    let text = '';
    let reset: string | undefined;
    let isClosed = false;
    const socket = tls.connect({ host: '127.0.0.1', port: Number(port), rejectUnauthorized: false }, () => {
      void send(Buffer.concat([Buffer.from(head), isExpecting ? Buffer.alloc(0) : (body ?? Buffer.alloc(0))]), text.length);
    });
    const send = async (data: Buffer, answeredBefore: number) => {
      for (let offset = 0; offset < data.length && text.length === answeredBefore && !socket.destroyed; offset += 4096) {
        await new Promise<void>((resume) => socket.write(data.subarray(offset, offset + 4096), () => setImmediate(resume)));
      }
    };
    socket.on('data', (d) => {
      const before = text.length;
      text += d;
      if (isExpecting && body && text.startsWith('HTTP/1.1 100') && before === 0) void send(body, text.length);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => (reset = err.code));
    socket.on('close', () => (isClosed = true));
    waitFor(() => isClosed, { timeoutMs: 20_000, intervalMs: 10, description: 'the server to close the connection' }).then(
      () => resolve({ statusLines: text.split('\r\n').filter((line) => line.startsWith('HTTP/1.1 ')), text, reset }),
      (err) => {
        socket.destroy();
        reject(err);
      },
    );
  });
}

const jsonOf = (text: string) => JSON.parse(text.slice(text.lastIndexOf('\r\n\r\n') + 4));

describe('refusals reach the client', () => {
  let store: Awaited<ReturnType<typeof freshStoreEnv>>;
  let server: ServerProcess;
  let key: string;
  beforeAll(async () => {
    store = await freshStoreEnv();
    server = await spawnServer({ ...store.env, PROFILES_BODY_LIMIT: '65536' });
    key = (await runCli(['tenant', 'create', 'door', '--json'], store.env)).json.key;
    await keyTaken(server.url, key);
  });
  afterAll(async () => {
    await server?.stop();
    await store?.dispose();
  });

  const big = Buffer.alloc(4 << 20, 'a');
  const put = (extra = '') =>
    `PUT /resources/v2/customerprofile HTTP/1.1\r\nHost: localhost\r\nkey: ${key}\r\ncontent-type: application/json\r\ncontent-length: ${big.length}\r\n${extra}\r\n`;

  it(`answers 413 with 7012 to a body over the limit while the client is still sending it (${RUNS} runs)`, async () => {
    for (let i = 0; i < RUNS; i++) {
      const { statusLines, text, reset } = await exchange(server.url, put(), big);
      expect({ statusLines, reset }, `run ${i}`).toEqual({ statusLines: ['HTTP/1.1 413 Payload Too Large'], reset: undefined });
      expect(jsonOf(text).response.code).toBe('7012');
    }
  }, 120_000);

  it(`answers 413 without 100 Continue to a body over the limit announced with Expect (${RUNS} runs)`, async () => {
    for (let i = 0; i < RUNS; i++) {
      const { statusLines, reset } = await exchange(server.url, put('Expect: 100-continue\r\n'), big);
      expect({ statusLines, reset }, `run ${i}`).toEqual({ statusLines: ['HTTP/1.1 413 Payload Too Large'], reset: undefined });
    }
  }, 120_000);

  it('sends 100 Continue to a body within the limit once the request is authenticated, and none without a key', async () => {
    const body = Buffer.from(JSON.stringify({ Records: [{ customerId: 'cont', Attributes: { name: 'C' } }] }));
    const head = (k: string) =>
      `PUT /resources/v2/customerprofile HTTP/1.1\r\nHost: localhost\r\n${k}content-type: application/json\r\ncontent-length: ${body.length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`;
    expect((await exchange(server.url, head(`key: ${key}\r\n`), body)).statusLines).toEqual(['HTTP/1.1 100 Continue', 'HTTP/1.1 202 Accepted']);
    expect((await exchange(server.url, head(''), body)).statusLines).toEqual(['HTTP/1.1 401 Unauthorized']);
  });

  // Node's client sends 100 KB before the server can close (curl does not): 2 MB keeps it sending.
  it(`answers 431 with 7905 to a 2 MB header while the client is still sending it (${RUNS} runs)`, async () => {
    for (let i = 0; i < RUNS; i++) {
      const { statusLines, text, reset } = await exchange(server.url, `GET /healthz HTTP/1.1\r\nHost: localhost\r\nx-large: ${'b'.repeat(2_000_000)}\r\n\r\n`);
      expect({ statusLines, reset }, `run ${i}`).toEqual({ statusLines: ['HTTP/1.1 431 Request Header Fields Too Large'], reset: undefined });
      expect(jsonOf(text).response.code).toBe('7905');
    }
  }, 120_000);

  it(`answers 431 to a URL of 100,000 ids while the client is still sending it (${RUNS} runs)`, async () => {
    const query = Array.from({ length: 100_000 }, (_, n) => `customerId=c${n}`).join('&');
    for (let i = 0; i < RUNS; i++) {
      const { statusLines, reset } = await exchange(server.url, `GET /resources/v2/customerprofile?${query} HTTP/1.1\r\nHost: localhost\r\nkey: ${key}\r\n\r\n`);
      expect({ statusLines, reset }, `run ${i}`).toEqual({ statusLines: ['HTTP/1.1 431 Request Header Fields Too Large'], reset: undefined });
    }
  }, 120_000);

  it(`answers plain HTTP on the HTTPS port 400 with a plain-text hint (${RUNS} runs), and still speaks TLS`, async () => {
    const { port } = new URL(server.url);
    for (let i = 0; i < RUNS; i++) {
      const answer = await new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
        httpRequest({ host: '127.0.0.1', port, path: '/healthz' }, (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body }));
        })
          .on('error', reject)
          .end();
      });
      expect(answer).toEqual({ status: 400, type: 'text/plain; charset=utf-8', body: 'This port speaks HTTPS only: send the request again with https://\n' });
    }
    expect((await request(server.url, 'GET', '/healthz')).status).toBe(200);
  }, 60_000);

  it('logs every answered request once with its status, and counts it once in the request metrics', async () => {
    const before = (await request(server.url, 'GET', '/metrics')).text;
    const sent = [
      await exchange(server.url, `GET /healthz HTTP/1.1\r\nHost: localhost\r\nx-large: ${'c'.repeat(20_000)}\r\n\r\n`),
      await exchange(server.url, 'FOO /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n'),
      await exchange(server.url, 'GET /resources/v2/customerprofile/%E0%A4%A HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'),
      await exchange(server.url, `GET /resources/v2/customerprofile/%E0%A4%A HTTP/1.1\r\nHost: localhost\r\nkey: ${key}\r\nConnection: close\r\n\r\n`),
      await exchange(server.url, `GET /resources/v2/customerprofile/${'z'.repeat(600)} HTTP/1.1\r\nHost: localhost\r\nkey: ${key}\r\nConnection: close\r\n\r\n`),
    ];
    expect(sent.map((s) => s.statusLines[0].split(' ')[1])).toEqual(['431', '400', '401', '400', '400']);
    const after = (await request(server.url, 'GET', '/metrics')).text;
    const count = (text: string, labels: string) => Number(new RegExp(`openprofiles_http_requests_total\\{${labels}\\} (\\d+)`).exec(text)?.[1] ?? 0);
    const delta = (labels: string) => count(after, labels) - count(before, labels);
    expect(delta('route="unreadable",method="unknown",status="431",code="7905"')).toBe(1);
    expect(delta('route="unreadable",method="unknown",status="400",code="7905"')).toBe(1);
    expect(delta('route="unreadable",method="GET",status="401",code="7002"')).toBe(1);
    expect(delta('route="unreadable",method="GET",status="400",code="7905"')).toBe(1);
    expect(delta('route="unreadable",method="GET",status="400",code="7011"')).toBe(1);

    // Each answer's transid is in one log line that gives its status; every request logged as
    // incoming is logged as completed (the last line may follow its answer by a moment).
    await waitFor(
      () => {
        const lines = server
          .output()
          .split('\n')
          .filter((line) => line.startsWith('{'))
          .map((line) => JSON.parse(line));
        for (const { text } of sent) {
          const transid = jsonOf(text).response.transid;
          const completions = lines.filter((l) => l.transid === transid && l.res?.statusCode !== undefined);
          expect(completions.map((l) => l.res.statusCode), transid).toEqual([Number(text.split(' ')[1])]);
        }
        const completed = new Set(lines.filter((l) => l.msg === 'request completed').map((l) => l.transid));
        expect(lines.filter((l) => l.msg === 'incoming request' && !completed.has(l.transid)).map((l) => l.req?.url)).toEqual([]);
        return true;
      },
      { timeoutMs: 5_000, intervalMs: 50, description: 'every request logged once as completed, with its status' },
    );
  }, 60_000);
});
