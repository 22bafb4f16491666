import { openStorage } from '../../src/storage/open-storage.js';
import type { Storage } from '../../src/storage/storage.js';
import { type Backend, freshStoreEnv } from './test-db.js';

export { selectedBackends, type Backend } from './test-db.js';

export interface TestStore {
  storage: Storage;
  /** The store's settings (`PROFILES_DATA_DIR`, `PROFILES_DATABASE_URL`), for a config, a thread or a process on it. */
  env: Record<string, string>;
  /** Opens the same store again (after close), as a restart would. */
  reopen(): Storage;
  dispose(): Promise<void>;
}

/** A fresh, migrated store of that backend. */
export async function openTestStore(backend: Backend): Promise<TestStore> {
  const fresh = await freshStoreEnv(backend);
  const location = { dataDir: fresh.dataDir, databaseUrl: fresh.env.PROFILES_DATABASE_URL || undefined, poolSize: 4 };
  const opened: Storage[] = [];
  const open = () => {
    const s = openStorage(location);
    opened.push(s);
    return s;
  };
  const storage = open();
  await storage.migrate();
  return {
    storage,
    env: fresh.env,
    reopen: open,
    async dispose() {
      for (const s of opened) await s.close().catch(() => undefined);
      await fresh.dispose();
    },
  };
}
