import type { FastifyInstance } from 'fastify';
import { ChangeFeedReader } from './changes/feed.js';
import type { Logger } from 'pino';
import { ImportService } from './bulk/import-service.js';
import { createDemoTenant, demoBanner, forgetDemoTenant } from './demo.js';
import type { Config } from './config/config.js';
import { DirectoryCache } from './domain/directory.js';
import { ProfileReader } from './domain/profile-reads.js';
import { buildApp } from './http/app.js';
import { Metrics } from './http/metrics.js';
import { resolveTls } from './http/tls.js';
import { WriteAcceptor } from './write/2-accept.js';
import { Admission } from './write/2-admission.js';
import type { AppliedWriteTransaction, ApplierLoops } from './write/4-apply.js';
import { AppliedEvents, StatusReader } from './write/5-status.js';
import { scheduleRetention } from './write/6-retention.js';
import { startPipelineThreads, type WebhookAttemptNote } from './write/threads.js';
import { applierLoops, createLogger, IDEMPOTENCY_WINDOW_MS, onBackgroundError, openMigratedStore, startDeliverer, storeLocation } from './runtime.js';
import { describeStore } from './open-store.js';
import type { Store } from './storage/ports.js';
import type { WebhookDeliverer } from './changes/webhook-deliverer.js';
import { WebhookEndpoints } from './changes/webhook-endpoints.js';

export { createLogger } from './runtime.js';

const QUEUE_REFRESH_MS = 1000;

export interface Server {
  app: FastifyInstance;
  storage: Store;
  directory: DirectoryCache;
  /** The ids of the applier loops this process runs (none with `--no-worker`). */
  applierIds: string[];
  /** The URL the server listens on. */
  url: string;
  /** Graceful shutdown: stop accepting, finish in-flight requests and the batch in hand, close the store. */
  close(): Promise<void>;
}

/** The composition root: config → storage → app → pipeline threads → signals. */
export async function startServer(config: Config, logger: Logger = createLogger(config.logLevel)): Promise<Server> {
  const storage = await openMigratedStore(config, logger, { isReader: true });

  // Before the server answers, so that its key is in demo.env by then; taken back below if this
  // start cannot serve, so that the first start that serves shows the key.
  const demo = config.isDemoEnabled ? await createDemoTenant(storage, config.dataDir) : null;
  const directory = new DirectoryCache(storage.directory);
  await directory.reload();

  const admission = new Admission(storage.journal, config.maxQueueRecords, Math.min(config.queueSoftLimitRecords, config.maxQueueRecords));
  await admission.refresh();
  const metrics = new Metrics(admission);
  const events = new AppliedEvents();
  let deliverer: WebhookDeliverer | null = null;
  const onApplied = (applied: AppliedWriteTransaction[]) => {
    events.announce(applied.map((a) => a.transid));
    deliverer?.wake();
    metrics.noteApplied(applied);
    for (const a of applied) {
      let records = 0;
      for (const count of Object.values(a.codeCounts)) records += count;
      admission.noteApplied(a.tenantId, records);
    }
  };
  // Pipeline threads (write/threads.ts): neither the commits nor the applies run on the event loop
  // that answers requests, and neither waits for the other (docs/architecture.md).
  const onWebhookAttempts = (attempts: WebhookAttemptNote[]) => {
    for (const { outcome, lagS } of attempts) metrics.noteWebhookAttempt(outcome, lagS);
  };
  const { committer, applier } = await startPipelineThreads({ config, idempotencyWindowMs: IDEMPOTENCY_WINDOW_MS, logger, onApplied, onWebhookAttempts }, config.hasApplier);
  const lifecycle = { isShuttingDown: false };
  const imports = new ImportService(storage, directory, (wt) => committer.submit(wt), config.dataDir, logger);
  const services = {
    imports,
    store: storage.directory,
    directory,
    reader: new ProfileReader(storage.profiles, directory),
    profileScan: storage.profileScan,
    changes: new ChangeFeedReader(storage.changes, (ms) => events.waitForAny(ms)),
    acceptor: new WriteAcceptor(directory, committer, admission),
    webhooks: new WebhookEndpoints(storage, config.webhookAllowPrivate),
    status: new StatusReader(storage.journal, events),
    metrics,
    lifecycle,
  };
  let https: Awaited<ReturnType<typeof resolveTls>> | null = null;
  let app: FastifyInstance;
  try {
    https = config.isPlainHttp ? null : await resolveTls(config, logger);
    app = await buildApp(services, { logger, bodyLimit: config.bodyLimit, trustProxy: config.trustProxy, https, requestTimeoutMs: config.requestTimeoutMs, rateLimitHoldMs: config.rateLimitHoldMs, tenantTurnBytes: config.tenantTurnBytes });
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    if (demo) await forgetDemoTenant(storage, demo);
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `${https ? 'https' : 'http'}://localhost:${port}`;

  directory.startPolling(config.directoryPollMs, onBackgroundError(logger, 'directory reload'));
  admission.start(QUEUE_REFRESH_MS, onBackgroundError(logger, 'queue statistics'));
  // Imports left running when the server stopped (their uploads are in this data directory).
  imports.resumeRunning().catch(onBackgroundError(logger, 'resuming imports'));
  const applierIds = applier?.applierIds ?? [];
  // The applier's thread delivers webhooks beside its applies; without one (`--no-worker`), this thread does.
  if (!applier) deliverer = startDeliverer(config, storage, logger, (outcome, lagS) => metrics.noteWebhookAttempt(outcome, lagS));
  if (demo) process.stdout.write(demoBanner(demo, url));
  logger.info({ url, appliers: applierIds, store: describeStore(storeLocation(config)) }, 'OpenProfiles is serving');

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      lifecycle.isShuttingDown = true;
      logger.info('shutting down: no new connections; finishing in-flight requests');
      // Keep-alive sockets go idle as their in-flight requests finish; close each as it does.
      const closeIdle = setInterval(() => (app.server as { closeIdleConnections?: () => void }).closeIdleConnections?.(), 50);
      try {
        await app.close();
      } finally {
        clearInterval(closeIdle);
      }
      await imports.stop();
      await deliverer?.stop();
      await committer.stop();
      await applier?.stop();
      directory.stopPolling();
      admission.stop();
      await storage.close();
      logger.info('shut down cleanly');
    })());
  return { app, storage, directory, applierIds, url, close };
}

/** A worker (`openprofiles worker`): applier loops and the retention sweep, no HTTP. */
export async function startWorker(config: Config, logger: Logger = createLogger(config.logLevel)): Promise<{ loops: ApplierLoops; close(): Promise<void> }> {
  const storage = await openMigratedStore(config, logger);
  let deliverer: WebhookDeliverer | null = null;
  const loops = applierLoops(config, storage, logger, () => deliverer?.wake());
  const stopRetention = scheduleRetention(storage, config.retentionSweepMs, config.changesRetentionDays, logger);
  await loops.start(onBackgroundError(logger, 'listening for new work'));
  deliverer = startDeliverer(config, storage, logger);
  logger.info({ appliers: loops.loops.map((l) => l.applierId), store: describeStore(storeLocation(config)) }, 'OpenProfiles worker is running');
  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      logger.info('shutting down: finishing the batches in hand');
      stopRetention();
      await deliverer?.stop();
      await loops.stop();
      await storage.close();
      logger.info('shut down cleanly');
    })());
  return { loops, close };
}

/** Shuts down on SIGTERM/SIGINT, within `timeoutMs`, then exits. */
export function closeOnSignals(server: { close(): Promise<void> }, logger: Logger, timeoutMs: number): void {
  const onSignal = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'signal received');
    const timer = setTimeout(() => {
      logger.error({ timeoutMs }, 'shutdown took too long; exiting');
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    server.close().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}
