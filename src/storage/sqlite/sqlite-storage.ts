import { existsSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { ensurePrivateDir, ensurePrivateFile, publishDurably, temporaryNameOf } from '../private-files.js';
import { StorageError } from '../storage.js';
import type {
  ApplyReducer,
  KeysOf,
  NewAttributeDefinition,
  NewWriteTransaction,
  Storage,
  StorageCapabilities,
  TenantSettings,
} from '../storage.js';
import { migrate } from './migrations.js';
import { SqliteCheckpointer } from './sqlite-checkpointer.js';
import { SqliteDirectory } from './sqlite-directory.js';
import { SqliteErasure } from './sqlite-erasure.js';
import { translated, translateSqliteError } from './sqlite-errors.js';
import { SqliteProfiles } from './sqlite-profiles.js';
import { journalFileOf, prepareJournal } from './sqlite-journal.js';
import { carryQueued, SqliteQueue, WorkerLock } from './sqlite-queue.js';

export interface SqliteOptions {
  dataDir: string;
  /** How long a call waits for another process's write lock before StorageUnavailableError, in ms. Default 5000. */
  busyTimeoutMs?: number;
  /** This connection's page cache, MiB. Default 64. */
  cacheSizeMiB?: number;
  /**
   * When set, a thread of its own checkpoints the WAL every `everyMs` (see SqliteCheckpointer),
   * and `onError` hears its failures: for the connection that does a store's writing. Default:
   * commits checkpoint, as SQLite does.
   */
  checkpoint?: { everyMs: number; onError: (err: Error) => void };
}

/** The store's database file in the data directory (its journal is `<this>.journal`). */
const STORE_FILE = 'openprofiles.db';

/** WAL pages (4 KiB each) past which a commit checkpoints; SQLite's default is 1,000. */
const WAL_CHECKPOINT_PAGES = 10_000;

/**
 * Puts the file in WAL mode. On a fresh file this needs an exclusive lock, and SQLite answers
 * SQLITE_BUSY at once (without its busy handler) while another process holds a lock, e.g. one
 * starting at the same moment; so retry until the busy timeout, as every other statement waits.
 */
function switchToWal(db: Database.Database, busyTimeoutMs: number): void {
  const deadline = Date.now() + busyTimeoutMs;
  for (;;) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'SQLITE_BUSY' || Date.now() >= deadline) throw err;
      // The constructor is synchronous, like every call of this adapter.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
  }
}

/**
 * Opens a database file of the store (mode 0600, in a 0700 directory) in WAL mode, with
 * `synchronous=FULL`: a commit is fsync'd before it returns.
 */
function openDatabase(file: string, busyTimeoutMs: number, configure: (db: Database.Database) => void): Database.Database {
  return translated(() => {
    ensurePrivateDir(dirname(file));
    ensurePrivateFile(file, [`${file}-wal`, `${file}-shm`]);
    const db = new Database(file, { timeout: busyTimeoutMs });
    try {
      switchToWal(db, busyTimeoutMs);
      db.pragma('synchronous = FULL');
      db.pragma('temp_store = MEMORY');
      configure(db);
      return db;
    } catch (err) {
      db.close();
      throw err;
    }
  });
}

/**
 * The embedded store: two better-sqlite3 connections (synchronous, so calls run one at a time),
 * one to the store and one to its journal (`sqlite-journal.ts`), both in WAL mode with
 * `synchronous=FULL`, so that an enqueue's commit is fsync'd before a write is answered (applies
 * commit without it, most of the time: `SqliteQueue.applyNext`).
 */
export class SqliteStorage implements Storage {
  readonly capabilities: StorageCapabilities = { hasConcurrentClaims: false, canNotifyWorkers: false, isEmbedded: true };
  private readonly db: Database.Database;
  /** The journal of accepted write transactions, a file of its own (`sqlite-journal.ts`). */
  private readonly journal!: Database.Database;
  private readonly journalFile: string;
  private readonly journalId!: string;
  private readonly workerLock: WorkerLock;
  private parts: { directory: SqliteDirectory; erasure: SqliteErasure; profiles: SqliteProfiles; queue: SqliteQueue } | null = null;
  private readonly checkpointer: SqliteCheckpointer | null;

  constructor(options: SqliteOptions) {
    const file = join(options.dataDir, STORE_FILE);
    const busyTimeoutMs = Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000));
    this.journalFile = journalFileOf(file);
    this.db = openDatabase(file, busyTimeoutMs, (db) => {
      // Checkpoint every ~40 MB of WAL instead of SQLite's 4 MB: a checkpoint runs inside the
      // commit that crosses the mark, and the apply rewrites the same hot pages batch after
      // batch, which a rarer checkpoint copies once (docs/performance.md: a third less commit time).
      db.pragma(`wal_autocheckpoint = ${WAL_CHECKPOINT_PAGES}`);
      db.pragma('foreign_keys = ON');
      db.pragma(`cache_size = -${Math.max(1, Math.trunc(options.cacheSizeMiB ?? 64)) * 1024}`);
    });
    try {
      this.journal = openDatabase(this.journalFile, busyTimeoutMs, () => {});
      this.journalId = translated(() => prepareJournal(this.journal));
    } catch (err) {
      this.db.close();
      throw err;
    }
    this.workerLock = new WorkerLock(join(options.dataDir, `${STORE_FILE}.worker-lock`));
    this.checkpointer = options.checkpoint ? new SqliteCheckpointer(file, options.checkpoint.everyMs, options.checkpoint.onError) : null;
  }

  /** Statements are prepared after migration, once the tables exist. */
  private get p() {
    if (!this.parts) {
      const profiles = new SqliteProfiles(this.db);
      this.parts = { directory: new SqliteDirectory(this.db), erasure: new SqliteErasure(this.db, this.journal), profiles, queue: new SqliteQueue(this.db, this.journal, profiles) };
    }
    return this.parts;
  }

  private run<T>(fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(translateSqliteError(err));
    }
  }

  /** Migrates the store, then checks its journal and moves to it what the store's own tables still queue. */
  migrate = () =>
    this.run(() => {
      const report = migrate(this.db);
      this.p.queue.adoptQueued(this.journalId, this.journalFile);
      return report;
    });

  async close(): Promise<void> {
    await this.checkpointer?.stop();
    return this.run(() => {
      this.workerLock.release();
      if (this.db.open) this.db.close();
      if (this.journal.open) this.journal.close();
    });
  }

  /**
   * Writes a consistent copy of the whole store (queue included) to `file`, a new file (mode 0600),
   * while servers go on using the store: `VACUUM INTO` reads one snapshot, which in WAL mode blocks
   * no writer. The copy is made under a temporary name and is durable before it takes `file`'s
   * name (`publishDurably`): a backup reported written survives a power cut. Returns its size in bytes.
   */
  backup = (file: string) =>
    this.run(() => {
      if (existsSync(file)) throw new StorageError(`${file} exists already; a backup is written to a new file`);
      const temp = temporaryNameOf(file);
      ensurePrivateFile(temp);
      try {
        // The journal first: its rows are deleted only once applied, so every write transaction
        // the copy has not applied is among these (`carryQueued`).
        const queued = this.p.queue.unapplied();
        this.db.prepare('VACUUM INTO ?').run(temp);
        const copy = new Database(temp);
        try {
          carryQueued(copy, queued);
        } finally {
          copy.close();
        }
      } catch (err) {
        rmSync(temp, { force: true });
        throw err;
      }
      publishDurably(temp, file, { isExclusive: true });
      return statSync(file).size;
    });

  configVersion = () => this.run(() => this.p.directory.configVersion());
  loadDirectory = () => this.run(() => this.p.directory.load());
  createTenant = (name: string, settings: TenantSettings, master: NewAttributeDefinition[]) =>
    this.run(() => this.p.directory.createTenant(name, settings, master));
  listTenants = () => this.run(() => this.p.directory.listTenants());
  getTenant = (tenantId: number) => this.run(() => this.p.directory.getTenant(tenantId));
  updateTenantSettings = (tenantId: number, patch: Partial<TenantSettings>) => this.run(() => this.p.directory.updateTenantSettings(tenantId, patch));
  setAllowList = (tenantId: number, entries: string[]) => this.run(() => this.p.directory.setAllowList(tenantId, entries));
  createProfileKey = (tenantId: number, keyId: string, hash: string) => this.run(() => this.p.directory.createProfileKey(tenantId, keyId, hash));
  listProfileKeys = (tenantId: number) => this.run(() => this.p.directory.listProfileKeys(tenantId));
  revokeProfileKey = (tenantId: number, keyId: string) => this.run(() => this.p.directory.revokeProfileKey(tenantId, keyId));
  createApp = (tenantId: number, appid: string, channel: string, attributes: NewAttributeDefinition[]) =>
    this.run(() => this.p.directory.createApp(tenantId, appid, channel, attributes));
  listApps = (tenantId: number) => this.run(() => this.p.directory.listApps(tenantId));
  defineAttributes = (tenantId: number, scope: string, definitions: NewAttributeDefinition[]) =>
    this.run(() => this.p.directory.defineAttributes(tenantId, scope, definitions));

  countTenantRows = (tenantId: number) => this.run(() => this.p.erasure.countTenantRows(tenantId));
  countAppRows = (tenantId: number, appid: string) => this.run(() => this.p.erasure.countAppRows(tenantId, appid));
  removeTenant = (tenantId: number) => this.run(() => this.p.directory.removeTenant(tenantId));
  eraseTenantRows = (tenantId: number, limit: number) => this.run(() => this.p.erasure.eraseTenantRows(tenantId, limit));
  removeApp = (tenantId: number, appid: string) => this.run(() => this.p.directory.removeApp(tenantId, appid));
  eraseAppRows = (tenantId: number, appid: string, limit: number) => this.run(() => this.p.erasure.eraseAppRows(tenantId, appid, limit));

  enqueue = (batch: NewWriteTransaction[], windowMs: number) => this.run(() => this.p.queue.enqueue(batch, windowMs));

  /** Takes the store's worker lock first: one worker applies a SQLite store, so nothing is claimed. */
  applyNext = (_workerId: string, limit: number, _leaseMs: number, keysOf: KeysOf, reduce: ApplyReducer) =>
    this.run(() => {
      this.workerLock.acquire();
      return this.p.queue.applyNext(limit, keysOf, reduce);
    });

  getWriteTransactionStatus = (tenantId: number, transid: string) => this.run(() => this.p.queue.getStatus(tenantId, transid));
  queueStats = () => this.run(() => this.p.queue.queueStats());
  purgeWriteTransactions = (tenantId: number, before: number, limit: number) => this.run(() => this.p.queue.purgeFinished(tenantId, before, limit));

  getMasterProfiles = (tenantId: number, customerIds: string[]) => this.run(() => this.p.profiles.masters(tenantId, customerIds));
  getAppProfiles = (tenantId: number, appid: string, customerIds: string[]) => this.run(() => this.p.profiles.apps(tenantId, appid, customerIds));
  findAppProfilesByUserId = (tenantId: number, appid: string, userId: string) => this.run(() => this.p.profiles.appsByUserId(tenantId, appid, userId));
  getAppProfilesOfCustomers = (tenantId: number, customerIds: string[]) => this.run(() => this.p.profiles.appsOfCustomers(tenantId, customerIds));
}
