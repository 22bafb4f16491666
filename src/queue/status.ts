import type { Journal } from '../storage/ports.js';
import type { WriteTransactionStatus } from '../model/write-transaction.js';
import type { AppliedEvents } from './applied-events.js';

/** Longest `Prefer: wait` (contract §8). */
export const MAX_WAIT_S = 30;
/** How often a waiter re-reads the status, for workers in other processes. */
const POLL_MS = 200;

/** Reads write transaction status for a tenant; can wait for one to finish. */
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

