import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { ImportService } from './bulk/import-service.js';
import { createDemoTenant, demoBanner, forgetDemoTenant } from './demo.js';
import type { Config } from './config/config.js';
import { DirectoryCache } from './domain/directory.js';
import { ProfileReader } from './domain/profile-reads.js';
import { buildApp } from './http/app.js';
import { Metrics } from './http/metrics.js';
import { resolveTls } from './http/tls.js';
import { WriteAcceptor } from './queue/accept.js';
import { AppliedEvents } from './queue/applied-events.js';
import { QueueMonitor } from './queue/queue-monitor.js';
import { scheduleRetention } from './queue/retention.js';
import { StatusReader } from './queue/status.js';
import type { AppliedWriteTransaction } from './queue/worker.js';
import type { WorkerPool } from './queue/worker-pool.js';
import { WriterThread } from './queue/writer-thread.js';
import { createLogger, IDEMPOTENCY_WINDOW_MS, onBackgroundError, openMigratedStore, storeLocation, workerPool } from './runtime.js';
import { describeStore } from './open-store.js';
import type { Store } from './storage/ports.js';

export { createLogger } from './runtime.js';

const QUEUE_REFRESH_MS = 1000;

export interface Server {
  app: FastifyInstance;
  storage: Store;
  directory: DirectoryCache;
  /** The ids of the queue workers this process runs (none with `--no-worker`). */
  workerIds: string[];
  /** The URL the server listens on. */
  url: string;
  /** Graceful shutdown: stop accepting, finish in-flight requests and the batch in hand, close the store. */
  close(): Promise<void>;
}

/** The composition root: config → storage → app → workers → signals. */
export async function startServer(config: Config, logger: Logger = createLogger(config.logLevel)): Promise<Server> {
  const storage = await openMigratedStore(config, logger, { isReader: true });

  // Before the server answers, so that its key is in demo.env by then; taken back below if this
  // start cannot serve, so that the first start that serves shows the key.
  const demo = config.isDemoEnabled ? await createDemoTenant(storage, config.dataDir) : null;
  const directory = new DirectoryCache(storage.directory);
  await directory.reload();

  const monitor = new QueueMonitor(storage.journal, config.maxQueueRecords, Math.min(config.queueSoftLimitRecords, config.maxQueueRecords));
  await monitor.refresh();
  const metrics = new Metrics(monitor);
  const events = new AppliedEvents();
  const onApplied = (applied: AppliedWriteTransaction[]) => {
    events.announce(applied.map((a) => a.transid));
    metrics.noteApplied(applied);
    for (const a of applied) {
      let records = 0;
      for (const count of Object.values(a.codeCounts)) records += count;
      monitor.noteApplied(a.tenantId, records);
    }
  };
  // Writer threads (queue/writer-thread.ts): neither the commits nor the applies run on the event
  // loop that answers requests, and neither waits for the other (docs/architecture.md).
  const threadOptions = { idempotencyWindowMs: IDEMPOTENCY_WINDOW_MS, logger, onApplied };
  const applier = config.isWorkerEnabled ? new WriterThread({ ...threadOptions, config, isCommitter: false }) : null;
  const writer = new WriterThread({ ...threadOptions, config, isCommitter: true, onCommitted: () => applier?.wake() });
  await writer.start();
  await applier?.start();
  const lifecycle = { isShuttingDown: false };
  const imports = new ImportService(storage, directory, (wt) => writer.submit(wt), config.dataDir, logger);
  const services = {
    imports,
    store: storage.directory,
    directory,
    reader: new ProfileReader(storage.profiles, directory),
    profileScan: storage.profileScan,
    acceptor: new WriteAcceptor(directory, writer, monitor),
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
  monitor.start(QUEUE_REFRESH_MS, onBackgroundError(logger, 'queue statistics'));
  // Imports left running when the server stopped (their uploads are in this data directory).
  imports.resumeRunning().catch(onBackgroundError(logger, 'resuming imports'));
  const workerIds = [...writer.workerIds, ...(applier?.workerIds ?? [])];
  if (demo) process.stdout.write(demoBanner(demo, url));
  logger.info({ url, workers: workerIds, store: describeStore(storeLocation(config)) }, 'OpenProfiles is serving');

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
      await writer.stop();
      await applier?.stop();
      directory.stopPolling();
      monitor.stop();
      await storage.close();
      logger.info('shut down cleanly');
    })());
  return { app, storage, directory, workerIds, url, close };
}

/** Workers only (`openprofiles worker`): apply the queue, purge past retention, no HTTP. */
export async function startWorkers(config: Config, logger: Logger = createLogger(config.logLevel)): Promise<{ workers: WorkerPool; close(): Promise<void> }> {
  const storage = await openMigratedStore(config, logger);
  const workers = workerPool(config, storage, logger, () => {});
  const stopRetention = scheduleRetention(storage, config.retentionSweepMs, logger);
  await workers.start(onBackgroundError(logger, 'listening for new work'));
  logger.info({ workers: workers.workers.map((w) => w.workerId), store: describeStore(storeLocation(config)) }, 'OpenProfiles workers are running');
  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      logger.info('shutting down: finishing the batches in hand');
      stopRetention();
      await workers.stop();
      await storage.close();
      logger.info('shut down cleanly');
    })());
  return { workers, close };
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
