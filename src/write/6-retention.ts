import type { Logger } from 'pino';
import type { Journal, Store } from '../storage/ports.js';
import type { Tenant } from '../model/directory.js';

const DAY_MS = 86_400_000;
const PURGE_BATCH = 1000;

/**
 * After status, retention: deletes finished write transactions (and their results) older than each tenant's retention,
 * in small batches so no sweep holds the store for long.
 */
export async function purgeExpired(journal: Journal, tenants: Tenant[], now = Date.now()): Promise<number> {
  let total = 0;
  for (const tenant of tenants) {
    const before = now - tenant.settings.retentionDays * DAY_MS;
    for (;;) {
      const deleted = await journal.purgeWriteTransactions(tenant.id, before, PURGE_BATCH);
      total += deleted;
      if (deleted < PURGE_BATCH) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  return total;
}

/** Runs `purgeExpired` every `intervalMs`; returns a function that stops it. */
export function scheduleRetention(store: Pick<Store, 'directory' | 'journal'>, intervalMs: number, logger: Logger): () => void {
  const timer = setInterval(async () => {
    try {
      const tenants = await store.directory.listTenants();
      const purged = await purgeExpired(store.journal, tenants);
      await store.journal.reclaimQueueSpace?.();
      if (purged > 0) logger.info({ purged }, 'purged finished write transactions past their retention');
    } catch (err) {
      logger.warn({ err }, 'retention sweep failed; the next sweep retries');
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
