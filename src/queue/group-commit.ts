import type { EnqueueResult, NewWriteTransaction, Storage } from '../storage/storage.js';

/** Takes accepted write transactions and answers once they are durably queued. */
export interface Committer {
  submit(wt: NewWriteTransaction): Promise<EnqueueResult>;
}

interface Pending {
  wt: NewWriteTransaction;
  resolve: (result: EnqueueResult) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit: write transactions accepted while the store is busy committing wait for the next
 * commit and share it, so one fsync covers many requests. Each request is answered only after the
 * database transaction that holds it committed.
 */
export class GroupCommitter implements Committer {
  private pending: Pending[] = [];
  private flushing: Promise<void> | null = null;
  private isScheduled = false;

  constructor(
    private readonly storage: Storage,
    private readonly idempotencyWindowMs: number,
    /** Hears each committed batch (wakes the in-process worker). */
    private readonly onCommitted: (count: number) => void = () => {},
    /** Most write transactions in one commit. */
    private readonly maxBatch = 1000,
  ) {}

  submit(wt: NewWriteTransaction): Promise<EnqueueResult> {
    return new Promise((resolve, reject) => {
      this.pending.push({ wt, resolve, reject });
      this.schedule();
    });
  }

  /** Commits what is waiting now rather than in the next turn of the event loop. */
  commitWaiting(): Promise<void> {
    return (this.flushing ??= this.flush().finally(() => (this.flushing = null)));
  }

  private schedule(): void {
    if (this.isScheduled || this.flushing) return;
    this.isScheduled = true;
    // setImmediate lets the requests already parsed in this turn of the event loop join the batch.
    setImmediate(() => {
      this.isScheduled = false;
      void this.commitWaiting();
    });
  }

  private async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.maxBatch);
      try {
        const results = await this.storage.enqueue(
          batch.map((p) => p.wt),
          this.idempotencyWindowMs,
        );
        batch.forEach((p, i) => p.resolve(results[i]));
        this.onCommitted(batch.length);
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
    }
  }
}
