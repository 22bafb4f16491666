/**
 * What only the SQLite adapter promises beyond the contract: its pragmas (durability), its
 * migration lock, its driver-error translation, and what it keeps of an applied write transaction.
 * Real database files in temp dirs; a second raw connection plays "another process".
 */
import { once } from 'node:events';
import { chmodSync, copyFileSync, existsSync, mkdirSync, renameSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keysOf as keysOfBatch, reduceWriteTransactions } from '../../src/domain/apply.js';
import { DEFAULT_TENANT_SETTINGS } from '../../src/domain/tenant-settings.js';
import { SqliteCheckpointer } from '../../src/storage/sqlite/sqlite-checkpointer.js';
import { STORE_RULES } from '../../src/open-store.js';
import { openSqliteConnections, openSqliteStore, type SqliteConnections, type SqliteStore } from '../../src/storage/sqlite/sqlite-storage.js';
import type { ApplyReducer, KeysOf } from '../../src/model/profile.js';
import type { NewWriteTransaction } from '../../src/model/write-transaction.js';
import { StorageError, StorageUnavailableError } from '../../src/storage/ports.js';
import { waitFor } from '../support/wait.js';
import { newWriteTransaction } from '../support/write-transactions.js';

const DAY = 86_400_000;
const wt = (tenantId: number, extra: Partial<NewWriteTransaction> = {}) =>
  newWriteTransaction(tenantId, [{ customerId: 'a', attributes: { name: 'A' } }, { customerId: 'b', attributes: { name: 'B' } }], extra);
const keysOf: KeysOf = () => ({ masters: [], appCustomers: [], appUsers: [], customerApps: [], appids: [] });
const oneFailure: ApplyReducer = (batch) => ({
  changes: { masterUpserts: [], masterDeletes: [], appUpserts: [], appDeletes: [] },
  results: new Map(batch.map((w) => [w.transid, [{ customerId: 'a', code: '1000' as const }, { customerId: 'b', code: '7011' as const }]])),
});

describe('SQLite adapter', () => {
  let root: string;
  let dir: string;
  const opened: Array<SqliteStore | Database.Database> = [];
  /** The adapter's own connections of each store `open` made, whose pragmas the tests read. */
  const connections = new WeakMap<SqliteStore, SqliteConnections>();
  const open = (options: { busyTimeoutMs?: number; checkpoint?: { everyMs: number; onError: (err: Error) => void } } = {}) => {
    const own = openSqliteConnections({ dataDir: dir, ...options });
    const s = openSqliteStore({ dataDir: dir, ...options }, STORE_RULES, own);
    connections.set(s, own);
    opened.push(s);
    return s;
  };
  /** Another connection to the same file, as another process would hold. */
  const rawConnection = () => {
    const db = new Database(join(dir, 'openprofiles.db'));
    opened.push(db);
    return db;
  };
  /** Another connection to the store's journal (`openprofiles.db.journal`). */
  const rawJournal = () => {
    const db = new Database(join(dir, 'openprofiles.db.journal'));
    opened.push(db);
    return db;
  };
  /** Applies everything queued, as the worker does; returns the transids applied. */
  const applyAll = async (s: SqliteStore, reduce: ApplyReducer = reduceWriteTransactions, keys: KeysOf = keysOfBatch) =>
    (await s.appliers.applier.applyNext(1000, keys, reduce)).map((wt) => wt.transid);

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'openprofiles-sqlite-'));
    dir = root;
  });
  afterEach(async () => {
    for (const o of opened.splice(0).reverse()) {
      if (o instanceof Database) {
        if (o.open) o.close();
      } else await o.close();
    }
    rmSync(root, { recursive: true, force: true });
  });

  it('opens openprofiles.db in the data directory, creating the directory, in WAL mode with full sync', async () => {
    dir = join(dir, 'nested', 'data');
    const s = open();
    await s.migrate();
    expect(s.capabilities).toEqual({ canNotifyWorkers: false, isEmbedded: true });
    expect(s.appliers.hasConcurrentClaims).toBe(false);
    expect(rawConnection().pragma('journal_mode', { simple: true })).toBe('wal');
    // synchronous, foreign_keys and busy_timeout belong to the connection, so ask the adapter's own.
    const db = connections.get(s)!.db;
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(10_000);
    // The journal, a file of its own: also WAL, and fsync'd at every commit (a write is answered after it).
    const journal = connections.get(s)!.journal;
    expect(journal.name).toBe(join(dir, 'openprofiles.db.journal'));
    expect(rawJournal().pragma('journal_mode', { simple: true })).toBe('wal');
    expect(journal.pragma('synchronous', { simple: true })).toBe(2);
    expect(journal.pragma('busy_timeout', { simple: true })).toBe(5000);
  });

  it('keeps the data directory 0700 and the database files 0600, and tightens an older, looser store', async () => {
    const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);
    dir = join(dir, 'data');
    const s = open();
    await s.migrate();
    const file = join(dir, 'openprofiles.db');
    const files = [file, `${file}-wal`, `${file}-shm`, `${file}.journal`, `${file}.journal-wal`, `${file}.journal-shm`];
    expect([mode(dir), ...files.map(mode)]).toEqual(['700', '600', '600', '600', '600', '600', '600']);
    await s.close();
    opened.splice(0);
    chmodSync(dir, 0o755);
    for (const f of files) if (existsSync(f)) chmodSync(f, 0o644);
    await open().migrate();
    expect(mode(dir)).toBe('700');
    for (const f of files) if (existsSync(f)) expect(mode(f), f).toBe('600');
  });

  it('applies each migration once when two stores share the file, and records it in schema_migrations', async () => {
    const first = open();
    const second = open();
    expect(await first.migrate()).toEqual({ applied: [1, 2, 3, 4, 5], version: 5 });
    expect(await second.migrate()).toEqual({ applied: [], version: 5 });
    expect(rawConnection().prepare('SELECT version FROM schema_migrations').all()).toEqual([{ version: 1 }, { version: 2 }, { version: 3 }, { version: 4 }, { version: 5 }]);
  });

  it('waits for the write lock before migrating, and answers StorageUnavailableError when it stays taken', async () => {
    const s = open({ busyTimeoutMs: 50 });
    const other = rawConnection();
    other.exec('BEGIN IMMEDIATE');
    await expect(s.migrate()).rejects.toBeInstanceOf(StorageUnavailableError);
    other.exec('ROLLBACK');
    expect(await s.migrate()).toEqual({ applied: [1, 2, 3, 4, 5], version: 5 });
  });

  it('answers StorageUnavailableError and stores nothing when another process holds the write lock past the busy timeout', async () => {
    const s = open({ busyTimeoutMs: 50 });
    await s.migrate();
    const tenant = await s.directory.createTenant('busy', { ...DEFAULT_TENANT_SETTINGS }, []);
    const other = rawConnection();
    const otherJournal = rawJournal();
    other.exec('BEGIN IMMEDIATE');
    const item = wt(tenant.id);
    // The journal is a file of its own: the store's lock holds back no enqueue.
    const unheld = wt(tenant.id);
    expect(await s.journal.enqueue([unheld], DAY)).toEqual([{ outcome: 'accepted', transid: unheld.transid }]);
    await expect(s.directory.createApp(tenant.id, 'app', 'fb', [])).rejects.toBeInstanceOf(StorageUnavailableError);
    otherJournal.exec('BEGIN IMMEDIATE');
    await expect(s.journal.enqueue([item], DAY)).rejects.toBeInstanceOf(StorageUnavailableError);
    otherJournal.exec('ROLLBACK');
    other.exec('ROLLBACK');
    expect(await s.journal.getWriteTransactionStatus(tenant.id, item.transid)).toBeNull();
    expect(await s.journal.enqueue([item], DAY)).toEqual([{ outcome: 'accepted', transid: item.transid }]);
  });

  it('answers StorageUnavailableError when another process keeps a fresh file locked past the busy timeout', () => {
    const other = rawConnection();
    other.exec('BEGIN IMMEDIATE');
    // That it keeps trying until then, the next test shows: there the other lets go in time.
    let thrown: unknown;
    try {
      open({ busyTimeoutMs: 100 });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(StorageUnavailableError);
    expect((thrown as Error).message).toMatch(/SQLITE_BUSY/);
  });

  it('opens a fresh file once another process starting at the same moment lets go of it', async () => {
    // A worker thread is the other process: this thread blocks while it waits, as the adapter does.
    const file = join(dir, 'openprofiles.db');
    const holder = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const Database = require(workerData.driver);
       const db = new Database(workerData.file);
       db.exec('BEGIN IMMEDIATE');
       parentPort.postMessage('locked');
       // On purpose a time, not a condition: the other process lets go a moment after the adapter starts waiting for it.
       setTimeout(() => { db.exec('ROLLBACK'); db.close(); }, 200);`,
      { eval: true, workerData: { file, driver: createRequire(import.meta.url).resolve('better-sqlite3') } },
    );
    try {
      await once(holder, 'message');
      const s = open({ busyTimeoutMs: 5_000 });
      expect((await s.migrate()).applied).toEqual([1, 2, 3, 4, 5]);
      expect(rawConnection().pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      await holder.terminate();
    }
  });

  it('answers StorageUnavailableError when the database file cannot be opened', () => {
    mkdirSync(join(dir, 'openprofiles.db'));
    expect(() => open()).toThrow(StorageUnavailableError);
  });

  it('answers StorageUnavailableError when the data directory cannot be created', () => {
    writeFileSync(join(dir, 'file'), '');
    dir = join(dir, 'file', 'data');
    expect(() => open()).toThrow(StorageUnavailableError);
  });

  it('answers a StorageError, not a driver error, for a file that is not a database', () => {
    writeFileSync(join(dir, 'openprofiles.db'), 'not a database, just some text that is long enough to have a header'.repeat(20));
    let thrown: unknown;
    try {
      open();
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(StorageError);
    expect(thrown).not.toBeInstanceOf(Database.SqliteError);
    expect((thrown as Error).message).toMatch(/SQLITE_NOTADB/);
  });

  it('keeps an applied write transaction in the store with its counts and results, and deletes its journal row once the apply is durable', async () => {
    const s = open();
    await s.migrate();
    const tenant = await s.directory.createTenant('counts', { ...DEFAULT_TENANT_SETTINGS }, []);
    const item = wt(tenant.id);
    await s.journal.enqueue([item], DAY);
    expect(rawJournal().prepare('SELECT transid, total_count FROM journal').all()).toEqual([{ transid: item.transid, total_count: 2 }]);
    expect(await s.journal.getWriteTransactionStatus(tenant.id, item.transid)).toMatchObject({ state: 'queued', totalCount: 2, results: null });
    // After a connection's first apply the store's files are fsync'd, so the journal row goes at once.
    expect(await applyAll(s, oneFailure, keysOf)).toEqual([item.transid]);
    const raw = rawConnection();
    const row = raw.prepare('SELECT seq, total_count, success_count, failure_count, state FROM write_transactions WHERE transid = ?').get(item.transid) as { seq: number };
    expect(row).toEqual({ seq: row.seq, total_count: 2, success_count: 1, failure_count: 1, state: 'done' });
    expect(raw.prepare('SELECT applied_seq FROM journal_state').get()).toEqual({ applied_seq: row.seq });
    expect(rawJournal().prepare('SELECT COUNT(*) AS n FROM journal').get()).toEqual({ n: 0 });
    expect(await s.journal.getWriteTransactionStatus(tenant.id, item.transid)).toMatchObject({ state: 'done', results: [{ code: '1000' }, { code: '7011' }] });
  });

  it('checkpoints the WAL from a thread of its own when asked to, below the commit\'s own mark', async () => {
    const file = join(dir, 'openprofiles.db');
    const errors: Error[] = [];
    const s = open({ checkpoint: { everyMs: 20, onError: (err) => errors.push(err) } });
    await s.migrate();
    const tenant = await s.directory.createTenant('checkpoints', { ...DEFAULT_TENANT_SETTINGS }, []);
    const big = newWriteTransaction(tenant.id, Array.from({ length: 2000 }, (_, i) => ({ customerId: `c${i}`, attributes: { name: 'x'.repeat(200) } })));
    const before = statSync(file).size;
    await s.journal.enqueue([big], DAY);
    await applyAll(s);
    // About 500 KB of WAL: far below the commit's own checkpoint (10,000 pages), so only the
    // thread can have copied it into the database file.
    await waitFor(() => statSync(file).size >= before + 400_000, { timeoutMs: 10_000, description: 'the checkpoint thread to copy the WAL into the database file' });
    expect(errors).toEqual([]);
  });

  it('reports a checkpoint thread that could not start, once, and stops at once', async () => {
    const errors: Error[] = [];
    const checkpointer = new SqliteCheckpointer(join(dir, 'missing.db'), 20, (err) => errors.push(err));
    await waitFor(() => errors.length > 0, { timeoutMs: 5_000, description: 'the checkpoint thread to report its failure' });
    expect(errors[0].message).toBe('checkpointing the WAL failed: unable to open database file');
    await checkpointer.stop();
    expect(errors).toHaveLength(1);
  });

  it('applies without waiting for the disk, lets the journal go once a second and when drained, and is back at full sync after an apply, also one that failed', async () => {
    const s = open();
    await s.migrate();
    const db = connections.get(s)!.db;
    const tenant = await s.directory.createTenant('sync', { ...DEFAULT_TENANT_SETTINGS }, []);
    const [first, second, third] = [wt(tenant.id), wt(tenant.id), wt(tenant.id)];
    await s.journal.enqueue([first, second, third], DAY);
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    const applyOne = (reduce: ApplyReducer) => s.appliers.applier.applyNext(1, keysOf, reduce);
    const seen: unknown[] = [];
    const observing: ApplyReducer = (batch, snapshot, now) => {
      seen.push(db.pragma('synchronous', { simple: true }));
      return oneFailure(batch, snapshot, now);
    };
    await applyOne(observing);
    await applyOne(observing);
    const failing: ApplyReducer = () => {
      throw new Error('reducer failed');
    };
    await expect(applyOne(failing)).rejects.toThrow('reducer failed');
    // Neither commit waited for the disk; after the first (a second since none did), the store's
    // files were fsync'd and the journal let go up to it; after the second, not yet.
    expect(seen).toEqual([1, 1]);
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    expect(rawJournal().prepare('SELECT transid FROM journal ORDER BY seq').all()).toEqual([{ transid: second.transid }, { transid: third.transid }]);
    // With the queue applied, the store's files are fsync'd and the journal emptied.
    expect((await applyOne(oneFailure)).map((c) => c.transid)).toEqual([third.transid]);
    expect(await applyOne(oneFailure)).toEqual([]);
    expect(rawJournal().prepare('SELECT COUNT(*) AS n FROM journal').get()).toEqual({ n: 0 });
  });

  it('applies a batch in one database transaction, each write transaction reading what those before it wrote', async () => {
    const s = open();
    await s.migrate();
    const tenant = await s.directory.createTenant('order', { ...DEFAULT_TENANT_SETTINGS }, []);
    const creates = (name: string) => newWriteTransaction(tenant.id, Array.from({ length: 150 }, (_, i) => ({ customerId: `c${i}`, attributes: { name } })));
    const [first, again] = [creates('first'), creates('again')];
    await s.journal.enqueue([first, again], DAY);
    expect(await applyAll(s)).toEqual([first.transid, again.transid]);
    expect((await s.journal.getWriteTransactionStatus(tenant.id, first.transid))!.results!.every((r) => r.code === '1000')).toBe(true);
    expect((await s.journal.getWriteTransactionStatus(tenant.id, again.transid))!.results!.every((r) => r.code === '7015')).toBe(true);
    expect((await s.profiles.getMasterProfiles(tenant.id, ['c149']))[0].attributes.name).toBe('first');
  });

  it('keeps the records of queued write transactions when it upgrades a version 1 store (records move to their own table)', async () => {
    const { default: initial } = await import('../../src/storage/sqlite/migrations/0001-initial.js');
    const old = rawConnection();
    old.exec(initial);
    old.exec("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL); INSERT INTO schema_migrations VALUES (1, 'then')");
    old.exec("INSERT INTO tenants (id, name, settings, allow_list, created_at) VALUES (1, 'old', '{}', '[]', 0)");
    const insert = old.prepare(
      `INSERT INTO write_transactions (transid, tenant_id, operation, appid, records, is_upsert, is_cascade, total_count, accepted_at, state, finished_at, results)
       VALUES (?, 1, 'createProfile', NULL, ?, 0, 0, 1, 0, ?, ?, ?)`,
    );
    insert.run('t-done', '[]', 'done', 1, '[{"customerId":"a","code":"1000"}]');
    insert.run('t-queued', '[{"customerId":"b","attributes":{"name":"B"}}]', 'queued', null, null);
    old.close();

    const s = open();
    expect(await s.migrate()).toEqual({ applied: [2, 3, 4, 5], version: 5 });
    // The queued one moved to the journal, keeping its place; the next accepted follows it.
    expect(await s.journal.getWriteTransactionStatus(1, 't-queued')).toMatchObject({ state: 'queued', totalCount: 1 });
    const next = wt(1);
    await s.journal.enqueue([next], DAY);
    expect(rawConnection().prepare("SELECT COUNT(*) AS n FROM write_transactions WHERE state <> 'done'").get()).toEqual({ n: 0 });
    expect(await s.journal.getWriteTransactionStatus(1, 't-done')).toMatchObject({ state: 'done', results: [{ customerId: 'a', code: '1000' }] });
    const applied = await s.appliers.applier.applyNext(10, keysOfBatch, reduceWriteTransactions);
    expect(applied.map((c) => c.transid)).toEqual(['t-queued', next.transid]);
    expect(applied[0].records).toEqual([{ customerId: 'b', attributes: { name: 'B' } }]);
    expect(applied[1].seq).toBeGreaterThan(applied[0].seq);
    expect((await s.profiles.getMasterProfiles(1, ['b']))[0].attributes).toEqual({ name: 'B' });
  });

  it('refuses to open a store beside a journal that is not its own, or without its journal', async () => {
    const s = open();
    await s.migrate();
    const tenant = await s.directory.createTenant('own', { ...DEFAULT_TENANT_SETTINGS }, []);
    await s.journal.enqueue([wt(tenant.id)], DAY);
    await s.close();
    opened.splice(0);
    const journal = join(dir, 'openprofiles.db.journal');
    renameSync(journal, `${journal}.bak`);
    await expect(open().migrate()).rejects.toThrow(/is not this store's journal .*put it back, or restore the store from a backup/);
    // A fresh store beside a journal that holds writes (another store's) refuses it too.
    const fresh = join(root, 'fresh');
    mkdirSync(fresh);
    copyFileSync(join(dir, 'openprofiles.db.journal.bak'), join(fresh, 'openprofiles.db.journal'));
    dir = fresh;
    await expect(open().migrate()).rejects.toThrow(/holds the writes of another store/);
  });

  it('releases an expired idempotency key from the old row so the new one can hold it', async () => {
    const s = open();
    await s.migrate();
    const tenant = await s.directory.createTenant('keys', { ...DEFAULT_TENANT_SETTINGS }, []);
    const old = wt(tenant.id, { idempotencyKey: 'k', requestHash: 'h', acceptedAt: 1_000 });
    const renewed = wt(tenant.id, { idempotencyKey: 'k', requestHash: 'h', acceptedAt: 1_000 + DAY + 1 });
    const again = wt(tenant.id, { idempotencyKey: 'k', requestHash: 'h', acceptedAt: 1_000 + 2 * DAY + 2 });
    await s.journal.enqueue([old], DAY);
    await s.journal.enqueue([renewed], DAY);
    const keys = () => rawJournal().prepare('SELECT transid, idempotency_key FROM journal ORDER BY seq').all();
    expect(keys()).toEqual([
      { transid: old.transid, idempotency_key: null },
      { transid: renewed.transid, idempotency_key: 'k' },
    ]);
    // Applied, the key moves to the store's row, and a later reuse past the window takes it over there.
    await applyAll(s);
    await s.journal.enqueue([again], DAY);
    await applyAll(s);
    const rows = rawConnection().prepare('SELECT transid, idempotency_key FROM write_transactions ORDER BY seq').all();
    expect(rows).toEqual([
      { transid: old.transid, idempotency_key: null },
      { transid: renewed.transid, idempotency_key: null },
      { transid: again.transid, idempotency_key: 'k' },
    ]);
  });
});
