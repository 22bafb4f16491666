import { Worker } from 'node:worker_threads';
import { threadEntry } from '../../thread-entry.js';
import type { CheckpointThreadData, FromCheckpointThread } from './checkpoint-thread-main.js';

/**
 * Checkpoints a WAL database from a thread of its own, so that the writer's commits do not.
 *
 * A commit that finds the WAL past `wal_autocheckpoint` pages copies the WAL into the database
 * and fsyncs it before it returns: tens of ms for the applier's thread, and every write waiting for
 * its commit waits for that too (bench/flood.mjs). A passive checkpoint from another connection
 * copies the same pages while commits go on; the writer's own checkpoint is left with the few
 * pages written since, and stays as the backstop should this thread fall behind or fail.
 */
export class SqliteCheckpointer {
  private readonly thread: Worker;
  private readonly exited: Promise<void>;

  constructor(file: string, intervalMs: number, onError: (err: Error) => void) {
    this.thread = new Worker(threadEntry('storage/sqlite/checkpoint-thread-main.js'), {
      workerData: { file, intervalMs } satisfies CheckpointThreadData,
    });
    this.exited = new Promise((resolve) => this.thread.once('exit', () => resolve()));
    this.thread.on('message', (msg: FromCheckpointThread) => onError(new Error(`checkpointing the WAL failed: ${msg.message}`)));
    this.thread.on('error', (err) => onError(new Error(`the WAL checkpoint thread stopped: ${err.message ?? String(err)}`)));
  }

  /** Ends the thread (at once if it already ended). */
  async stop(): Promise<void> {
    this.thread.postMessage('stop');
    await this.exited;
  }
}
