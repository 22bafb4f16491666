import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { GroupCommitter } from './queue/group-commit.js';
import { scheduleRetention } from './queue/retention.js';
import type { FromWriter, ToApplier, ToWriter, WriterThreadData } from './queue/writer-thread.js';
import { Crossing, type Silent } from './threads/crossing.js';
import { createLogger, onBackgroundError, storeLocation, workerPool } from './runtime.js';
import { openStore } from './open-store.js';
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
const logger = createLogger(config.logLevel).child({ thread: isCommitter ? 'writer' : 'applier' });

const storage = openStore({
  ...storeLocation(config, logger),
  // The committer writes the journal; of the store it reads only idempotency keys.
  ...(isCommitter && { cacheSizeMiB: COMMITTER_STORE_CACHE_MIB }),
  ...(!isCommitter && { checkpoint: { everyMs: CHECKPOINT_EVERY_MS, onError: (err: Error) => logger.warn({ error: err.message }, 'WAL checkpoint thread') } }),
});
// The applying thread, if the server has one: the committer wakes it after each commit.
let applier: Crossing<ToApplier, Silent> | null = null;
const committer: GroupCommitter | null = isCommitter ? new GroupCommitter(storage.journal, idempotencyWindowMs, () => applier?.notify('wake', null)) : null;
const workers = isCommitter ? null : workerPool(config, storage, logger, (applied) => server.notify('applied', applied));
// Once per server, where the server applies (with `--no-worker`, `openprofiles worker` sweeps).
const stopRetention = workers ? scheduleRetention(storage, config.retentionSweepMs, logger) : () => {};
let peerPort: MessagePort | null = null;
let unanswered = 0;
let onAllAnswered: (() => void) | null = null;
function answered(): void {
  if (--unanswered === 0) onAllAnswered?.();
}

// Each write transaction is answered as soon as its commit is done: the committer calls back
// synchronously, and the crossing sends the commit's answers in one message before the next commit.
const server = new Crossing<FromWriter, ToWriter>(parentPort!, {
  requests: {
    enqueue: (wt, answer, refuse) => {
      unanswered++;
      committer!.submitWith(
        wt,
        (result) => {
          answer(result);
          answered();
        },
        (err: unknown) => {
          refuse({ message: err instanceof Error ? err.message : String(err), isUnavailable: err instanceof StorageUnavailableError });
          answered();
        },
      );
    },
  },
  notes: {
    stop: () => void stop(),
    // A new channel to the other thread (at start, and after either was restarted).
    peer: (port) => {
      peerPort?.close();
      peerPort = port;
      if (isCommitter) applier = new Crossing<ToApplier, Silent>(port, { requests: {}, notes: {} });
      else new Crossing<Silent, ToApplier>(port, { requests: {}, notes: { wake: () => workers?.wake() } });
    },
  },
});

async function stop(): Promise<void> {
  stopRetention();
  if (unanswered > 0) await new Promise<void>((resolve) => (onAllAnswered = resolve));
  await workers?.stop();
  await storage.close();
  process.exit(0); // in a worker thread: ends this thread only
}

await workers?.start(onBackgroundError(logger, 'listening for new work'));
server.notify('ready', { workerIds: workers?.workers.map((w) => w.workerId) ?? [] });
