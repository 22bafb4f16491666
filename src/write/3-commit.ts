import type { EnqueueResult, NewWriteTransaction } from '../model/write-transaction.js';
import type { Journal } from '../storage/ports.js';

/** Takes accepted write transactions and answers once they are durably queued. */
export interface Committer {
  submit(wt: NewWriteTransaction): Promise<EnqueueResult>;
  /** False while writes cannot be taken (the committer's thread is restarting). */
  readonly isAvailable: boolean;
}

/** Most write transactions in one commit. */
const MAX_WRITE_TRANSACTIONS = 1000;

/**
 * Most bytes of records in one commit (a larger write transaction goes alone). What a commit costs
 * grows with what it writes, and every write in it, and every write that arrives meanwhile, waits
 * for all of it: 1 MB is about 5 ms here (docs/performance.md). 512 KB made more commits and did
 * not lower accept's p99 (docs/performance-log.md, "History").
 */
export const TURN_BYTES = 1024 * 1024;

interface Pending {
  wt: NewWriteTransaction;
  resolve: (result: EnqueueResult) => void;
  reject: (err: unknown) => void;
}

/**
 * Stage 3, commit: the committer's group commit. Write transactions accepted while the store is busy committing wait for the next
 * commit and share it, so one fsync covers many requests. Each request is answered only after the
 * database transaction that holds it committed.
 *
 * What waits is committed in turns, oldest first, of at most `TURN_BYTES` of records, so that no
 * commit, and no write waiting behind one, pays for more than that; between turns the event loop
 * runs, so that a write arriving during a flood's turns joins the next one. (Tenants used to take
 * turns inside a commit, the lightest first: with commits to the SQLite journal, a flood victim's
 * write p99 was the same without at 50 requests/s and about 2 ms worse at 200, docs/reliability-log.md.)
 */
export class GroupCommitter implements Committer {
  private pending: Pending[] = [];
  private flushing: Promise<void> | null = null;
  private isScheduled = false;
  readonly isAvailable = true;

  constructor(
    private readonly journal: Journal,
    private readonly idempotencyWindowMs: number,
    /** Hears each commit, after its write transactions' callbacks (wakes the applier). */
    private readonly onCommitted: (count: number) => void = () => {},
    /** See TURN_BYTES. */
    private readonly maxBytes = TURN_BYTES,
  ) {}

  submit(wt: NewWriteTransaction): Promise<EnqueueResult> {
    return new Promise((resolve, reject) => this.submitWith(wt, resolve, reject));
  }

  /**
   * `submit` with callbacks, which run synchronously once the commit is done (or failed), before
   * `onCommitted` and before the next commit starts.
   */
  submitWith(wt: NewWriteTransaction, resolve: (result: EnqueueResult) => void, reject: (err: unknown) => void): void {
    this.pending.push({ wt, resolve, reject });
    this.schedule();
  }

  private schedule(): void {
    if (this.isScheduled || this.flushing) return;
    this.isScheduled = true;
    // setImmediate lets the requests already parsed in this turn of the event loop join the batch.
    setImmediate(() => {
      this.isScheduled = false;
      this.flushing = this.flush().finally(() => {
        this.flushing = null;
        if (this.pending.length > 0) this.schedule();
      });
    });
  }

  /**
   * Commits, in turns, as many write transactions as were waiting when it began. Between turns it
   * lets the event loop run, so that writes arriving meanwhile join the turns (a quiet tenant's
   * write goes in the next one, not after a flood's); the count bounds the flush, so that a steady
   * stream of writes cannot keep it going while the queue waits to be applied.
   */
  private async flush(): Promise<void> {
    let budget = this.pending.length;
    for (let turn = 0; this.pending.length > 0 && budget > 0; turn++) {
      if (turn > 0) await new Promise((resolve) => setImmediate(resolve));
      const batch = this.nextTurn();
      budget -= batch.length;
      try {
        const results = await this.journal.enqueue(batch.map((p) => p.wt), this.idempotencyWindowMs);
        batch.forEach((p, i) => p.resolve(results[i]));
        this.onCommitted(batch.length);
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
    }
  }

  /** Takes the next commit's write transactions from `pending`: the oldest, up to `maxBytes` (at least one). */
  private nextTurn(): Pending[] {
    let bytes = 0;
    let count = 0;
    for (const p of this.pending) {
      bytes += p.wt.recordsJson.length;
      if (count > 0 && (bytes > this.maxBytes || count === MAX_WRITE_TRANSACTIONS)) break;
      count++;
    }
    return this.pending.splice(0, count);
  }
}
