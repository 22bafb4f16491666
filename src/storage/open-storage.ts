import type { Storage } from './storage.js';
import { openSqliteStorage } from './sqlite/sqlite-storage.js';

/** Where the store lives. Only entry points (main, CLI) choose an adapter. */
export interface StoreLocation {
  dataDir: string;
}

export function openStorage(location: StoreLocation): Storage {
  return openSqliteStorage({ dataDir: location.dataDir });
}
