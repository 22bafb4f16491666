import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { keysOf, reduceWriteTransactions } from '../domain/apply.js';
import { type ApplyReducer, type ClaimedWriteTransaction, type RecordResult, type Storage, WorkerLockedError } from '../storage/storage.js';

/** How often a standing-by worker tries the store's worker lock, ms. */
const STANDBY_POLL_MS = 1000;

export interface WorkerOptions {
  /** Most write transactions claimed and applied in one database transaction. */
  batchSize: number;
  /** How long a claim holds before another worker may take it over, ms. */
  leaseMs: number;
  /** How often an idle worker looks for work when nothing wakes it, ms. */
  idlePollMs: number;
  logger: Logger;
  /**
   * When set, each batch is sized (up to `batchSize`) to take about this long, from the time per
   * write transaction of the batches before it, ms. The embedded store's writer thread uses it
   * with `shouldYield`: a write waiting for its commit waits for the claim and the part in hand.
   */
  batchTargetMs?: number;
  /**
   * Asked between parts of a batch; true ends the batch early (see `Storage.applyWriteTransactions`).
   * The writer thread answers whether enqueues are waiting for it.
   */
  shouldYield?: () => boolean;
  /** Runs before each batch is claimed (the writer thread commits the waiting enqueues there). */
  beforeBatch?: () => Promise<void>;
  /** Hears every applied batch. */
  onApplied: (applied: AppliedWriteTransaction[]) => void;
}

/** What a worker reports of each write transaction it applied (small: it may cross threads). */
export interface AppliedWriteTransaction {
  transid: string;
  tenantId: number;
  acceptedAt: number;
  /** Records per result code. */
  codeCounts: Record<string, number>;
}

function countCodes(results: readonly RecordResult[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of results) counts[r.code] = (counts[r.code] ?? 0) + 1;
  return counts;
}

/**
 * Claims the oldest queued write transactions, applies them with their results in one database
 * transaction, and repeats. With one worker per store (SQLite), claiming the oldest first keeps
 * every customer's writes in acceptance order; a crash leaves claimed work to be taken back when
 * its lease expires (or at once on restart, see `start`).
 */
export class QueueWorker {
  readonly workerId = `w-${process.pid}-${randomBytes(4).toString('hex')}`;
  private isStopping = false;
  private running: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private failures = 0;
  /** Another process holds the store's worker lock (SQLite): waiting for it, said once. */
  private isStandingBy = false;
  /** Moving average of the time to apply one write transaction, ms (with `batchTargetMs`). */
  private msPerWriteTransaction = 0;
  /** What a batch cut short by `shouldYield` left claimed: the next batch, before any new claim. */
  private rest: ClaimedWriteTransaction[] = [];

  constructor(
    private readonly storage: Storage,
    private readonly options: WorkerOptions,
  ) {}

  start(): void {
    this.running ??= this.loop();
  }

  /** Finishes the batch in hand, then stops. */
  async stop(): Promise<void> {
    this.isStopping = true;
    this.wake();
    await this.running;
  }

  /** New work is queued: stop idling. */
  wake(): void {
    this.wakeUp?.();
  }

  private async loop(): Promise<void> {
    const { logger } = this.options;
    while (!this.isStopping) {
      try {
        await this.options.beforeBatch?.();
        const applied = await this.runOnce();
        this.failures = 0;
        if (this.isStandingBy) logger.info({ workerId: this.workerId }, 'took over applying the queue');
        this.isStandingBy = false;
        if (applied === 0) await this.idle();
        // Give the event loop a turn before each batch: on an embedded store applying blocks it,
        // and the requests whose commit woke us must be answered before it does.
        await new Promise((resolve) => setImmediate(resolve));
      } catch (err) {
        if (err instanceof WorkerLockedError) {
          if (!this.isStandingBy) logger.warn({ workerId: this.workerId }, `${err.message}: this worker stands by, and takes over when that process stops`);
          this.isStandingBy = true;
          await sleep(STANDBY_POLL_MS);
          continue;
        }
        this.failures++;
        const delay = Math.min(100 * 2 ** this.failures, 5_000);
        logger.error({ err, workerId: this.workerId, retryInMs: delay }, 'applying write transactions failed; retrying');
        await sleep(delay);
      }
    }
  }

  /** Claims and applies one batch; returns how many write transactions it applied. */
  async runOnce(): Promise<number> {
    const { leaseMs, onApplied } = this.options;
    const started = performance.now();
    const claimed = this.rest.length > 0 ? this.rest : await this.storage.claim(this.workerId, this.batchLimit(), leaseMs);
    this.rest = [];
    if (claimed.length === 0) return 0;
    const results = new Map<string, RecordResult[]>();
    const reduce: ApplyReducer = (batch, snapshot, now) => {
      const out = reduceWriteTransactions(batch, snapshot, now);
      for (const [transid, own] of out.results) results.set(transid, own);
      return out;
    };
    const applied = await this.storage.applyWriteTransactions(this.workerId, claimed, keysOf, reduce, this.options.shouldYield);
    const byTransid = new Map<string, ClaimedWriteTransaction>(claimed.map((wt) => [wt.transid, wt]));
    onApplied(
      applied.map((transid) => {
        const wt = byTransid.get(transid)!;
        return { transid, tenantId: wt.tenantId, acceptedAt: wt.acceptedAt, codeCounts: countCodes(results.get(transid) ?? []) };
      }),
    );
    if (applied.length > 0 && applied.length < claimed.length) {
      // Cut short: what follows the last applied write transaction is still ours, and oldest.
      // (A claim another worker took over is skipped again, and an apply of none ends the rest.)
      const last = claimed.findIndex((wt) => wt.transid === applied.at(-1));
      this.rest = claimed.slice(last + 1);
    } else if (applied.length === claimed.length) {
      // A batch cut short says little about the time a whole one takes.
      const ms = (performance.now() - started) / claimed.length;
      this.msPerWriteTransaction = this.msPerWriteTransaction === 0 ? ms : 0.7 * this.msPerWriteTransaction + 0.3 * ms;
    }
    return applied.length;
  }

  private batchLimit(): number {
    const { batchSize, batchTargetMs } = this.options;
    if (!batchTargetMs || this.msPerWriteTransaction === 0) return batchSize;
    return Math.max(1, Math.min(batchSize, Math.floor(batchTargetMs / this.msPerWriteTransaction)));
  }

  private idle(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.options.idlePollMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = () => {
        this.wakeUp = null;
        done();
      };
    });
  }
}
