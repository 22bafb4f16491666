import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { keysOf, reduceWriteTransactions } from '../domain/apply.js';
import type { ApplyReducer } from '../model/profile.js';
import type { RecordResult } from '../model/write-transaction.js';
import { type Applier, type Appliers, ApplierLockedError, type Store } from '../storage/ports.js';
import { Wakeup } from '../wakeup.js';

/** How often a standing-by applier loop tries the store's applier lock, ms. */
const STANDBY_POLL_MS = 1000;

export interface ApplierLoopOptions {
  /** Most write transactions claimed and applied in one database transaction. */
  batchSize: number;
  /** How long a claim holds before another applier may take it over, ms. */
  leaseMs: number;
  /** How often an idle applier loop looks for work when nothing wakes it, ms. */
  idlePollMs: number;
  logger: Logger;
  /** Hears every applied batch. */
  onApplied: (applied: AppliedWriteTransaction[]) => void;
}

/** What an applier loop reports of each write transaction it applied (small: it may cross threads). */
export interface AppliedWriteTransaction {
  transid: string;
  tenantId: number;
  acceptedAt: number;
  /** Records per result code. */
  codeCounts: Record<string, number>;
  /** Change events its records wrote. */
  events: number;
}

function countCodes(results: readonly RecordResult[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of results) counts[r.code] = (counts[r.code] ?? 0) + 1;
  return counts;
}

/**
 * Stage 4, apply: the applier's loop. Applies the oldest queued write transactions with their
 * results in one database transaction, and repeats (`Applier.applyNext`). With one applier per
 * store (SQLite), taking the oldest not yet applied keeps every customer's writes in acceptance
 * order, and a crash leaves nothing to take back. Where several claim (PostgreSQL), a dead
 * applier's claims are taken back when their lease expires.
 */
export class ApplierLoop {
  readonly applierId = `a-${process.pid}-${randomBytes(4).toString('hex')}`;
  private isStopping = false;
  private running: Promise<void> | null = null;
  private readonly wakeup = new Wakeup();
  private failures = 0;
  /** Another process holds the store's applier lock (SQLite): waiting for it, said once. */
  private isStandingBy = false;

  /** Its own claims where appliers claim, else the store's one applier. */
  private readonly applier: Applier;

  constructor(
    appliers: Appliers,
    private readonly options: ApplierLoopOptions,
  ) {
    this.applier = appliers.hasConcurrentClaims ? appliers.claim(this.applierId, options.leaseMs) : appliers.applier;
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
    this.wakeup.wake();
  }

  private async loop(): Promise<void> {
    const { logger } = this.options;
    while (!this.isStopping) {
      try {
        this.wakeup.clear();
        const applied = await this.runOnce();
        this.failures = 0;
        if (this.isStandingBy) logger.info({ applierId: this.applierId }, 'took over applying the queue');
        this.isStandingBy = false;
        if (applied === 0) await this.wakeup.idle(this.options.idlePollMs);
        // Give the event loop a turn before each batch: on an embedded store applying blocks it,
        // and the requests whose commit woke us must be answered before it does.
        await new Promise((resolve) => setImmediate(resolve));
      } catch (err) {
        if (err instanceof ApplierLockedError) {
          if (!this.isStandingBy) logger.warn({ applierId: this.applierId }, `${err.message}: this applier stands by, and takes over when that process stops`);
          else logger.debug({ applierId: this.applierId }, 'still standing by: another process holds the applier lock');
          this.isStandingBy = true;
          await sleep(STANDBY_POLL_MS);
          continue;
        }
        this.failures++;
        const delay = Math.min(100 * 2 ** this.failures, 5_000);
        logger.error({ err, applierId: this.applierId, retryInMs: delay }, 'applying write transactions failed; retrying');
        await sleep(delay);
      }
    }
  }

  /** Applies one batch; returns how many write transactions it applied. */
  async runOnce(): Promise<number> {
    const { batchSize, onApplied } = this.options;
    const results = new Map<string, RecordResult[]>();
    const events = new Map<string, number>();
    const reduce: ApplyReducer = (batch, snapshot, now) => {
      const out = reduceWriteTransactions(batch, snapshot, now);
      for (const [transid, own] of out.results) results.set(transid, own);
      for (const e of out.changes.events) events.set(e.body.transid, (events.get(e.body.transid) ?? 0) + 1);
      return out;
    };
    const applied = await this.applier.applyNext(batchSize, keysOf, reduce);
    if (applied.length > 0) {
      onApplied(applied.map(({ transid, tenantId, acceptedAt }) => ({ transid, tenantId, acceptedAt, codeCounts: countCodes(results.get(transid) ?? []), events: events.get(transid) ?? 0 })));
    }
    return applied.length;
  }
}

/** The applier loops of one process, woken by this process's commits and, where the store can, by other nodes' (LISTEN/NOTIFY). */
export class ApplierLoops {
  readonly loops: ApplierLoop[];
  private unwatch: (() => Promise<void>) | null = null;

  constructor(
    private readonly store: Pick<Store, 'appliers' | 'capabilities' | 'journal'>,
    /** Loops in this process; a store without concurrent claims (SQLite) gets one. */
    concurrency: number,
    options: ApplierLoopOptions,
  ) {
    const count = store.appliers.hasConcurrentClaims ? concurrency : 1;
    this.loops = Array.from({ length: count }, () => new ApplierLoop(store.appliers, options));
  }

  async start(onWatchError: (err: unknown) => void): Promise<void> {
    const { journal } = this.store;
    if (this.store.capabilities.canWakeAppliers && journal.watchForWork) {
      this.unwatch = await journal.watchForWork(() => this.wake()).catch((err) => {
        onWatchError(err);
        return null;
      });
    }
    for (const loop of this.loops) loop.start();
  }

  wake(): void {
    for (const loop of this.loops) loop.wake();
  }

  /** Each loop finishes the batch in hand, then stops. */
  async stop(): Promise<void> {
    await this.unwatch?.();
    await Promise.all(this.loops.map((l) => l.stop()));
  }
}
