import { parentPort, workerData } from 'node:worker_threads';
import { GroupCommitter } from './queue/group-commit.js';
import { scheduleRetention } from './queue/retention.js';
import type { FromWriter, ToWriter, WriterThreadData } from './queue/writer-thread.js';
import { createLogger, onBackgroundError, storeLocation, workerPool } from './runtime.js';
import { openStore } from './open-store.js';
import type { EnqueueResult } from './model/write-transaction.js';
import { StorageUnavailableError } from './storage/ports.js';

/**
 * Composition root of the server's writer threads (see `queue/writer-thread.ts`): each has its own
 * connections (SQLite) or pool (PostgreSQL). One thread commits the writes; another, unless the
 * server runs `--no-worker` (then `openprofiles worker` applies the queue), runs the workers and the
 * retention sweep. The server's thread migrated the store before starting them.
 */

/** How often a thread of the store's own checkpoints the WAL, so that the applier's commits do not. */
const CHECKPOINT_EVERY_MS = 100;

/** The committing thread's page cache of the store (SQLite), MiB. */
const COMMITTER_STORE_CACHE_MIB = 2;

const { config, idempotencyWindowMs, isCommitter } = workerData as WriterThreadData;
const port = parentPort!;
const post = (msg: FromWriter) => port.postMessage(msg);
const logger = createLogger(config.logLevel).child({ thread: isCommitter ? 'writer' : 'applier' });

const storage = openStore({
  ...storeLocation(config, logger),
  // The committer writes the journal; of the store it reads only idempotency keys.
  ...(isCommitter && { cacheSizeMiB: COMMITTER_STORE_CACHE_MIB }),
  ...(!isCommitter && { checkpoint: { everyMs: CHECKPOINT_EVERY_MS, onError: (err: Error) => logger.warn({ error: err.message }, 'WAL checkpoint thread') } }),
});
const committer: GroupCommitter | null = isCommitter ? new GroupCommitter(storage.journal, idempotencyWindowMs, () => postAnswers()) : null;
const workers = isCommitter ? null : workerPool(config, storage, logger, (applied) => post({ type: 'applied', applied }));
// Once per server, where the server applies (with `--no-worker`, `openprofiles worker` sweeps).
const stopRetention = workers ? scheduleRetention(storage, config.retentionSweepMs, logger) : () => {};
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
  if (msg.type === 'wake') {
    workers?.wake();
    return;
  }
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
