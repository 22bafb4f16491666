import { redactUrl } from '../config/secrets.js';
import { PostgresStorage } from './postgres/postgres-storage.js';
import { type SqliteOptions, SqliteStorage } from './sqlite/sqlite-storage.js';
import type { Storage } from './storage.js';

/** Where the store lives: PostgreSQL when a database URL is given, else SQLite in the data directory. */
export interface StoreLocation extends Pick<SqliteOptions, 'cacheSizeMiB' | 'checkpoint'> {
  dataDir: string;
  databaseUrl?: string;
  /** PostgreSQL connections per process. */
  poolSize?: number;
  onBackgroundError?: (err: unknown) => void;
}

/** Only entry points (main, CLI) choose an adapter. */
export function openStorage(location: StoreLocation): Storage {
  if (location.databaseUrl) {
    return new PostgresStorage({ url: location.databaseUrl, poolSize: location.poolSize, onBackgroundError: location.onBackgroundError });
  }
  const { dataDir, cacheSizeMiB, checkpoint } = location;
  return new SqliteStorage({ dataDir, cacheSizeMiB, checkpoint });
}

/** Where the store is, for logs: never the password of a database URL. */
export function describeStore(location: StoreLocation): string {
  return location.databaseUrl ? redactUrl(location.databaseUrl) : `sqlite:${location.dataDir}`;
}
