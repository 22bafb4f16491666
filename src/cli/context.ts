import { TenantAdmin } from '../domain/tenant-admin.js';
import { openStorage } from '../storage/open-storage.js';
import type { Storage } from '../storage/storage.js';
import type { Output } from './output.js';

/** Options every command takes. */
export interface CommonOptions {
  json?: boolean;
  dataDir?: string;
}

export interface CommandContext {
  storage: Storage;
  admin: TenantAdmin;
  out: Output;
}

/** The store named by --data-dir or PROFILES_DATA_DIR (default ./data), migrated. */
export function dataDirOf(options: CommonOptions): string {
  return options.dataDir ?? (process.env.PROFILES_DATA_DIR || './data');
}

/** Runs `fn` against the store, closing it afterwards. */
export async function withStore<T>(options: CommonOptions, fn: (ctx: CommandContext) => Promise<T>): Promise<T> {
  const storage = openStorage({ dataDir: dataDirOf(options) });
  try {
    await storage.migrate();
    return await fn({ storage, admin: new TenantAdmin(storage), out: { isJson: Boolean(options.json) } });
  } finally {
    await storage.close();
  }
}
