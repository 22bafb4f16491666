import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { GroupCommitter } from './write/3-commit.js';
import { scheduleRetention } from './write/6-retention.js';
import type { FromThread, PipelineThreadData, ToThread, WebhookAttemptNote } from './write/threads.js';
import { applierLoops, createLogger, onBackgroundError, startDeliverer, storeLocation } from './runtime.js';
import type { WebhookDeliverer } from './changes/webhook-deliverer.js';
import { openStore } from './open-store.js';
import type { EnqueueResult } from './model/write-transaction.js';
import { StorageUnavailableError } from './storage/ports.js';

/**
 * Composition root of the server's pipeline threads (see `write/threads.ts`): each has its own
 * connections (SQLite) or pool (PostgreSQL). The committer's thread commits the writes and wakes
 * the applier's thread through a channel of their own after each commit; the applier's thread
 * (not with `--no-worker`: then `openprofiles worker` applies the journal) runs the applier loops,
 * the retention sweep and the webhook deliverer. The server's thread migrated the store before starting them.
 */

/** How often a thread of the store's own checkpoints the WAL, so that the applier's commits do not. */
const CHECKPOINT_EVERY_MS = 100;

/** The committer's page cache of the store (SQLite), MiB. */
const COMMITTER_STORE_CACHE_MIB = 2;

const { config, idempotencyWindowMs, role, isApplyOnly = false } = workerData as PipelineThreadData;
const isCommitter = role === 'committer';
const port = parentPort!;
const post = (msg: FromThread) => port.postMessage(msg);
const logger = createLogger(config.logLevel).child({ thread: role });

const storage = openStore({
  ...storeLocation(config, logger),
  // The committer writes the journal; of the store it reads only idempotency keys.
  ...(isCommitter && { cacheSizeMiB: COMMITTER_STORE_CACHE_MIB }),
  ...(!isCommitter && { checkpoint: { everyMs: CHECKPOINT_EVERY_MS, onError: (err: Error) => logger.warn({ error: err.message }, 'WAL checkpoint thread') } }),
});
/** This thread's end of the channel between the committer and the applier. */
let wakePort: MessagePort | null = null;
const committer: GroupCommitter | null = isCommitter
  ? new GroupCommitter(storage.journal, idempotencyWindowMs, () => {
      postAnswers();
      wakePort?.postMessage(null);
    })
  : null;
let deliverer: WebhookDeliverer | null = null;
const loops = isCommitter
  ? null
  : applierLoops(config, storage, logger, (applied) => {
      post({ type: 'applied', applied });
      deliverer?.wake();
    });
/** Webhook attempts go to the server's thread (its metrics) in one message per turn of this thread's event loop. */
let attempts: WebhookAttemptNote[] = [];
const noteAttempt = (outcome: string, lagS: number | null) => {
  if (attempts.length === 0) setImmediate(() => (post({ type: 'webhookAttempts', attempts }), (attempts = [])));
  attempts.push({ outcome, lagS });
};
// Once per server, where the server applies (with `--no-worker`, `openprofiles worker` sweeps).
const stopRetention = loops && !isApplyOnly ? scheduleRetention(storage, config.retentionSweepMs, config.changesRetentionDays, logger) : () => {};
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

port.on('message', (msg: ToThread) => {
  if (msg.type === 'stop') {
    void stop();
    return;
  }
  if (msg.type === 'wakePort') {
    wakePort?.close();
    wakePort = msg.port;
    if (loops) wakePort.on('message', () => loops.wake());
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
  await deliverer?.stop();
  if (unanswered > 0) await new Promise<void>((resolve) => (onAllAnswered = resolve));
  wakePort?.close();
  await loops?.stop();
  await storage.close();
  process.exit(0); // in a worker thread: ends this thread only
}

await loops?.start(onBackgroundError(logger, 'listening for new work'));
// The deliverer works beside the applier, on its connections: on SQLite it never waits for the
// applier's write lock, and never holds up the server's event loop (docs/changes.md, "Webhooks").
if (loops && !isApplyOnly) deliverer = startDeliverer(config, storage, logger, noteAttempt);
post({ type: 'ready', applierIds: loops?.loops.map((l) => l.applierId) ?? [] });
