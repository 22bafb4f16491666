import { type OpenedStore, openStore } from '../../src/open-store.js';
import type { Applier, Store } from '../../src/storage/ports.js';
import { type Backend, freshStoreEnv } from './test-db.js';

export { selectedBackends, type Backend } from './test-db.js';

export interface TestStore {
  storage: OpenedStore;
  /** The store's settings (`PROFILES_DATA_DIR`, `PROFILES_DATABASE_URL`), for a config, a thread or a process on it. */
  env: Record<string, string>;
  /** Opens the same store again (after close), as a restart would. */
  reopen(): OpenedStore;
  dispose(): Promise<void>;
}

/** A fresh, migrated store of that backend. */
export async function openTestStore(backend: Backend): Promise<TestStore> {
  const fresh = await freshStoreEnv(backend);
  const location = { dataDir: fresh.dataDir, databaseUrl: fresh.env.PROFILES_DATABASE_URL || undefined, poolSize: 4 };
  const opened: OpenedStore[] = [];
  const open = () => {
    const s = openStore(location);
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

/** The applier named `applierId`: its own claims for `leaseMs` where appliers claim, else the store's one applier. */
export const applierOf = (store: Pick<Store, 'appliers'>, applierId = 'w', leaseMs = 60_000): Applier =>
  store.appliers.hasConcurrentClaims ? store.appliers.claim(applierId, leaseMs) : store.appliers.applier;
