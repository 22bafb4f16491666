import { parentPort, workerData } from 'node:worker_threads';
import { GroupCommitter } from './queue/group-commit.js';
import { scheduleRetention } from './queue/retention.js';
import type { FromWriter, ToWriter, WriterThreadData } from './queue/writer-thread.js';
import { createLogger, onBackgroundError, storeLocation, workerPool } from './runtime.js';
import { openStorage } from './storage/open-storage.js';
import { type EnqueueResult, StorageUnavailableError } from './storage/storage.js';

/**
 * Composition root of the server's writer threads (see `queue/writer-thread.ts`): each has its own
 * connection (SQLite) or pool (PostgreSQL). On SQLite one thread runs the group committer, the
 * queue worker (unless the server runs `--no-worker`, when `openprofiles worker` applies the queue)
 * and the retention sweep. On PostgreSQL one thread commits (and sweeps), and another, unless
 * `--no-worker`, runs the workers (`isCommitter: false`). The server's thread migrated the store
 * before starting them.
 */

/** How often a thread of the store's own checkpoints the WAL, so that this thread's commits do not. */
const CHECKPOINT_EVERY_MS = 100;

const { config, idempotencyWindowMs, isCommitter = true, waiting } = workerData as WriterThreadData;
const port = parentPort!;
const post = (msg: FromWriter) => port.postMessage(msg);
const logger = createLogger(config.logLevel).child({ thread: isCommitter ? 'writer' : 'applier' });

const storage = openStorage({
  ...storeLocation(config, logger),
  checkpoint: { everyMs: CHECKPOINT_EVERY_MS, onError: (err) => logger.warn({ error: err.message }, 'WAL checkpoint thread') },
});
const committer: GroupCommitter | null = isCommitter
  ? new GroupCommitter(storage, idempotencyWindowMs, () => {
      postAnswers();
      workers?.wake();
    })
  : null;
// A thread that commits and applies (SQLite): writes that wait for their commit go first. The
// waiting enqueues commit before each batch is claimed, and a batch in hand is cut short (its
// applied part committed) as soon as the server's thread has posted enqueues, so an accepted write
// waits for about one part of a batch (`Storage.applyWriteTransactions`), not for the whole batch.
// A thread that only applies (PostgreSQL) runs its workers as `openprofiles worker` does: there
// the enqueues do not wait for the apply's locks, and batches sized to `writerBatchMs` cut end-to-end
// throughput to a third (docs/performance.md, "PostgreSQL: commits and applies off the event loop").
const workers = config.isWorkerEnabled
  ? workerPool(
      config,
      storage,
      logger,
      (applied) => post({ type: 'applied', applied }),
      committer
        ? {
            beforeBatch: () => committer.commitWaiting(),
            batchTargetMs: config.writerBatchMs || undefined,
            // Posted and not yet taken. (Not the committer's leftovers, GroupCommitter.flush: yielding
            // for those too cut every batch to one part under a steady load, 8 % fewer records/s.)
            shouldYield: () => Atomics.load(waiting, 0) > 0,
          }
        : {},
    )
  : null;
// Once per server: in the thread that commits.
const stopRetention = isCommitter ? scheduleRetention(storage, config.retentionSweepMs, logger) : () => {};
// Each write transaction is answered as soon as its commit is done: the committer calls back
// synchronously, and the commit's answers go in one message before the next commit starts.
let answers: { id: number; result: EnqueueResult }[] = [];
let unanswered = 0;
let onAllAnswered: (() => void) | null = null;
function postAnswers(): void {
  if (answers.length === 0) return;
  post({ type: 'enqueued', answers });
  answers = [];
}
function answered(): void {
  if (--unanswered === 0) onAllAnswered?.();
}

port.on('message', (msg: ToWriter) => {
  if (msg.type === 'stop') {
    void stop();
    return;
  }
  Atomics.sub(waiting, 0, 1);
  for (const { id, wt } of msg.wts) {
    unanswered++;
    committer!.submitWith(
      wt,
      (result) => {
        answers.push({ id, result });
        answered();
      },
      (err: unknown) => {
        post({ type: 'refused', ids: [id], message: err instanceof Error ? err.message : String(err), isUnavailable: err instanceof StorageUnavailableError });
        answered();
      },
    );
  }
});

async function stop(): Promise<void> {
  stopRetention();
  if (unanswered > 0) await new Promise<void>((resolve) => (onAllAnswered = resolve));
  await workers?.stop();
  await storage.close();
  process.exit(0); // in a worker thread: ends this thread only
}

await workers?.start(onBackgroundError(logger, 'listening for new work'));
post({ type: 'ready', workerIds: workers?.workers.map((w) => w.workerId) ?? [] });
