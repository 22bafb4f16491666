import type { QueueStats, Storage } from '../storage/storage.js';

/**
 * A cached view of the queue's depth, refreshed from the store every `intervalMs` and moved by
 * what this process accepts in between, so the bounded-queue check costs no query per request.
 */
export class QueueMonitor {
  private stats: QueueStats = { depth: 0, depthRecords: 0, oldestAcceptedAt: null };
  private acceptedSinceRefresh = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly storage: Storage,
    /** Most records the queue holds before writes are refused with 7902. */
    readonly maxRecords: number,
  ) {}

  async refresh(): Promise<QueueStats> {
    const stats = await this.storage.queueStats();
    this.stats = stats;
    this.acceptedSinceRefresh = 0;
    return stats;
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
    return this.stats.depthRecords + this.acceptedSinceRefresh;
  }

  hasRoomFor(records: number): boolean {
    return this.depthRecords + records <= this.maxRecords;
  }

  noteAccepted(records: number): void {
    this.acceptedSinceRefresh += records;
  }
}
