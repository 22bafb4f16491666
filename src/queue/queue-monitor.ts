import type { QueueStats } from '../model/write-transaction.js';
import type { Journal } from '../storage/ports.js';

interface Waiter {
  records: number;
  admit(): void;
}

/**
 * A cached view of the queue's depth, in all and per tenant, refreshed from the store every
 * `intervalMs` and moved by what this process accepts and applies in between, so the bounded-queue
 * check costs no query per request. It also holds back writes while the queue is deeper than the
 * soft limit (see `admit`).
 */
export class QueueMonitor {
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
    /** Past this many queued records, writes wait for the workers before they are queued. */
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
   * Resolves true once the write may be queued, or false if it may not within `ms`. At once while
   * the queue is below the soft limit and nobody waits, and at once for a tenant within its fair
   * share: the soft limit divided among the tenants with records queued or waiting, so a tenant
   * that floods the queue never makes a quiet tenant's writes wait. (The queue can so hold up to
   * twice the soft limit; the hard limit is checked before.) Past that, writes wait for the room
   * that applied work frees, tenants taking turns, each tenant's writes in arrival order. Holding
   * writes back while the workers catch up keeps the lag bounded and, on the embedded store,
   * leaves the writer thread the CPU that accepting more would take.
   */
  admit(tenantId: number, records: number, ms: number): Promise<boolean> {
    if (this.waiters.size === 0 && this.depthRecords < this.softLimitRecords) return Promise.resolve(true);
    if (!this.waiters.has(tenantId) && this.tenantRecords(tenantId) + records <= this.fairShare(tenantId)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        records,
        admit: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      const timer = setTimeout(() => {
        const queue = this.waiters.get(tenantId);
        queue?.splice(queue.indexOf(waiter), 1);
        if (queue?.length === 0) this.waiters.delete(tenantId);
        resolve(false);
      }, ms);
      timer.unref();
      const queue = this.waiters.get(tenantId);
      if (queue) queue.push(waiter);
      else this.waiters.set(tenantId, [waiter]);
    });
  }

  /** Records of `tenantId` applied in this process (its workers or writer thread). */
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

  hasRoomFor(records: number): boolean {
    return this.depthRecords + records <= this.maxRecords;
  }

  noteAccepted(tenantId: number, records: number): void {
    this.acceptedSinceRefresh += records;
    this.tenantDelta.set(tenantId, (this.tenantDelta.get(tenantId) ?? 0) + records);
  }
}
