import { TenantAdmin } from '../domain/tenant-admin.js';
import { type OpenedStore, openStore, type StoreLocation } from '../open-store.js';
import type { Output } from './output.js';

/** Options every command takes. */
export interface CommonOptions {
  json?: boolean;
  dataDir?: string;
  databaseUrl?: string;
}

export interface CommandContext {
  store: OpenedStore;
  admin: TenantAdmin;
  out: Output;
}

/** The store named by --database-url or PROFILES_DATABASE_URL (PostgreSQL), else --data-dir or PROFILES_DATA_DIR (SQLite, default ./data). */
export function locationOf(options: CommonOptions): StoreLocation {
  return {
    dataDir: options.dataDir ?? (process.env.PROFILES_DATA_DIR || './data'),
    databaseUrl: options.databaseUrl ?? (process.env.PROFILES_DATABASE_URL || undefined),
    poolSize: 2,
  };
}

/** Runs `fn` against the store, closing it afterwards. */
export async function withStore<T>(options: CommonOptions, fn: (ctx: CommandContext) => Promise<T>): Promise<T> {
  const store = openStore(locationOf(options));
  try {
    await store.migrate();
    return await fn({ store, admin: new TenantAdmin(store), out: { isJson: Boolean(options.json) } });
  } finally {
    await store.close();
  }
}
