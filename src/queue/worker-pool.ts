import type { Storage } from '../storage/storage.js';
import { QueueWorker, type WorkerOptions } from './worker.js';

export interface WorkerPoolOptions extends WorkerOptions {
  /** Workers in this process; a store without concurrent claims (SQLite) gets one. */
  concurrency: number;
}

/** The workers of one process, woken by this process's commits and, where the store can, by other nodes' (LISTEN/NOTIFY). */
export class WorkerPool {
  readonly workers: QueueWorker[];
  private unwatch: (() => Promise<void>) | null = null;

  constructor(
    private readonly storage: Storage,
    options: WorkerPoolOptions,
  ) {
    const count = storage.capabilities.hasConcurrentClaims ? options.concurrency : 1;
    this.workers = Array.from({ length: count }, () => new QueueWorker(storage, options));
  }

  async start(onWatchError: (err: unknown) => void): Promise<void> {
    if (this.storage.capabilities.canNotifyWorkers && this.storage.watchForWork) {
      this.unwatch = await this.storage.watchForWork(() => this.wake()).catch((err) => {
        onWatchError(err);
        return null;
      });
    }
    for (const worker of this.workers) worker.start();
  }

  wake(): void {
    for (const worker of this.workers) worker.wake();
  }

  /** Each worker finishes the batch in hand, then stops. */
  async stop(): Promise<void> {
    await this.unwatch?.();
    await Promise.all(this.workers.map((w) => w.stop()));
  }
}
