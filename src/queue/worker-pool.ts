import type { Store } from '../storage/ports.js';
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
    private readonly store: Pick<Store, 'appliers' | 'capabilities' | 'journal'>,
    options: WorkerPoolOptions,
  ) {
    const count = store.appliers.hasConcurrentClaims ? options.concurrency : 1;
    this.workers = Array.from({ length: count }, () => new QueueWorker(store.appliers, options));
  }

  async start(onWatchError: (err: unknown) => void): Promise<void> {
    const { journal } = this.store;
    if (this.store.capabilities.canNotifyWorkers && journal.watchForWork) {
      this.unwatch = await journal.watchForWork(() => this.wake()).catch((err) => {
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
