import { setTimeout as sleep } from 'node:timers/promises';
import type { App, RowCounts, Tenant } from '../model/directory.js';
import type { Store } from '../storage/ports.js';
import { AdminError } from './tenant-admin.js';

/** The roles an erase uses. */
type Roles = Pick<Store, 'directory' | 'erasure'>;

/**
 * Erasing a tenant or an app for good (`openprofiles tenant delete`, `app delete`): the directory
 * entries go first, in one database transaction, then the data in chunks (the two steps in
 * `storage/ports.ts`). Running an erase again finishes one that was interrupted.
 */

/** Rows deleted per database transaction: about 10,000 keeps each one short (tens of ms on SQLite). */
export const ERASE_CHUNK_ROWS = 10_000;

export const totalRows = (rows: RowCounts): number => Object.values(rows).reduce((sum, n) => sum + n, 0);

function sum(a: RowCounts, b: RowCounts): RowCounts {
  const out = { ...a };
  for (const kind of Object.keys(out) as Array<keyof RowCounts>) out[kind] += b[kind];
  return out;
}

/** Hears the rows erased so far, after each chunk. */
export type EraseProgress = (erasedSoFar: RowCounts) => void;

/** What erasing a tenant deletes. `tenant` is null when an interrupted erase already removed it from the directory. */
export interface TenantErasePlan {
  tenant: Tenant | null;
  rows: RowCounts;
}

/** What erasing an app deletes. `app` is null when an interrupted erase already removed it from the directory. */
export interface AppErasePlan {
  app: App | null;
  rows: RowCounts;
}

/** Throws AdminError when there is no such tenant and nothing of one is left. */
export async function planTenantErase(store: Roles, tenantId: number): Promise<TenantErasePlan> {
  const tenant = await store.directory.getTenant(tenantId);
  const rows = await store.erasure.countTenantRows(tenantId);
  if (!tenant && totalRows(rows) === 0) throw new AdminError(`no tenant with id ${tenantId}`);
  return { tenant, rows };
}

/** Throws AdminError when the tenant has no such app (another tenant's appid included) and nothing of one is left. */
export async function planAppErase(store: Roles, tenantId: number, appid: string): Promise<AppErasePlan> {
  // "master" is the scope of the tenant's master schema, never an app's: its definitions are not the app's to erase.
  if (appid === 'master') throw new AdminError('"master" names the master profile schema, not an app');
  const app = (await store.directory.listApps(tenantId)).find((a) => a.appid === appid) ?? null;
  const rows = await store.erasure.countAppRows(tenantId, appid);
  if (!app && totalRows(rows) === 0) throw new AdminError(`tenant ${tenantId} has no app ${appid}`);
  return { app, rows };
}

/** Removes the tenant from the directory, then erases everything it holds. Returns what was deleted. */
export async function eraseTenant(store: Roles, tenantId: number, onProgress?: EraseProgress): Promise<RowCounts> {
  const removed = await store.directory.removeTenant(tenantId);
  return eraseInChunks(removed, () => store.erasure.eraseTenantRows(tenantId, ERASE_CHUNK_ROWS), onProgress);
}

/** Removes the app from the directory, then erases its app profiles. Returns what was deleted; throws as `planAppErase` does. */
export async function eraseApp(store: Roles, tenantId: number, appid: string, onProgress?: EraseProgress): Promise<RowCounts> {
  await planAppErase(store, tenantId, appid);
  const removed = await store.directory.removeApp(tenantId, appid);
  return eraseInChunks(removed, () => store.erasure.eraseAppRows(tenantId, appid, ERASE_CHUNK_ROWS), onProgress);
}

/**
 * Runs `chunk` until it erases nothing. After each chunk it pauses as long as the chunk took: an
 * embedded store has one write lock, and a server on the same store must get it between chunks
 * (SQLite's busy handler retries on a timer; without a gap it could miss every one).
 */
async function eraseInChunks(removed: RowCounts, chunk: () => Promise<RowCounts>, onProgress?: EraseProgress): Promise<RowCounts> {
  let erased = removed;
  for (;;) {
    const started = performance.now();
    const rows = await chunk();
    if (totalRows(rows) === 0) return erased;
    erased = sum(erased, rows);
    onProgress?.(erased);
    await sleep(performance.now() - started);
  }
}
