import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openEmbeddedStore } from '../../src/open-store.js';
import type { SqliteStore } from '../../src/storage/sqlite/sqlite-storage.js';

/** The PostgreSQL server tests create their databases on (trust auth on this machine). */
export const TEST_DATABASE_URL = process.env.PROFILES_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

/** Backends the suites can run over. */
export const BACKENDS = ['sqlite', 'postgres'] as const;
export type Backend = (typeof BACKENDS)[number];

/** `STORAGE_BACKENDS` (comma list; default `sqlite`). An unknown name is an error, not a silent skip. */
export function selectedBackends(env = process.env.STORAGE_BACKENDS): Backend[] {
  const names = (env ?? 'sqlite').split(',').map((s) => s.trim()).filter(Boolean);
  for (const name of names) {
    if (!(BACKENDS as readonly string[]).includes(name)) throw new Error(`STORAGE_BACKENDS names ${name}; known backends: ${BACKENDS.join(', ')}`);
  }
  return names as Backend[];
}

/** The backend server-level tests (HTTP, e2e, queue) run on: the first selected. */
export const serverBackend = (): Backend => selectedBackends()[0];

/** A fresh, empty PostgreSQL database; `drop` removes it. */
export async function createDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `openprofiles_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** Environment for a process (server, worker, CLI) on a fresh store of the server backend. */
export async function freshStoreEnv(backend: Backend = serverBackend()): Promise<{ env: Record<string, string>; dataDir: string; dispose(): Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'openprofiles-test-'));
  const db = backend === 'postgres' ? await createDatabase() : null;
  return {
    env: { PROFILES_DATA_DIR: dataDir, PROFILES_DEMO: 'false', PROFILES_DATABASE_URL: db?.url ?? '' },
    dataDir,
    async dispose() {
      await db?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A migrated SQLite store in a fresh temporary directory; `dispose` closes it and removes the directory. */
export async function freshSqliteStore(): Promise<{ dir: string; store: SqliteStore; dispose(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'openprofiles-store-'));
  const store = openEmbeddedStore({ dataDir: dir });
  await store.migrate();
  return {
    dir,
    store,
    async dispose() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
