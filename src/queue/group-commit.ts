import type { EnqueueResult, NewWriteTransaction, Storage } from '../storage/storage.js';

/** Takes accepted write transactions and answers once they are durably queued. */
export interface Committer {
  submit(wt: NewWriteTransaction): Promise<EnqueueResult>;
  /** False while writes cannot be taken (the embedded store's writer thread is restarting). */
  readonly isAvailable: boolean;
}

/** Most write transactions in one commit. */
const MAX_WRITE_TRANSACTIONS = 1000;

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
 * When several tenants' writes wait, they are committed in turns of at most `maxRecords` records,
 * tenants taking turns one write transaction at a time (each tenant's in arrival order): a tenant
 * that sends one small write while another floods is committed, and answered, in the first turn,
 * not after the flood's bytes. One tenant's writes alone share one commit (fewer commits: on the
 * server's thread, each one holds the event loop).
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
    /** With several tenants waiting, most records in one commit (a larger write transaction goes alone). */
    private readonly maxRecords = 1000,
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
    const byTenant = new Map<number, Pending[]>();
    for (const p of this.pending) {
      const own = byTenant.get(p.wt.tenantId);
      if (own) own.push(p);
      else byTenant.set(p.wt.tenantId, [p]);
    }
    if (byTenant.size === 1) return this.pending.splice(0, MAX_WRITE_TRANSACTIONS);
    const turn: Pending[] = [];
    let records = 0;
    let isFull = false;
    while (!isFull && byTenant.size > 0) {
      for (const [tenantId, own] of byTenant) {
        const next = own[0];
        if (turn.length > 0 && records + next.wt.recordCount > this.maxRecords) {
          isFull = true;
          break;
        }
        turn.push(own.shift()!);
        records += next.wt.recordCount;
        if (own.length === 0) byTenant.delete(tenantId);
      }
    }
    const taken = new Set(turn);
    this.pending = this.pending.filter((p) => !taken.has(p));
    return turn;
  }
}
