import type { EnqueueResult, NewWriteTransaction, Storage } from '../storage/storage.js';

/** Takes accepted write transactions and answers once they are durably queued. */
export interface Committer {
  submit(wt: NewWriteTransaction): Promise<EnqueueResult>;
  /** False while writes cannot be taken (the server's writer thread is restarting). */
  readonly isAvailable: boolean;
}

/** Most write transactions in one commit. */
const MAX_WRITE_TRANSACTIONS = 1000;

/**
 * Most bytes of records in one commit while one tenant's writes wait (a larger write transaction
 * goes alone), and while several tenants' do. What a commit costs grows with what it writes, and
 * every write in it, and every write that arrives meanwhile, waits for all of it: 1 MB is about
 * 5 ms here. One tenant alone gets the larger budget: 256 KB cost its steady load 3-10 % of its
 * rate in more commits (docs/performance.md).
 */
export const TURN_BYTES = { oneTenant: 1024 * 1024, shared: 64 * 1024 };

interface Pending {
  wt: NewWriteTransaction;
  resolve: (result: EnqueueResult) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit: write transactions accepted while the store is busy committing wait for the next
 * commit and share it, so one fsync covers many requests. Each request is answered only after the
 * database transaction that holds it committed.
 *
 * What waits is committed in turns of a bounded number of bytes of records (`TURN_BYTES`), so that
 * no commit, and no write waiting behind one, pays for more than that. In a turn, tenants take
 * turns one write transaction at a time, each tenant's in arrival order, the tenant with the
 * fewest bytes waiting first: a tenant that sends one small write while another floods is
 * committed, and answered, in the first turn, with at most the shared budget of the flood's bytes.
 */
export class GroupCommitter implements Committer {
  private pending: Pending[] = [];
  private flushing: Promise<void> | null = null;
  private isScheduled = false;
  readonly isAvailable = true;

  constructor(
    private readonly storage: Storage,
    private readonly idempotencyWindowMs: number,
    /** Hears each commit, after its write transactions' callbacks (wakes the in-process worker). */
    private readonly onCommitted: (count: number) => void = () => {},
    /** Most bytes of records in one commit (a larger write transaction goes alone). */
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

  /** Commits what is waiting now rather than in the next turn of the event loop. */
  commitWaiting(): Promise<void> {
    return (this.flushing ??= this.flush().finally(() => {
      this.flushing = null;
      if (this.pending.length > 0) this.schedule();
    }));
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

  /** Takes the next commit's write transactions from `pending` (see the class comment). */
  private nextTurn(): Pending[] {
    if (this.pending.length === 1) return this.pending.splice(0, 1);
    const byTenant = new Map<number, { own: Pending[]; bytes: number }>();
    for (const p of this.pending) {
      let tenant = byTenant.get(p.wt.tenantId);
      if (!tenant) byTenant.set(p.wt.tenantId, (tenant = { own: [], bytes: 0 }));
      tenant.own.push(p);
      tenant.bytes += p.wt.recordsJson.length;
    }
    const queues = [...byTenant.values()].sort((a, b) => a.bytes - b.bytes).map((t) => t.own);
    const maxBytes = queues.length === 1 ? this.maxBytes.oneTenant : this.maxBytes.shared;
    const turn: Pending[] = [];
    let bytes = 0;
    // Round by round, one write transaction of each tenant still in the turn; a tenant whose next
    // one does not fit is done for this turn (its writes stay in order).
    for (let round = 0; queues.length > 0; round++) {
      for (let i = 0; i < queues.length; i++) {
        const next = queues[i][round];
        const size = next?.wt.recordsJson.length ?? 0;
        if (!next || (turn.length > 0 && (bytes + size > maxBytes || turn.length === MAX_WRITE_TRANSACTIONS))) {
          queues.splice(i--, 1);
          continue;
        }
        turn.push(next);
        bytes += size;
      }
    }
    const taken = new Set(turn);
    this.pending = this.pending.filter((p) => !taken.has(p));
    return turn;
  }
}
