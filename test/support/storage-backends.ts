import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStorage } from '../../src/storage/sqlite/sqlite-storage.js';
import type { Storage } from '../../src/storage/storage.js';

/** Backends the contract suite can run over. */
const KNOWN = ['sqlite'] as const;
export type Backend = (typeof KNOWN)[number];

/** `STORAGE_BACKENDS` (comma list; default `sqlite`). An unknown name is an error, not a silent skip. */
export function selectedBackends(env = process.env.STORAGE_BACKENDS): Backend[] {
  const names = (env ?? 'sqlite').split(',').map((s) => s.trim()).filter(Boolean);
  for (const name of names) {
    if (!(KNOWN as readonly string[]).includes(name)) throw new Error(`STORAGE_BACKENDS names ${name}; known backends: ${KNOWN.join(', ')}`);
  }
  return names as Backend[];
}

export interface TestStore {
  storage: Storage;
  /** Opens the same store again (after close), as a restart would. */
  reopen(): Storage;
  dispose(): Promise<void>;
}

/** A fresh, migrated store of that backend. */
export async function openTestStore(backend: Backend): Promise<TestStore> {
  switch (backend) {
    case 'sqlite': {
      const dataDir = mkdtempSync(join(tmpdir(), 'openprofiles-store-'));
      const opened: Storage[] = [];
      const open = () => {
        const s = openSqliteStorage({ dataDir });
        opened.push(s);
        return s;
      };
      const storage = open();
      await storage.migrate();
      return {
        storage,
        reopen: open,
        async dispose() {
          for (const s of opened) await s.close();
          rmSync(dataDir, { recursive: true, force: true });
        },
      };
    }
  }
}
