import { redactUrl } from './config/secrets.js';
import { conflictKeysOf, schedule } from './domain/conflict-keys.js';
import { recordsOfStored } from './domain/write-requests.js';
import type { Store, StoreRules } from './storage/ports.js';
import { openPostgresStore } from './storage/postgres/postgres-storage.js';
import { openSqliteStore, type SqliteOptions, type SqliteStore } from './storage/sqlite/sqlite-storage.js';

/** Where the store lives: PostgreSQL when a database URL is given, else SQLite in the data directory. */
export interface StoreLocation extends Pick<SqliteOptions, 'cacheSizeMiB' | 'checkpoint'> {
  dataDir: string;
  databaseUrl?: string;
  /** PostgreSQL connections per process. */
  poolSize?: number;
  onBackgroundError?: (err: unknown) => void;
}

/** The domain's rules the adapters apply (storage imports no domain code). */
export const STORE_RULES: StoreRules = { recordsOf: recordsOfStored, conflictKeysOf, schedule };

/** A store as an entry point opens it: the embedded one can also write a backup. */
export type OpenedStore = Store & Partial<Pick<SqliteStore, 'backup'>>;

/** Only entry points (main, the pipeline threads, the CLI) choose an adapter. */
export function openStore(location: StoreLocation): OpenedStore {
  if (location.databaseUrl) {
    return openPostgresStore({ url: location.databaseUrl, poolSize: location.poolSize, onBackgroundError: location.onBackgroundError }, STORE_RULES);
  }
  const { dataDir, cacheSizeMiB, checkpoint } = location;
  return openSqliteStore({ dataDir, cacheSizeMiB, checkpoint }, STORE_RULES);
}

/** The embedded store in `dataDir`, for what only it can do (an online backup). */
export const openEmbeddedStore = (options: SqliteOptions): SqliteStore => openSqliteStore(options, STORE_RULES);

/** Where the store is, for logs: never the password of a database URL. */
export function describeStore(location: StoreLocation): string {
  return location.databaseUrl ? redactUrl(location.databaseUrl) : `sqlite:${location.dataDir}`;
}
