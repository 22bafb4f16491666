import { existsSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyTaken, request, runCli, spawnServer, type ServerProcess } from '../support/process.js';
import { freshStoreEnv } from '../support/test-db.js';
import { waitFor } from '../support/wait.js';

describe('the server process', () => {
  let store: Awaited<ReturnType<typeof freshStoreEnv>>;
  let env: Record<string, string>;
  let dataDir: string;
  let server: ServerProcess;
  beforeAll(async () => {
    store = await freshStoreEnv();
    ({ env, dataDir } = store);
    server = await spawnServer(env);
  });
  afterAll(async () => {
    await server?.stop();
    await store?.dispose();
  });
  /** Asks until the server answers `status`, as it does once it has taken a CLI change (at its next directory poll); returns that answer. */
  const answered = (method: string, path: string, key: string, status: number) =>
    waitFor(
      async () => {
        const answer = await request(server.url, method, `/resources/v2${path}`, { key });
        return answer.status === status && answer;
      },
      { timeoutMs: 10_000, intervalMs: 50, description: `${method} ${path} answered ${status}` },
    );

  it('creates a self-signed certificate in the data directory on first start and says so', () => {
    expect(existsSync(join(dataDir, 'tls', 'localhost.crt'))).toBe(true);
    expect(server.output()).toMatch(/created a self-signed certificate/);
  });

  it('speaks TLS 1.2 or newer only', async () => {
    const { port } = new URL(server.url);
    const handshake = (maxVersion: tls.SecureVersion) =>
      new Promise<string>((resolve) => {
        const socket = tls.connect({ host: '127.0.0.1', port: Number(port), rejectUnauthorized: false, minVersion: 'TLSv1', maxVersion }, () => {
          resolve(socket.getProtocol() ?? 'none');
          socket.end();
        });
        socket.on('error', () => resolve('refused'));
      });
    expect(await handshake('TLSv1.1')).toBe('refused');
    expect(await handshake('TLSv1.2')).toBe('TLSv1.2');
    expect(await handshake('TLSv1.3')).toBe('TLSv1.3');
  });

  it('refuses plaintext HTTP on its port', async () => {
    const { port } = new URL(server.url);
    const outcome = await new Promise<string>((resolve) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/healthz', timeout: 5000 }, (res) => resolve(`answered ${res.statusCode}`));
      req.on('error', () => resolve('refused'));
      req.on('timeout', () => req.destroy());
      req.end();
    });
    expect(outcome).not.toBe('answered 200');
  });

  it('takes a CLI change while it runs: a new tenant key works, a revoked one stops working', async () => {
    const created = await runCli(['tenant', 'create', 'live', '--json'], env);
    await answered('GET', '/customerprofile/x', created.json.key, 404);
    await runCli(['key', 'revoke', String(created.json.id), created.json.keyId, '--json'], env);
    await answered('GET', '/customerprofile/x', created.json.key, 401);
  });

  it("stops taking an erased app's appid (7018) and an erased tenant's key (7001) once it has taken the delete", async () => {
    const { json: t } = await runCli(['tenant', 'create', 'erased', '--json'], env);
    await runCli(['app', 'create', String(t.id), '--channel', 'fb', '--appid', 'erased-fb', '--json'], env);
    await answered('GET', '/customerappprofile/erased-fb/c1', t.key, 404);
    const write = await request(server.url, 'POST', '/resources/v2/customerappprofile/erased-fb', { key: t.key, body: { Records: [{ customerId: 'c1', Attributes: { psid: '1' } }] }, headers: { prefer: 'wait=5' } });
    expect(write.status).toBe(200);

    expect((await runCli(['app', 'delete', String(t.id), 'erased-fb', '--erase', '--json'], env)).json.erased).toMatchObject({ apps: 1, appProfiles: 1 });
    const app = await answered('GET', '/customerappprofile/erased-fb/c1', t.key, 403);
    expect(app.body.response.code).toBe('7018');

    expect((await runCli(['tenant', 'delete', String(t.id), '--erase', '--json'], env)).json.erased).toMatchObject({ profileKeys: 1, writeTransactions: 1 });
    const tenant = await answered('GET', '/customerprofile/c1', t.key, 401);
    expect(tenant.body.response.code).toBe('7001');
  });

  it('logs JSON lines that carry the transid, and never the key or attribute values', async () => {
    const { json: t } = await runCli(['tenant', 'create', 'logs', '--json'], env);
    // The server takes the new key at its next directory poll.
    await answered('GET', '/customerprofile/x', t.key, 404);
    const res = await request(server.url, 'POST', '/resources/v2/customerprofile', {
      key: t.key,
      body: { Records: [{ customerId: 'log1', Attributes: { name: 'Very Secret Name' } }] },
    });
    const bad = await request(server.url, 'POST', '/resources/v2/customerprofile', {
      key: t.key,
      body: { Records: [{ customerId: 'log2', Attributes: { msisdn: 'secret-msisdn-value' } }] },
    });
    expect(bad.status).toBe(400);
    // Each request's last line, which gives its status, can reach us after its answer.
    const completed = (transid: string) => server.output().split('\n').some((l) => l.startsWith('{') && l.includes(transid) && l.includes('"statusCode"'));
    await waitFor(() => completed(res.body.response.transid) && completed(bad.body.response.transid), { timeoutMs: 5_000, description: 'both requests logged as completed' });
    const text = server.output();
    expect(text).not.toContain(t.key);
    expect(text).not.toContain('Very Secret Name');
    expect(text).not.toContain('secret-msisdn-value');
  });
});

describe('shutdown', () => {
  it('on SIGTERM answers what is in flight, then exits 0 with the queue applied', async () => {
    const store = await freshStoreEnv();
    const { env } = store;
    try {
      const { json: t } = await runCli(['tenant', 'create', 'stop', '--json'], env);
      const server = await spawnServer(env);
      const writes = Array.from({ length: 20 }, (_, i) =>
        request(server.url, 'POST', '/resources/v2/customerprofile', { key: t.key, body: { Records: [{ customerId: `s${i}`, Attributes: {} }] } }),
      );
      // SIGTERM as soon as the server answers one write (on a busy machine 20 ms can pass before
      // any request arrives), with the others still in flight.
      await Promise.any(writes);
      const exit = server.stop();
      const answers = await Promise.allSettled(writes);
      expect(await exit).toBe(0);
      expect(server.output()).toMatch(/shut down cleanly/);
      // Every write that was answered is stored; none was answered and then lost.
      const accepted = answers.filter((a) => a.status === 'fulfilled' && a.value.status === 202) as Array<PromiseFulfilledResult<{ body: any }>>;
      expect(accepted.length).toBeGreaterThan(0);
      // One CLI process per write, one after another: 11–14 s in CI, hence the 60 s.
      for (const a of accepted) {
        const st = await runCli(['status', String(t.id), a.value.body.response.transid, '--json'], env);
        expect(st.json?.code === '1000' || st.json?.state === 'queued', `${st.stdout}${st.stderr}`).toBe(true);
      }
    } finally {
      await store.dispose();
    }
  }, 60_000);
});

describe('plain HTTP', () => {
  it('serves plain HTTP only when PROFILES_PLAIN_HTTP is set', async () => {
    const store = await freshStoreEnv();
    const { dataDir } = store;
    const server = await spawnServer({ ...store.env, PROFILES_PLAIN_HTTP: 'true' });
    try {
      const { port } = new URL(server.url);
      const status = await new Promise<number>((resolve, reject) => {
        httpRequest({ host: '127.0.0.1', port, path: '/healthz' }, (res) => resolve(res.statusCode!)).on('error', reject).end();
      });
      expect(status).toBe(200);
      expect(existsSync(join(dataDir, 'tls'))).toBe(false);
    } finally {
      await server.stop();
      await store.dispose();
    }
  });
});

describe('slow clients', () => {
  /**
   * Sends a PUT whose body arrives one byte every `gapMs`, its last byte not before `lastByteAfter`
   * settles; resolves with the status line, or 'closed'.
   */
  function trickle(url: string, key: string, body: string, gapMs: number, lastByteAfter: Promise<unknown> = Promise.resolve()): Promise<string> {
    const { port } = new URL(url);
    return new Promise((resolve, reject) => {
      let answer: string | null = null;
      const socket = tls.connect({ host: '127.0.0.1', port: Number(port), rejectUnauthorized: false }, async () => {
        socket.write(`PUT /resources/v2/customerprofile HTTP/1.1\r\nHost: localhost\r\nkey: ${key}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n`);
        for (const [i, ch] of [...body].entries()) {
          if (i === body.length - 1) await lastByteAfter;
          if (socket.destroyed) break;
          socket.write(ch);
          // A slow client on purpose: the pause between two bytes is what the test is about.
          await new Promise((r) => setTimeout(r, gapMs));
        }
      });
      socket.on('data', (d) => {
        answer ??= String(d).split('\r\n')[0];
        socket.destroy();
      });
      socket.on('error', () => undefined);
      socket.on('close', () => (answer ??= 'closed'));
      waitFor(() => answer, { timeoutMs: 20_000, intervalMs: 50, description: 'an answer to the trickled PUT' }).then(resolve, (err) => {
        socket.destroy();
        reject(err);
      });
    });
  }

  it('serves other clients while one trickles its body, and answers the trickler when it is done', async () => {
    const store = await freshStoreEnv();
    const server = await spawnServer(store.env);
    try {
      const { json: t } = await runCli(['tenant', 'create', 'slow', '--json'], store.env);
      await keyTaken(server.url, t.key);
      let isServed!: () => void;
      const served = new Promise<void>((resolve) => (isServed = resolve));
      const slow = trickle(server.url, t.key, JSON.stringify({ Records: [{ customerId: 'slow', Attributes: { name: 'S' } }] }), 30, served);
      // The trickler's request is in (its headers read), and its body cannot be complete before the others are answered.
      await waitFor(() => server.output().includes('"method":"PUT","url":"/resources/v2/customerprofile"'), { timeoutMs: 10_000, description: "the trickler's request to arrive" });
      for (let i = 0; i < 5; i++) expect((await request(server.url, 'GET', '/resources/v2/customerprofile/x', { key: t.key })).status).toBe(404);
      isServed();
      expect(await slow).toBe('HTTP/1.1 202 Accepted');
    } finally {
      await server.stop();
      await store.dispose();
    }
  }, 30_000);

  it('answers 408 and closes the connection of a client that takes longer than PROFILES_REQUEST_TIMEOUT_MS to send its request', async () => {
    const store = await freshStoreEnv();
    const server = await spawnServer({ ...store.env, PROFILES_REQUEST_TIMEOUT_MS: '1500' });
    try {
      const { json: t } = await runCli(['tenant', 'create', 'trickler', '--json'], store.env);
      await keyTaken(server.url, t.key);
      // About 25 s of body at one byte per 100 ms: only the timeout can end it within the test's time.
      const body = JSON.stringify({ Records: [{ customerId: 'slow', Attributes: { name: 'S'.repeat(200) } }] });
      expect(await trickle(server.url, t.key, body, 100)).toBe('HTTP/1.1 408 Request Timeout');
      // Nothing of the cut request was queued, and the server still serves.
      expect((await request(server.url, 'GET', '/resources/v2/customerprofile/slow', { key: t.key })).status).toBe(404);
    } finally {
      await server.stop();
      await store.dispose();
    }
  }, 30_000);

  /** Sends `head` (and `body`) on a raw TLS socket; resolves with what came back when the server closed it. */
  async function raw(url: string, head: string, body = ''): Promise<{ statusLine: string; json: any }> {
    const { port } = new URL(url);
    let text = '';
    let isClosed = false;
    const socket = tls.connect({ host: '127.0.0.1', port: Number(port), rejectUnauthorized: false }, () => socket.write(head + body));
    socket.on('data', (d) => (text += d));
    socket.on('error', () => undefined);
    socket.on('close', () => (isClosed = true));
    await waitFor(() => isClosed, { timeoutMs: 20_000, intervalMs: 50, description: 'the server to close the connection' }).catch((err) => {
      socket.destroy();
      throw err;
    });
    const [headers, payload = ''] = text.split('\r\n\r\n');
    let json: unknown = null;
    try {
      json = JSON.parse(payload);
    } catch {
      json = payload;
    }
    return { statusLine: headers.split('\r\n')[0], json };
  }

  it('answers what Node cannot parse in the API format: 400 or 431 with 7905', async () => {
    const store = await freshStoreEnv();
    const server = await spawnServer(store.env);
    try {
      const bad = await raw(server.url, 'FOO /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
      expect(bad.statusLine).toBe('HTTP/1.1 400 Bad Request');
      expect(bad.json.response).toMatchObject({ code: '7905', description: 'Malformed request' });
      const large = await raw(server.url, `GET /healthz HTTP/1.1\r\nHost: localhost\r\nx-large: ${'a'.repeat(20_000)}\r\n\r\n`);
      expect(large.statusLine).toBe('HTTP/1.1 431 Request Header Fields Too Large');
      expect(large.json.response.code).toBe('7905');
    } finally {
      await server.stop();
      await store.dispose();
    }
  });

  it('closes quietly, with no timeout warning, a connection whose request it refused before the body arrived', async () => {
    const store = await freshStoreEnv();
    // At debug level the server says when the deadline closes an answered request's connection.
    const server = await spawnServer({ ...store.env, PROFILES_REQUEST_TIMEOUT_MS: '1500', PROFILES_LOG_LEVEL: 'debug' });
    try {
      // No key: refused 7002 at once; the rest of the announced body never comes.
      const head = 'PUT /resources/v2/customerprofile HTTP/1.1\r\nHost: localhost\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n';
      const refused = await raw(server.url, head, '{"Records":');
      expect(refused.statusLine).toBe('HTTP/1.1 401 Unauthorized');
      expect(refused.json.response.code).toBe('7002');
      // The request deadline, not anything before it, still frees the connection, and quietly.
      await waitFor(() => server.output().includes("the rest of an answered request's body did not arrive in time"), { timeoutMs: 5_000, description: 'the deadline to close the connection' });
      expect(server.output()).not.toMatch(/request body not received in time/);
    } finally {
      await server.stop();
      await store.dispose();
    }
  });
});
