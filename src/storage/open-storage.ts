import { openPostgresStorage } from './postgres/postgres-storage.js';
import { openSqliteStorage, type SqliteOptions } from './sqlite/sqlite-storage.js';
import type { Storage } from './storage.js';

/** Where the store lives: PostgreSQL when a database URL is given, else SQLite in the data directory. */
export interface StoreLocation {
  dataDir: string;
  databaseUrl?: string;
  /** PostgreSQL connections per process. */
  poolSize?: number;
  /** SQLite: this connection's page cache, MiB (default 64). */
  cacheSizeMiB?: number;
  /** SQLite: checkpoint the WAL from a thread of its own (the store's writer; see SqliteOptions). */
  checkpoint?: SqliteOptions['checkpoint'];
  onBackgroundError?: (err: unknown) => void;
}

/** Only entry points (main, CLI) choose an adapter. */
export function openStorage(location: StoreLocation): Storage {
  if (location.databaseUrl) {
    return openPostgresStorage({ url: location.databaseUrl, poolSize: location.poolSize, onBackgroundError: location.onBackgroundError });
  }
  const { dataDir, cacheSizeMiB, checkpoint } = location;
  return openSqliteStorage({ dataDir, cacheSizeMiB, checkpoint });
}

/** Where the store is, for logs: never the password of a database URL. */
export function describeStore(location: StoreLocation): string {
  if (!location.databaseUrl) return `sqlite:${location.dataDir}`;
  const url = new URL(location.databaseUrl);
  url.password = '';
  return url.toString();
}
