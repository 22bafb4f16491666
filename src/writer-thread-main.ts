import { parentPort, workerData } from 'node:worker_threads';
import { GroupCommitter } from './queue/group-commit.js';
import { scheduleRetention } from './queue/retention.js';
import type { FromWriter, ToWriter, WriterThreadData } from './queue/writer-thread.js';
import { createLogger, onBackgroundError, storeLocation, workerPool } from './runtime.js';
import { openStorage } from './storage/open-storage.js';
import { StorageUnavailableError } from './storage/storage.js';

/**
 * Composition root of the embedded store's writer thread (see `queue/writer-thread.ts`): its own
 * connection, the group committer, the queue worker and the retention sweep. The server's thread
 * migrated the store before starting it.
 */
const { config, idempotencyWindowMs } = workerData as WriterThreadData;
const port = parentPort!;
const post = (msg: FromWriter) => port.postMessage(msg);
const logger = createLogger(config.logLevel).child({ thread: 'writer' });

const storage = openStorage(storeLocation(config, logger));
// Writes that wait for their commit go first: the waiting enqueues commit before each batch is
// claimed, so an accepted write waits for at most one batch in hand.
const committer: GroupCommitter = new GroupCommitter(storage, idempotencyWindowMs, () => workers.wake());
const workers = workerPool(
  config,
  storage,
  logger,
  (applied) => post({ type: 'applied', applied }),
  { beforeBatch: () => committer.commitWaiting(), batchTargetMs: config.writerBatchMs || undefined },
);
const stopRetention = scheduleRetention(storage, config.retentionSweepMs, logger);
const enqueueing = new Set<Promise<void>>();

port.on('message', (msg: ToWriter) => {
  if (msg.type === 'stop') {
    void stop();
    return;
  }
  const done = Promise.all(msg.wts.map((wt) => committer.submit(wt))).then(
    (results) => post({ type: 'enqueued', id: msg.id, results }),
    (err: unknown) =>
      post({ type: 'refused', id: msg.id, message: err instanceof Error ? err.message : String(err), isUnavailable: err instanceof StorageUnavailableError }),
  );
  enqueueing.add(done);
  void done.finally(() => enqueueing.delete(done));
});

async function stop(): Promise<void> {
  stopRetention();
  await Promise.all(enqueueing);
  await workers.stop();
  await storage.close();
  process.exit(0); // in a worker thread: ends this thread only
}

await workers.start(onBackgroundError(logger, 'listening for new work'));
post({ type: 'ready', workerIds: workers.workers.map((w) => w.workerId) });
