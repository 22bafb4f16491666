import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

/** What the checkpoint thread is started with (see `sqlite-checkpointer.ts`). */
export interface CheckpointThreadData {
  file: string;
  intervalMs: number;
}

/** Messages from the checkpoint thread. */
export type FromCheckpointThread = { type: 'failed'; message: string };

/**
 * Entry of the embedded store's checkpoint thread: its own connection, a passive checkpoint every
 * `intervalMs`. A passive checkpoint takes no lock a writer needs, so commits go on meanwhile.
 */
const { file, intervalMs } = workerData as CheckpointThreadData;
const port = parentPort!;
// Reported here: a driver error thrown out of a thread reaches the parent without its message.
const fail = (err: unknown) => port.postMessage({ type: 'failed', message: err instanceof Error ? err.message : String(err) } satisfies FromCheckpointThread);

let db: Database.Database;
try {
  db = new Database(file, { fileMustExist: true });
  // The checkpoint fsyncs the WAL before it copies and the database after, as the writer's would.
  db.pragma('synchronous = FULL');
} catch (err) {
  fail(err);
  process.exit(1); // in a worker thread: ends this thread only
}

// A failure is reported once, not every interval (a full disk fails every checkpoint until it clears).
let isFailing = false;
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    isFailing = false;
  } catch (err) {
    if (!isFailing) fail(err);
    isFailing = true;
  }
}, intervalMs);

port.on('message', (msg: 'stop') => {
  if (msg !== 'stop') return;
  clearInterval(timer);
  db.close();
  process.exit(0); // in a worker thread: ends this thread only
});
