/**
 * The idle wait of a loop that others wake (the applier's loop, a webhook endpoint's deliverer):
 * `idle` ends when `wake` is called or after `ms`. A wake while the loop is busy is kept, so the
 * next `idle` ends at once: it may be for work the step in hand missed. The loop calls `clear`
 * before each step.
 */
export class Wakeup {
  private wakeUp: (() => void) | null = null;
  private isWoken = false;

  wake(): void {
    if (this.wakeUp) this.wakeUp();
    else this.isWoken = true;
  }

  /** Forgets the wakes so far: the step about to run sees their work. */
  clear(): void {
    this.isWoken = false;
  }

  idle(ms: number): Promise<void> {
    if (this.isWoken) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }
}
