import { EventEmitter } from 'node:events';

/**
 * Tells waiters in this process that write transactions were applied (for `Prefer: wait`). Workers
 * in other processes are seen by polling the status instead.
 */
export class AppliedEvents {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  announce(transids: readonly string[]): void {
    for (const transid of transids) this.emitter.emit(transid);
  }

  /** Resolves true when `transid` is announced, false after `ms`. */
  waitFor(transid: string, ms: number): Promise<boolean> {
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
