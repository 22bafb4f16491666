import { describe, expect, it } from 'vitest';
import { Wakeup } from '../../src/wakeup.js';

describe('Wakeup', () => {
  it('ends an idle wait when woken, and keeps a wake that came while busy for the next wait', async () => {
    const w = new Wakeup();
    const waiting = w.idle(60_000);
    w.wake();
    await waiting;
    w.clear();
    w.wake(); // busy: no wait in progress
    await w.idle(60_000); // ends at once (vitest's timeout fails the test otherwise)
  });

  it('keeps a wake that comes after a wait ended by its timer (the finished wait does not take it)', async () => {
    const w = new Wakeup();
    await w.idle(1);
    w.clear();
    w.wake();
    await w.idle(60_000);
  });

  it('forgets the wakes before clear', async () => {
    const w = new Wakeup();
    w.wake();
    w.clear();
    let isDone = false;
    const waiting = w.idle(60_000).then(() => (isDone = true));
    await Promise.resolve();
    expect(isDone).toBe(false);
    w.wake();
    await waiting;
    expect(isDone).toBe(true);
  });
});
