/**
 * Most bytes of bodies one tenant has parsed and validated in one turn of the event loop before
 * its next body waits for the next turn: about a millisecond of work on this machine
 * (`PROFILES_TENANT_TURN_BYTES`).
 */
export const TURN_BODY_BYTES = 64 * 1024;

/**
 * Stage 1, take: the server thread's heavy work per request (parsing a write's body and validating it), taken in
 * turns by tenant. Node otherwise handles requests that arrive together in arrival order, each to
 * its end: one tenant whose 50 connections send 100-record writes at once holds the event loop for
 * about 30 ms, and another tenant's one-record write, and its answer, wait behind all of them.
 *
 * Here a tenant's bodies are handled at once until, in this turn of the event loop, they add up to
 * `turnBytes`; past that, or while other tenants' bodies wait, they wait for a later turn. Each turn
 * gives every waiting tenant up to `turnBytes` (at least one body), in the order they began to
 * wait, and between turns the loop handles I/O. A quiet tenant's write thus waits for about one
 * budget of each other tenant's, and one tenant alone still has several bodies handled per turn
 * (which then travel to the committer's thread in one message).
 */
export class TenantTurns {
  /** Tasks waiting for a turn, per tenant; a Map keeps the order in which tenants began to wait. */
  private readonly waiting = new Map<number, Array<{ bytes: number; task: () => void }>>();
  /** Bytes each tenant has had handled in this turn of the event loop. */
  private readonly used = new Map<number, number>();
  private isScheduled = false;

  constructor(private readonly turnBytes = TURN_BODY_BYTES) {}

  /** Runs `task`, a body of `bytes`, now or in a later turn (see the class comment). `task` must not throw. */
  run(tenantId: number, bytes: number, task: () => void): void {
    if (this.waiting.size === 0 && (this.used.get(tenantId) ?? 0) < this.turnBytes) {
      this.runNow(tenantId, bytes, task);
      return;
    }
    const own = this.waiting.get(tenantId);
    if (own) own.push({ bytes, task });
    else this.waiting.set(tenantId, [{ bytes, task }]);
    this.schedule();
  }

  /** Bodies waiting for a turn. */
  get size(): number {
    let count = 0;
    for (const own of this.waiting.values()) count += own.length;
    return count;
  }

  private runNow(tenantId: number, bytes: number, task: () => void): void {
    this.used.set(tenantId, (this.used.get(tenantId) ?? 0) + bytes);
    // The budget is per turn of the event loop: the next one starts afresh.
    this.schedule();
    task();
  }

  private schedule(): void {
    if (this.isScheduled) return;
    this.isScheduled = true;
    setImmediate(() => this.nextTurn());
  }

  private nextTurn(): void {
    this.isScheduled = false;
    this.used.clear();
    for (const [tenantId, own] of [...this.waiting]) {
      do {
        const { bytes, task } = own.shift()!;
        this.runNow(tenantId, bytes, task);
      } while (own.length > 0 && this.used.get(tenantId)! < this.turnBytes);
      if (own.length === 0) this.waiting.delete(tenantId);
    }
  }
}
