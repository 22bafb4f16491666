import { EventEmitter } from 'node:events';
import type { WriteTransactionStatus } from '../model/write-transaction.js';
import type { Journal } from '../storage/ports.js';

/** Longest `Prefer: wait` (contract §8). */
export const MAX_WAIT_S = 30;
/** How often a waiter re-reads the status, for appliers in other processes. */
const POLL_MS = 200;

/** Stage 5, status: reads write transaction status for a tenant; can wait for one to finish. */
export class StatusReader {
  constructor(
    private readonly journal: Journal,
    private readonly events: AppliedEvents,
  ) {}

  get(tenantId: number, transid: string): Promise<WriteTransactionStatus | null> {
    return this.journal.getWriteTransactionStatus(tenantId, transid);
  }

  /** The status once `done`, or as it is after `ms`. */
  async waitFor(tenantId: number, transid: string, ms: number): Promise<WriteTransactionStatus | null> {
    const deadline = Date.now() + ms;
    for (;;) {
      const status = await this.get(tenantId, transid);
      const left = deadline - Date.now();
      if (!status || status.state === 'done' || left <= 0) return status;
      await this.events.waitFor(transid, Math.min(left, POLL_MS));
    }
  }
}

/**
 * Tells waiters in this process that write transactions were applied (for `Prefer: wait`). Appliers
 * in other processes are seen by polling the status instead.
 */
/** The event of every announcement (a symbol: no transid can take it). */
const ANY = Symbol('applied');

export class AppliedEvents {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  announce(transids: readonly string[]): void {
    for (const transid of transids) this.emitter.emit(transid);
    if (transids.length > 0) this.emitter.emit(ANY);
  }

  /** Resolves true when anything is applied in this process, false after `ms` (the change feed's long poll). */
  waitForAny(ms: number): Promise<boolean> {
    return this.waitFor(ANY, ms);
  }

  /** Resolves true when `transid` is announced, false after `ms`. */
  waitFor(transid: string | typeof ANY, ms: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const onApplied = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.emitter.off(transid, onApplied);
        resolve(false);
      }, ms);
      this.emitter.once(transid, onApplied);
    });
  }
}
