import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { keysOf, reduceWriteTransactions } from '../domain/apply.js';
import type { ApplyReducer } from '../model/profile.js';
import type { RecordResult } from '../model/write-transaction.js';
import { type Applier, type Appliers, WorkerLockedError } from '../storage/ports.js';

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
 * Applies the oldest queued write transactions with their results in one database transaction,
 * and repeats (`Applier.applyNext`). With one worker per store (SQLite), taking the oldest not yet
 * applied keeps every customer's writes in acceptance order, and a crash leaves nothing to take
 * back. Where several claim (PostgreSQL), a dead worker's claims are taken back when their lease
 * expires.
 */
export class QueueWorker {
  readonly workerId = `w-${process.pid}-${randomBytes(4).toString('hex')}`;
  private isStopping = false;
  private running: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private failures = 0;
  /** Another process holds the store's worker lock (SQLite): waiting for it, said once. */
  private isStandingBy = false;

  /** This worker's applier: its own claims where workers claim, else the store's one applier. */
  private readonly applier: Applier;

  constructor(
    appliers: Appliers,
    private readonly options: WorkerOptions,
  ) {
    this.applier = appliers.hasConcurrentClaims ? appliers.claim(this.workerId, options.leaseMs) : appliers.applier;
  }

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

  /** Applies one batch; returns how many write transactions it applied. */
  async runOnce(): Promise<number> {
    const { batchSize, onApplied } = this.options;
    const results = new Map<string, RecordResult[]>();
    const reduce: ApplyReducer = (batch, snapshot, now) => {
      const out = reduceWriteTransactions(batch, snapshot, now);
      for (const [transid, own] of out.results) results.set(transid, own);
      return out;
    };
    const applied = await this.applier.applyNext(batchSize, keysOf, reduce);
    if (applied.length > 0) {
      onApplied(applied.map(({ transid, tenantId, acceptedAt }) => ({ transid, tenantId, acceptedAt, codeCounts: countCodes(results.get(transid) ?? []) })));
    }
    return applied.length;
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
