import { readFileSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import { WebhookDeliverer, type DelivererOptions } from './changes/webhook-deliverer.js';
import { type Config, parseDurations } from './config/config.js';
import { ApplierLoops, type ApplierLoopOptions } from './write/4-apply.js';
import { openStore, type StoreLocation } from './open-store.js';
import type { Store } from './storage/ports.js';

/** Pieces shared by the composition roots: the server (`main.ts`) and its pipeline threads. */

/** Idempotency keys name their first request for 24 h (contract §8). */
export const IDEMPOTENCY_WINDOW_MS = 24 * 3600 * 1000;

export function createLogger(level: string): Logger {
  return pino({
    level,
    // Keys never reach the logs, whatever the level.
    redact: { paths: ['req.headers.key', 'req.headers.secretkey', 'req.headers.authorization'], censor: '[redacted]' },
  });
}

export const storeLocation = (config: Config, logger?: Logger): StoreLocation => ({
  dataDir: config.dataDir,
  databaseUrl: config.databaseUrl || undefined,
  poolSize: config.databasePoolSize,
  cacheSizeMiB: config.sqliteCacheMiB,
  // The message only: driver errors can carry the whole connection object.
  onBackgroundError: logger && ((err) => logger.warn({ error: String((err as Error)?.message ?? err) }, 'store connection error')),
});

/**
 * A server's own connection only reads (its pipeline threads write: `write/threads.ts`), and
 * SQLite drops a reader's page cache whenever another connection has written, so a small cache
 * does as well there, whatever PROFILES_SQLITE_CACHE_MIB says.
 */
const READER_CACHE_MIB = 8;

export async function openMigratedStore(config: Config, logger: Logger, options: { isReader?: boolean } = {}): Promise<Store> {
  const storage = openStore({ ...storeLocation(config, logger), ...(options.isReader && { cacheSizeMiB: READER_CACHE_MIB }) });
  const migrated = await storage.migrate();
  if (migrated.applied.length) logger.info({ applied: migrated.applied, version: migrated.version }, 'store migrated');
  return storage;
}

/** Write transactions per apply when PROFILES_WORKER_BATCH is 0 (see its doc). */
const EMBEDDED_BATCH = 16;
const SERVER_BATCH = 256;

export function applierLoops(config: Config, storage: Store, logger: Logger, onApplied: ApplierLoopOptions['onApplied']): ApplierLoops {
  if (config.applierConcurrency > 1 && !storage.appliers.hasConcurrentClaims) {
    logger.warn({ concurrency: config.applierConcurrency }, 'this store is applied by one applier (SQLite: one per store); running 1, not the concurrency asked for');
  }
  return new ApplierLoops(storage, config.applierConcurrency, {
    batchSize: config.applierBatchSize || (storage.capabilities.isEmbedded ? EMBEDDED_BATCH : SERVER_BATCH),
    leaseMs: config.applierLeaseMs,
    idlePollMs: config.applierIdlePollMs,
    logger,
    onApplied,
  });
}

export const onBackgroundError = (logger: Logger, what: string) => (err: unknown) => logger.warn({ err }, `${what} failed; retrying`);

/** The webhook deliverer of a server or a worker (docs/changes.md, "Webhooks"), started. */
export function startDeliverer(config: Config, storage: Store, logger: Logger, onAttempt?: DelivererOptions['onAttempt']): WebhookDeliverer {
  const deliverer = new WebhookDeliverer(storage, {
    leaseMs: config.webhookLeaseMs,
    concurrency: config.webhookConcurrency,
    timeoutMs: config.webhookTimeoutMs,
    retrySchedule: parseDurations(config.webhookRetrySchedule),
    disableAfterMs: config.webhookDisableAfterHours * 3_600_000,
    allowPrivate: config.webhookAllowPrivate,
    ca: config.webhookCaFile ? readFileSync(config.webhookCaFile, 'utf8') : null,
    logger,
    onAttempt,
  });
  deliverer.start();
  return deliverer;
}
