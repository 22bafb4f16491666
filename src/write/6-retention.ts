import type { Logger } from 'pino';
import type { Store } from '../storage/ports.js';
import type { Tenant } from '../model/directory.js';

const DAY_MS = 86_400_000;
const PURGE_BATCH = 1000;
/** Webhook attempts are kept this long (docs/changes.md). */
export const WEBHOOK_ATTEMPT_RETENTION_DAYS = 30;

/** Calls `purge` until it deletes less than a batch, yielding between batches; returns how many it deleted. */
async function inBatches(purge: (limit: number) => Promise<number>): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = await purge(PURGE_BATCH);
    total += deleted;
    if (deleted < PURGE_BATCH) return total;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * After status, retention: deletes finished write transactions (and their results) older than
 * each tenant's retention, imports that finished longer ago than that (with their chunks and
 * rejects: the chunks' write transactions go at the same time), change events older than
 * `changesRetentionDays` and webhook attempts older than 30 days, in small batches
 * so no sweep holds the store for long.
 */
export async function purgeExpired(
  store: Pick<Store, 'journal' | 'changes' | 'webhooks' | 'imports'>,
  tenants: Tenant[],
  changesRetentionDays: number,
  now = Date.now(),
): Promise<{ writeTransactions: number; importRows: number; changeEvents: number; webhookAttempts: number }> {
  const purged = { writeTransactions: 0, importRows: 0, changeEvents: 0, webhookAttempts: 0 };
  for (const tenant of tenants) {
    const before = now - tenant.settings.retentionDays * DAY_MS;
    purged.writeTransactions += await inBatches((limit) => store.journal.purgeWriteTransactions(tenant.id, before, limit));
    purged.importRows += await inBatches((limit) => store.imports.purgeFinished(tenant.id, before, limit));
    purged.changeEvents += await inBatches((limit) => store.changes.purge(tenant.id, now - changesRetentionDays * DAY_MS, limit));
    purged.webhookAttempts += await inBatches((limit) => store.webhooks.purgeAttempts(tenant.id, now - WEBHOOK_ATTEMPT_RETENTION_DAYS * DAY_MS, limit));
  }
  return purged;
}

/** Runs `purgeExpired` every `intervalMs`; returns a function that stops it. */
export function scheduleRetention(store: Pick<Store, 'directory' | 'journal' | 'changes' | 'webhooks' | 'imports'>, intervalMs: number, changesRetentionDays: number, logger: Logger): () => void {
  const timer = setInterval(async () => {
    try {
      const tenants = await store.directory.listTenants();
      const purged = await purgeExpired(store, tenants, changesRetentionDays);
      await store.journal.reclaimQueueSpace?.();
      if (Object.values(purged).some((n) => n > 0)) logger.info(purged, 'purged finished write transactions, imports, change events and webhook attempts past their retention');
    } catch (err) {
      logger.warn({ err }, 'retention sweep failed; the next sweep retries');
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
