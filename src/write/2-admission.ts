import { ApiError } from '../domain/errors.js';
import type { QueueStats } from '../model/write-transaction.js';
import type { Journal } from '../storage/ports.js';

/** Seconds a client should wait before retrying a write the queue could not take. */
export const RETRY_AFTER_S = 2;

/** Longest a write waits for the queue to drop below its soft limit before it is refused, ms. */
const ADMIT_WAIT_MS = 10_000;

interface Waiter {
  records: number;
  admit(): void;
}

/**
 * Admission, the whole policy: whether a checked write may be queued now (`admit`). It keeps a
 * cached view of the queue's depth, in all and per tenant, refreshed from the store every
 * `intervalMs` and moved by what this process accepts and applies in between, so the check costs
 * no query per request.
 */
export class Admission {
  private stats: QueueStats = { depth: 0, depthRecords: 0, oldestAcceptedAt: null, recordsByTenant: new Map() };
  private acceptedSinceRefresh = 0;
  private appliedSinceRefresh = 0;
  /** Records accepted minus records applied in this process since the refresh, per tenant. */
  private readonly tenantDelta = new Map<number, number>();
  private timer: NodeJS.Timeout | null = null;
  /** Writes waiting for room, per tenant; tenants take turns, so one tenant's backlog never queues another's writes behind it. */
  private readonly waiters = new Map<number, Waiter[]>();

  constructor(
    private readonly journal: Journal,
    /** Most records the queue holds before writes are refused with 7902. */
    readonly maxRecords: number,
    /** Past this many queued records, writes wait for the appliers before they are queued. */
    readonly softLimitRecords = maxRecords,
  ) {}

  async refresh(): Promise<void> {
    this.stats = await this.journal.queueStats();
    this.acceptedSinceRefresh = 0;
    this.appliedSinceRefresh = 0;
    this.tenantDelta.clear();
    this.admitWaiting();
  }

  start(intervalMs: number, onError: (err: unknown) => void): void {
    this.timer = setInterval(() => this.refresh().catch(onError), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  get current(): QueueStats {
    return this.stats;
  }

  /** Records queued, as far as this process knows. */
  get depthRecords(): number {
    return Math.max(0, this.stats.depthRecords + this.acceptedSinceRefresh - this.appliedSinceRefresh);
  }

  /** Records of `tenantId` queued, as far as this process knows. */
  tenantRecords(tenantId: number): number {
    return Math.max(0, (this.stats.recordsByTenant.get(tenantId) ?? 0) + (this.tenantDelta.get(tenantId) ?? 0));
  }

  /**
   * Resolves once the write may be queued; refuses it with 7902 (HTTP 503) if the queue is full
   * (`maxRecords`) or if it may not be queued within `ms`. At once while
   * the queue is below the soft limit and nobody waits, and at once for a tenant within its fair
   * share: the soft limit divided among the tenants with records queued or waiting, so a tenant
   * that floods the queue never makes a quiet tenant's writes wait. (The queue can so hold up to
   * twice the soft limit; the hard limit is checked before.) Past that, writes wait for the room
   * that applied work frees, tenants taking turns, each tenant's writes in arrival order. Holding
   * writes back while the appliers catch up keeps the lag bounded and, on the embedded store,
   * leaves the applier's thread the CPU that accepting more would take.
   */
  admit(tenantId: number, records: number, ms = ADMIT_WAIT_MS): Promise<void> {
    if (this.depthRecords + records > this.maxRecords) {
      return Promise.reject(new ApiError('7902', `The queue holds ${this.depthRecords} records, its limit; retry later`, [], 503, RETRY_AFTER_S));
    }
    if (this.waiters.size === 0 && this.depthRecords < this.softLimitRecords) return Promise.resolve();
    if (!this.waiters.has(tenantId) && this.tenantRecords(tenantId) + records <= this.fairShare(tenantId)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        records,
        admit: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        const queue = this.waiters.get(tenantId);
        queue?.splice(queue.indexOf(waiter), 1);
        if (queue?.length === 0) this.waiters.delete(tenantId);
        reject(new ApiError('7902', `The queue holds ${this.depthRecords} records and the appliers did not catch up within ${ms / 1000} s; retry later`, [], 503, RETRY_AFTER_S));
      }, ms);
      timer.unref();
      const queue = this.waiters.get(tenantId);
      if (queue) queue.push(waiter);
      else this.waiters.set(tenantId, [waiter]);
    });
  }

  /** Records of `tenantId` applied in this process (its applier loops). */
  noteApplied(tenantId: number, records: number): void {
    this.appliedSinceRefresh += records;
    this.tenantDelta.set(tenantId, (this.tenantDelta.get(tenantId) ?? 0) - records);
    this.admitWaiting();
  }

  /** The soft limit shared among the tenants with records queued or writes waiting, `tenantId` counted in. */
  private fairShare(tenantId: number): number {
    const active = new Set(this.waiters.keys());
    active.add(tenantId);
    for (const id of this.stats.recordsByTenant.keys()) if (this.tenantRecords(id) > 0) active.add(id);
    for (const id of this.tenantDelta.keys()) if (this.tenantRecords(id) > 0) active.add(id);
    return this.softLimitRecords / active.size;
  }

  private admitWaiting(): void {
    let room = this.softLimitRecords - this.depthRecords;
    // One write per tenant per turn; a tenant that was served goes to the back of the line.
    while (this.waiters.size > 0 && room > 0) {
      const [tenantId, queue] = this.waiters.entries().next().value!;
      const waiter = queue.shift()!;
      this.waiters.delete(tenantId);
      if (queue.length > 0) this.waiters.set(tenantId, queue);
      room -= waiter.records;
      waiter.admit();
    }
  }

  noteAccepted(tenantId: number, records: number): void {
    this.acceptedSinceRefresh += records;
    this.tenantDelta.set(tenantId, (this.tenantDelta.get(tenantId) ?? 0) + records);
  }
}
