/**
 * The queue's soft limit: past it, writes wait (in arrival order) until applied work makes room,
 * and give up after their wait. A real (empty) SQLite store answers the admission's refreshes.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Admission } from '../../src/write/2-admission.js';
import type { SqliteStore } from '../../src/storage/sqlite/sqlite-storage.js';
import { freshSqliteStore } from '../support/test-db.js';

/**
 * One turn of the event loop: every promise callback already due has run, so a write the admission
 * admitted (it admits synchronously, in `noteApplied` or `refresh`) has had its `then` run by now.
 */
const turn = () => new Promise((resolve) => setImmediate(resolve));

/** True once admitted, false when refused (7902). */
const outcome = (admission: Promise<void>) =>
  admission.then(
    () => true,
    () => false,
  );

describe('admission: the soft limit', () => {
  let store: SqliteStore;
  let dispose: () => Promise<void>;
  beforeEach(async () => {
    ({ store, dispose } = await freshSqliteStore());
  });
  afterEach(() => dispose());

  it('admits at once below the soft limit', async () => {
    const admission = new Admission(store.journal, 100, 10);
    admission.noteAccepted(1, 9);
    expect(await outcome(admission.admit(1, 5, 1000))).toBe(true);
  });

  it('holds a write past the soft limit until applied work makes room, then admits it', async () => {
    const admission = new Admission(store.journal, 100, 10);
    admission.noteAccepted(1, 12);
    let admitted: boolean | null = null;
    const waiting = outcome(admission.admit(1, 5, 5000)).then((a) => (admitted = a));
    await turn();
    expect(admitted).toBeNull();
    admission.noteApplied(1, 1); // 11 queued: still at the limit
    await turn();
    expect(admitted).toBeNull();
    admission.noteApplied(1, 4); // 7 queued
    await waiting;
    expect(admitted).toBe(true);
  });

  it('admits waiters in arrival order, before a newcomer', async () => {
    const admission = new Admission(store.journal, 100, 10);
    admission.noteAccepted(1, 10);
    const order: string[] = [];
    const first = outcome(admission.admit(1, 3, 5000)).then(() => order.push('first'));
    const second = outcome(admission.admit(1, 3, 5000)).then(() => order.push('second'));
    admission.noteApplied(1, 5); // 5 queued: room for both, in order
    const third = outcome(admission.admit(1, 1, 5000)).then(() => order.push('third'));
    await Promise.all([first, second, third]);
    expect(order).toEqual(['first', 'second', 'third']);
  });

  it('admits a tenant within its fair share at once, while a flooding tenant waits', async () => {
    const admission = new Admission(store.journal, 1000, 10);
    admission.noteAccepted(1, 12); // tenant 1 alone is past the soft limit
    let flooder: boolean | null = null;
    const flood = outcome(admission.admit(1, 2, 5000)).then((a) => (flooder = a));
    // Two tenants active: each may hold 5 records. Tenant 2 holds none, so its write goes in.
    expect(await outcome(admission.admit(2, 1, 5000))).toBe(true);
    admission.noteAccepted(2, 1);
    expect(await outcome(admission.admit(2, 4, 5000))).toBe(true);
    admission.noteAccepted(2, 4);
    // Past its share, tenant 2 waits too, like tenant 1.
    let victim: boolean | null = null;
    const over = outcome(admission.admit(2, 1, 5000)).then((a) => (victim = a));
    await turn();
    expect([flooder, victim]).toEqual([null, null]);
    admission.noteApplied(1, 12);
    admission.noteApplied(2, 5);
    expect(await Promise.all([flood, over])).toEqual([true, true]);
  });

  it('keeps a tenant\'s writes in arrival order: a waiting tenant does not jump its own line', async () => {
    const admission = new Admission(store.journal, 1000, 10);
    admission.noteAccepted(1, 10);
    admission.noteAccepted(2, 10);
    const order: string[] = [];
    const first = outcome(admission.admit(2, 1, 5000)).then(() => order.push('first'));
    admission.noteApplied(2, 10); // tenant 2 is now within its share, but its first write still waits
    const second = outcome(admission.admit(2, 1, 5000)).then(() => order.push('second'));
    admission.noteApplied(1, 10);
    await Promise.all([first, second]);
    expect(order).toEqual(['first', 'second']);
  });

  it('lets tenants past their share take turns: one tenant\'s backlog does not hold another\'s write behind it', async () => {
    const admission = new Admission(store.journal, 1000, 10);
    admission.noteAccepted(1, 10);
    admission.noteAccepted(2, 6);
    const order: string[] = [];
    const flood = Array.from({ length: 5 }, (_, i) => outcome(admission.admit(1, 2, 5000)).then(() => order.push(`flood-${i}`)));
    const victim = outcome(admission.admit(2, 1, 5000)).then(() => order.push('victim'));
    admission.noteApplied(1, 10); // 6 queued: room for 4 records: flood-0 (2), then the victim (1), then flood-1 (2)
    await victim;
    expect(order.slice(0, 2)).toEqual(['flood-0', 'victim']);
    admission.noteApplied(2, 100);
    await Promise.all(flood);
    expect(order).toEqual(['flood-0', 'victim', 'flood-1', 'flood-2', 'flood-3', 'flood-4']);
  });

  it('gives up after its wait when nothing is applied', async () => {
    const admission = new Admission(store.journal, 100, 10);
    admission.noteAccepted(1, 50);
    expect(await outcome(admission.admit(1, 1, 50))).toBe(false);
    // The one that gave up no longer blocks the next, once there is room.
    admission.noteApplied(1, 45);
    expect(await outcome(admission.admit(1, 1, 50))).toBe(true);
  });

  it('a refresh from the store (workers in other processes) also makes room', async () => {
    const admission = new Admission(store.journal, 100, 10);
    admission.noteAccepted(1, 30); // this process thinks 30 are queued; the store holds none
    const waiting = outcome(admission.admit(1, 1, 5000));
    await admission.refresh();
    expect(await waiting).toBe(true);
  });
});
