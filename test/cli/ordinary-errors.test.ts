import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explain } from '../../src/cli/errors.js';
import { translatePostgresError } from '../../src/storage/postgres/postgres-errors.js';
import { StoreAccessError } from '../../src/storage/ports.js';
import { runCli, spawnServer } from '../support/process.js';
import { createDatabase, freshStoreEnv, selectedBackends } from '../support/test-db.js';

/** One line saying what failed, one saying what to do; no stack trace. */
const ONE_LINE_AND_HINT = /^openprofiles: [^\n]+\n {2}hint: [^\n]+\n$/;

describe('ordinary errors: one line and a hint', () => {
  let store: Awaited<ReturnType<typeof freshStoreEnv>>;
  let taken: Server;
  let takenPort: number;
  beforeAll(async () => {
    store = await freshStoreEnv();
    taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    takenPort = (taken.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => taken.close(resolve));
    await store.dispose();
  });

  const serveOnTakenPort = (env: Record<string, string>, ...extra: string[]) => runCli(['serve', '--host', '127.0.0.1', '--port', String(takenPort), ...extra], env);

  it('serve on a port in use says so and how to choose another; --verbose adds the stack trace', async () => {
    const failed = await serveOnTakenPort(store.env);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(ONE_LINE_AND_HINT);
    expect(failed.stderr).toContain(`openprofiles: port ${takenPort} on 127.0.0.1 is already in use`);
    expect(failed.stderr).toMatch(/hint: .*--port or PROFILES_PORT/);
    const verbose = await serveOnTakenPort(store.env, '--verbose');
    expect(verbose.stderr).toMatch(/EADDRINUSE[\s\S]*\n {4}at /);
    const debug = await serveOnTakenPort({ ...store.env, PROFILES_LOG_LEVEL: 'debug' });
    expect(debug.stderr).toMatch(/EADDRINUSE[\s\S]*\n {4}at /);
  });

  it('with --json the error is one object holding the message and the hint', async () => {
    const failed = await serveOnTakenPort(store.env, '--json');
    expect(failed.json).toEqual({ error: { name: 'Error', message: `port ${takenPort} on 127.0.0.1 is already in use`, hint: expect.stringContaining('--port') } });
  });

  it('a SQLite store whose write lock another process holds: one line and a hint', async () => {
    const local = await freshStoreEnv('sqlite');
    try {
      expect((await runCli(['migrate'], local.env)).code).toBe(0);
      const holder = new Database(join(local.dataDir, 'openprofiles.db'));
      holder.exec('BEGIN IMMEDIATE');
      try {
        const failed = await runCli(['tenant', 'create', 'locked'], local.env);
        expect(failed.code).toBe(1);
        expect(failed.stderr).toMatch(ONE_LINE_AND_HINT);
        expect(failed.stderr).toMatch(/database is locked\n.*hint: another process holds the store's write lock/);
      } finally {
        holder.exec('ROLLBACK');
        holder.close();
      }
    } finally {
      await local.dispose();
    }
  });

  it('a PostgreSQL role or database that does not exist is a StoreAccessError, explained with what to check', () => {
    for (const code of ['28000', '28P01', '3D000']) {
      const translated = translatePostgresError(Object.assign(new Error('role "nobody" does not exist'), { code }));
      expect(translated).toBeInstanceOf(StoreAccessError);
      expect(explain(translated)).toEqual({ message: 'role "nobody" does not exist', hint: expect.stringMatching(/role, password and database name in PROFILES_DATABASE_URL/) });
    }
  });

  // PostgreSQL only when selected (STORAGE_BACKENDS): the test above covers the translation without it.
  for (const backend of selectedBackends().filter((b) => b === 'postgres')) {
    it(`${backend}: a command as a role that does not exist says so, with what to check`, async () => {
      const db = await createDatabase();
      try {
        const url = new URL(db.url);
        url.username = 'no_such_role';
        const failed = await runCli(['tenant', 'list'], { ...store.env, PROFILES_DATABASE_URL: url.toString() });
        expect(failed.code).toBe(1);
        expect(failed.stderr).toMatch(ONE_LINE_AND_HINT);
        expect(failed.stderr).toContain('openprofiles: role "no_such_role" does not exist');
      } finally {
        await db.drop();
      }
    });
  }
});

describe('the demo key banner after a failed first start', () => {
  let store: Awaited<ReturnType<typeof freshStoreEnv>>;
  beforeAll(async () => {
    store = await freshStoreEnv();
  });
  afterAll(() => store.dispose());

  it('a first start that finds its port taken creates nothing; the next start that serves shows the key, and the one after does not', async () => {
    const env = { ...store.env, PROFILES_DEMO: 'true' };
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const failed = await runCli(['serve', '--host', '127.0.0.1', '--port', String((taken.address() as { port: number }).port)], env);
      expect(failed.code).toBe(1);
      expect(failed.stdout).not.toContain('profile key');
      expect(existsSync(join(store.dataDir, 'demo.env'))).toBe(false);
      expect((await runCli(['tenant', 'list', '--json'], env)).json).toEqual({ tenants: [] });
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
    const first = await spawnServer(env);
    await first.stop();
    const key = /export PROFILES_KEY=(\S+)/.exec(readFileSync(join(store.dataDir, 'demo.env'), 'utf8'))?.[1];
    expect(key).toMatch(/^opk_/);
    expect(first.output()).toContain(`profile key: ${key}`);
    const second = await spawnServer(env);
    await second.stop();
    expect(second.output()).not.toContain('profile key');
  });
});
