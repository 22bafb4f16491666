import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, runCli, spawnServer, type ServerProcess } from '../support/process.js';
import { freshStoreEnv, selectedBackends } from '../support/test-db.js';
import { waitFor } from '../support/wait.js';

/**
 * The store becomes unreachable while the server runs (PostgreSQL behind a TCP proxy the test
 * cuts): writes get 7902 with HTTP 503 and Retry-After, nothing is acknowledged that is not stored,
 * and service resumes by itself when the store is back. Other tests share the real PostgreSQL, so
 * the proxy, not the server, is what goes away.
 */
class CuttableProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  open(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = createConnection(this.target);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    return new Promise((resolve) => this.server!.listen(this.port, '127.0.0.1', () => resolve()));
  }

  /** Stops accepting and drops every connection, as a network cut or a dead database would. */
  async cut(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

describe.runIf(selectedBackends().includes('postgres'))('store outage (PostgreSQL)', () => {
  let store: Awaited<ReturnType<typeof freshStoreEnv>>;
  let proxy: CuttableProxy;
  let server: ServerProcess;
  let key: string;

  beforeAll(async () => {
    store = await freshStoreEnv('postgres');
    const db = new URL(store.env.PROFILES_DATABASE_URL);
    const probe = createServer();
    const port = await new Promise<number>((resolve) => probe.listen(0, '127.0.0.1', () => resolve((probe.address() as { port: number }).port)));
    await new Promise((resolve) => probe.close(resolve));
    proxy = new CuttableProxy(port, { host: db.hostname, port: Number(db.port || 5432) });
    await proxy.open();
    db.host = `127.0.0.1:${port}`;
    const env = { ...store.env, PROFILES_DATABASE_URL: db.toString() };
    key = (await runCli(['tenant', 'create', 'outage', '--json'], env)).json.key;
    server = await spawnServer(env);
  });
  afterAll(async () => {
    await server?.stop();
    await proxy?.cut();
    await store?.dispose();
  });

  const write = (id: string) =>
    request(server.url, 'POST', '/resources/v2/customerprofile', { key, body: { Records: [{ customerId: id, Attributes: { name: id } }] } });

  it('answers 7902 (HTTP 503, Retry-After) while the store is unreachable, then recovers by itself', async () => {
    const before = await write('before');
    expect(before.status).toBe(202);
    await waitFor(async () => (await request(server.url, 'GET', `/resources/v2/profile/status/${before.body.response.transid}`, { key })).body.code === '1000', {
      timeoutMs: 10_000,
      intervalMs: 50,
      description: 'the first write applied',
    });
    await proxy.cut();
    const during = await write('during').catch((err) => {
      throw new Error(`${err.message}; server output:\n${server.output().slice(-3000)}`);
    });
    expect(during.status, during.text).toBe(503);
    expect(during.body.response.code).toBe('7902');
    expect(Number(during.headers['retry-after'])).toBeGreaterThan(0);
    expect((await request(server.url, 'GET', '/readyz')).status).toBe(503);

    await proxy.open();
    const after = await waitFor(
      async () => {
        const answer = await write('after');
        return answer.status === 202 && answer;
      },
      { timeoutMs: 10_000, intervalMs: 200, description: 'a write taken again once the store is back' },
    );
    const st = await request(server.url, 'GET', `/resources/v2/profile/status/${after.body.response.transid}`, { key, headers: { prefer: 'wait=10' } });
    expect(st.status).toBe(200);
    // The refused write was not stored; the others were.
    const read = await waitFor(
      async () => {
        const answer = await request(server.url, 'GET', '/resources/v2/customerprofile?customerId=before&customerId=during&customerId=after', { key });
        return answer.body.Records?.length === 2 && answer;
      },
      { timeoutMs: 10_000, intervalMs: 200, description: 'before and after readable' },
    );
    expect(read.body.NotFound).toEqual(['during']);
  }, 60_000);
});
