import { existsSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { CHANGE_FEED_METHODS, DIRECTORY_METHODS, ERASURE_METHODS, IMPORTS_METHODS, JOURNAL_METHODS, KEYS_METHODS, APPLIER_METHODS, PROFILE_SCAN_METHODS, PROFILES_METHODS, promised, WEBHOOK_DELIVERIES_METHODS, WEBHOOKS_METHODS } from '../roles.js';
import { ensurePrivateDir, ensurePrivateFile, publishDurably, temporaryNameOf } from '../private-files.js';
import { type Applier, type ChangeFeed, type Directory, type Erasure, type Imports, type Journal, type Keys, type Profiles, type ProfileScan, type Store, type StoreRules, StorageError, type WebhookDeliveries, type Webhooks } from '../ports.js';
import { migrate } from './migrations.js';
import { SqliteChanges } from './sqlite-changes.js';
import { SqliteCheckpointer } from './sqlite-checkpointer.js';
import { SqliteDirectory } from './sqlite-directory.js';
import { SqliteErasure } from './sqlite-erasure.js';
import { SqliteImports } from './sqlite-imports.js';
import { translated, translateSqliteError } from './sqlite-errors.js';
import { SqliteProfiles } from './sqlite-profiles.js';
import { SqliteProfileScan } from './sqlite-profile-scan.js';
import { SqliteWebhooks } from './sqlite-webhooks.js';
import { journalFileOf, prepareJournal } from './sqlite-journal.js';
import { carryQueued, SqliteQueue, ApplierLock } from './sqlite-queue.js';

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
      // Opening is synchronous, like every call of this adapter.
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

/** The embedded store, with its one extra: an online backup. */
export interface SqliteStore extends Store {
  /** One applier applies a SQLite store: its applier takes the store's applier lock, and nothing is claimed. */
  readonly appliers: { readonly hasConcurrentClaims: false; readonly applier: Applier };
  /**
   * Writes a consistent copy of the whole store (queue included) to `file`, a new file (mode 0600),
   * while servers go on using the store: `VACUUM INTO` reads one snapshot, which in WAL mode blocks
   * no writer. The copy is made under a temporary name and is durable before it takes `file`'s
   * name (`publishDurably`): a backup reported written survives a power cut. Returns its size in bytes.
   */
  backup(file: string): Promise<number>;
}

/** The store's two connections (`openSqliteConnections`). */
export type SqliteConnections = ReturnType<typeof openSqliteConnections>;

/**
 * Opens the store's database file and its journal (`sqlite-journal.ts`), both in WAL mode with
 * `synchronous=FULL`; `journalId` is the journal's own id, which the store records (`SqliteQueue.adoptQueued`).
 */
export function openSqliteConnections(options: SqliteOptions) {
  const file = join(options.dataDir, STORE_FILE);
  const busyTimeoutMs = Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000));
  const db = openDatabase(file, busyTimeoutMs, (db) => {
    // Checkpoint every ~40 MB of WAL instead of SQLite's 4 MB: a checkpoint runs inside the
    // commit that crosses the mark, and the apply rewrites the same hot pages batch after
    // batch, which a rarer checkpoint copies once (docs/performance.md: a third less commit time).
    db.pragma(`wal_autocheckpoint = ${WAL_CHECKPOINT_PAGES}`);
    db.pragma('foreign_keys = ON');
    db.pragma(`cache_size = -${Math.max(1, Math.trunc(options.cacheSizeMiB ?? 64)) * 1024}`);
  });
  try {
    const journal = openDatabase(journalFileOf(file), busyTimeoutMs, () => {});
    return { db, journal, journalId: translated(() => prepareJournal(journal)) } as const;
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * Opens the embedded store: two better-sqlite3 connections (synchronous, so calls run one at a
 * time), one to the store and one to its journal (`sqlite-journal.ts`), both in WAL mode with
 * `synchronous=FULL`, so that an enqueue's commit is fsync'd before a write is answered (applies
 * commit without it, most of the time: `SqliteQueue.applyNext`). One applier applies a store (the
 * applier lock), so nothing is claimed.
 */
export function openSqliteStore(options: SqliteOptions, rules: Pick<StoreRules, 'recordsOf'>, connections = openSqliteConnections(options)): SqliteStore {
  const { db, journal, journalId } = connections;
  const file = join(options.dataDir, STORE_FILE);
  const journalFile = journalFileOf(file);
  const applierLock = new ApplierLock(join(options.dataDir, `${STORE_FILE}.worker-lock`) /* the file's name from before the applier was called so */);
  const checkpointer = options.checkpoint ? new SqliteCheckpointer(file, options.checkpoint.everyMs, options.checkpoint.onError) : null;

  /** Statements are prepared after migration, once the tables exist. */
  let made: { directory: SqliteDirectory; erasure: SqliteErasure; imports: SqliteImports; profiles: SqliteProfiles; queue: SqliteQueue; changes: SqliteChanges; scan: SqliteProfileScan; webhooks: SqliteWebhooks } | null = null;
  /** A connection of its own for a snapshot (`SqliteProfileScan`): the file is in WAL mode already. */
  const openReader = () => translated(() => new Database(file, { timeout: Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000)) }));
  const parts = () => {
    if (!made) {
      const changes = new SqliteChanges(db);
      const profiles = new SqliteProfiles(db, changes);
      const queue = new SqliteQueue(db, journal, profiles, applierLock, rules.recordsOf);
      made = { directory: new SqliteDirectory(db), erasure: new SqliteErasure(db, journal), imports: new SqliteImports(db), profiles, queue, changes, scan: new SqliteProfileScan(db, openReader), webhooks: new SqliteWebhooks(db) };
    }
    return made;
  };
  const t = translateSqliteError;
  const applier = promised<Applier>(() => parts().queue, APPLIER_METHODS, t);

  return {
    capabilities: { canWakeAppliers: false, isEmbedded: true },
    directory: promised<Directory>(() => parts().directory, DIRECTORY_METHODS, t),
    keys: promised<Keys>(() => parts().directory, KEYS_METHODS, t),
    profiles: promised<Profiles>(() => parts().profiles, PROFILES_METHODS, t),
    journal: promised<Journal>(() => parts().queue, JOURNAL_METHODS, t),
    appliers: { hasConcurrentClaims: false, applier },
    erasure: promised<Erasure>(() => parts().erasure, ERASURE_METHODS, t),
    changes: promised<ChangeFeed>(() => parts().changes, CHANGE_FEED_METHODS, t),
    imports: promised<Imports>(() => parts().imports, IMPORTS_METHODS, t),
    profileScan: promised<ProfileScan>(() => parts().scan, PROFILE_SCAN_METHODS, t),
    webhooks: promised<Webhooks>(() => parts().webhooks, WEBHOOKS_METHODS, t),
    webhookDeliveries: promised<WebhookDeliveries>(() => parts().webhooks, WEBHOOK_DELIVERIES_METHODS, t),

    /** Migrates the store, then checks its journal and moves to it what the store's own tables still queue. */
    migrate: async () =>
      translated(() => {
        const report = migrate(db);
        parts().queue.adoptQueued(journalId, journalFile);
        return report;
      }),

    async close() {
      await checkpointer?.stop();
      translated(() => {
        applierLock.release();
        if (db.open) db.close();
        if (journal.open) journal.close();
      });
    },

    backup: async (to: string) =>
      translated(() => {
        if (existsSync(to)) throw new StorageError(`${to} exists already; a backup is written to a new file`);
        const temp = temporaryNameOf(to);
        ensurePrivateFile(temp);
        try {
          // The journal first: its rows are deleted only once applied, so every write transaction
          // the copy has not applied is among these (`carryQueued`).
          const queued = parts().queue.unapplied();
          db.prepare('VACUUM INTO ?').run(temp);
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
        publishDurably(temp, to, { isExclusive: true });
        return statSync(to).size;
      }),
  };
}
