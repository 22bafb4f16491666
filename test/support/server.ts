import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { InjectOptions } from 'fastify';
import pg from 'pg';
import { type Config, loadConfig } from '../../src/config/config.js';
import { TenantAdmin } from '../../src/domain/tenant-admin.js';
import { createLogger, type Server, startServer } from '../../src/main.js';
import { recordAnswer, recordUndocumented } from './documented-answers.js';
import { DocumentedApi, type OpenApiDocument } from './json-schema.js';
import { type Backend, freshStoreEnv, serverBackend } from './test-db.js';

export interface TestTenant {
  id: number;
  key: string;
  apps: Record<string, string>;
}

export interface Answer {
  status: number;
  body: any;
  headers: Record<string, any>;
}

export interface TestServer {
  server: Server;
  backend: Backend;
  dataDir: string;
  /** The PostgreSQL URL of the store; empty on SQLite. */
  databaseUrl: string;
  admin: TenantAdmin;
  /** A Profile API call through the real app (in-process `inject`, path relative to /resources/v2). */
  api(method: string, path: string, options?: { key?: string; body?: unknown; headers?: Record<string, string>; remoteAddress?: string }): Promise<Answer>;
  /** A tenant with one app per channel given. */
  tenant(channels?: string[], name?: string): Promise<TestTenant>;
  /** Makes directory changes visible to the server now (rather than within the poll interval). */
  refresh(): Promise<void>;
  /** Sends a write and waits for its final status (Prefer: wait). */
  apply(method: string, path: string, key: string, body?: unknown): Promise<Answer>;
  close(): Promise<void>;
}

/**
 * Runs one SQL statement directly on a test server's store, behind the server's back: for tests
 * that inspect what is stored (key hashes) or damage it. `$1`-style parameters on both backends.
 */
export async function queryStore(t: TestServer, sql: string, params: unknown[] = []): Promise<Array<Record<string, unknown>>> {
  if (t.backend === 'postgres') {
    const client = new pg.Client({ connectionString: t.databaseUrl });
    await client.connect();
    try {
      return (await client.query(sql, params)).rows;
    } finally {
      await client.end();
    }
  }
  const db = new Database(join(t.dataDir, 'openprofiles.db'));
  try {
    const statement = db.prepare(sql.replace(/\$\d+/g, '?'));
    return statement.reader ? (statement.all(...params) as Array<Record<string, unknown>>) : (statement.run(...params), []);
  } finally {
    db.close();
  }
}

let counter = 0;

/**
 * Checks every answer `server.app.inject` gives (the tests' way to call an in-process server,
 * `api` included) against the server's own OpenAPI document: test/support/documented-answers.ts.
 */
function checkInjectedAnswers(server: Server): void {
  const app = server.app;
  const inject = app.inject.bind(app);
  let api: DocumentedApi | null = null;
  const checked = async (options: InjectOptions | string) => {
    const { method = 'GET', url } = typeof options === 'string' ? { url: options } : (options ?? {});
    if (typeof url !== 'string') throw new Error('test servers take inject() with a string url, so that its answer can be checked');
    const res = await inject(options as InjectOptions);
    api ??= new DocumentedApi(app.swagger() as unknown as OpenApiDocument);
    const contentType = res.headers['content-type'];
    recordAnswer(server.url, api, method, url, res.statusCode, typeof contentType === 'string' ? contentType : undefined, res.body);
    return res;
  };
  app.inject = checked as typeof app.inject;
}

/** A real server (HTTPS on a random loopback port) on a fresh store of the server backend (STORAGE_BACKENDS). */
export async function startTestServer(overrides: Partial<Config> = {}): Promise<TestServer> {
  const backend = serverBackend();
  const store = await freshStoreEnv(backend);
  const { dataDir } = store;
  const databaseUrl = store.env.PROFILES_DATABASE_URL;
  const config = loadConfig({}, { dataDir, databaseUrl, host: '127.0.0.1', port: 0, logLevel: 'silent', isDemoEnabled: false, directoryPollMs: 50, ...overrides });
  const server = await startServer(config, createLogger(config.logLevel));
  checkInjectedAnswers(server);
  const admin = new TenantAdmin(server.storage);
  const self: TestServer = {
    server,
    backend,
    dataDir,
    databaseUrl,
    admin,
    async api(method, path, { key, body, headers = {}, remoteAddress } = {}) {
      const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      const res = await server.app.inject({
        method: method as 'GET',
        url: `/resources/v2${path}`,
        headers: { ...(key !== undefined && { key }), ...(payload !== undefined && { 'content-type': 'application/json' }), ...headers },
        payload,
        ...(remoteAddress && { remoteAddress }),
      });
      let parsed: unknown = null;
      try {
        parsed = res.body ? JSON.parse(res.body) : null;
      } catch {
        parsed = res.body;
      }
      return { status: res.statusCode, body: parsed, headers: res.headers };
    },
    async tenant(channels = ['fb', 'twitter', 'wechat', 'rt'], name = `t${++counter}-${process.pid}`) {
      const { tenant, key } = await admin.createTenant(name);
      const apps: Record<string, string> = {};
      for (const channel of channels) apps[channel] = (await admin.createApp(tenant.id, channel)).appid;
      await self.refresh();
      return { id: tenant.id, key, apps };
    },
    refresh: () => server.directory.reload(),
    apply: (method, path, key, body) => self.api(method, path, { key, body, headers: { prefer: 'wait=10' } }),
    async close() {
      const metrics = await server.app.inject({ method: 'GET', url: '/metrics' });
      recordUndocumented(server.url, server.app.swagger() as never, metrics.body);
      await server.close();
      await store.dispose();
    },
  };
  return self;
}
