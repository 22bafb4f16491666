/**
 * Group commit over a real SQLite store: what waits is committed in turns of a bounded number of
 * bytes, tenants taking turns (the one with the least waiting first), and each write is answered
 * when its own turn has committed.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GroupCommitter } from '../../src/queue/group-commit.js';
import type { SqliteStorage } from '../../src/storage/sqlite/sqlite-storage.js';
import type { EnqueueResult, NewWriteTransaction } from '../../src/storage/storage.js';
import { newWriteTransaction } from '../support/write-transactions.js';
import { freshSqliteStore } from '../support/test-db.js';

const records = (tenantId: number, count: number) =>
  newWriteTransaction(
    tenantId,
    Array.from({ length: count }, (_, i) => ({ customerId: `c${i}` })),
  );

/** Bytes of records in a `records(_, count)` write transaction. */
const bytesOf = (count: number) => records(1, count).recordsJson.length;
/** Budgets in units of one 100-record write: four while one tenant waits, two and a half while several do. */
const budget = () => ({ oneTenant: 4 * bytesOf(100), shared: 2.5 * bytesOf(100) });

describe('GroupCommitter', () => {
  let store: SqliteStorage;
  let dispose: () => Promise<void>;
  beforeEach(async () => {
    ({ store, dispose } = await freshSqliteStore());
  });
  afterEach(() => dispose());

  it("commits a quiet tenant's write first, in a turn with little of a flood's, and answers it then", async () => {
    const commits: number[] = [];
    const committer = new GroupCommitter(store, 86_400_000, (count) => commits.push(count), budget());
    const answered: string[] = [];
    const submit = (name: string, wt: NewWriteTransaction) =>
      committer.submit(wt).then((r: EnqueueResult) => {
        expect(r.outcome).toBe('accepted');
        answered.push(`${name} after commit ${commits.length}`);
      });
    // Submitted in one turn of the event loop: six 100-record writes of tenant 1, then one of tenant 2.
    const flood = Array.from({ length: 6 }, (_, i) => submit(`flood-${i}`, records(1, 100)));
    const quiet = submit('quiet', records(2, 1));
    await Promise.all([...flood, quiet]);
    // While both tenants wait, the shared budget: the quiet write (the tenant with the least waiting
    // goes first), flood-0 and flood-1; then only tenant 1 waits, and the rest fit its budget.
    expect(commits).toEqual([3, 4]);
    expect(answered).toEqual([
      'quiet after commit 1',
      'flood-0 after commit 1',
      'flood-1 after commit 1',
      'flood-2 after commit 2',
      'flood-3 after commit 2',
      'flood-4 after commit 2',
      'flood-5 after commit 2',
    ]);
    // Each tenant's writes are queued in the order they came.
    const stats = await store.queueStats();
    expect(stats.recordsByTenant).toEqual(new Map([[1, 600], [2, 1]]));
    const order = (await store.claim('w', 100, 60_000)).map((c) => `${c.tenantId}:${c.records.length}`);
    expect(order).toEqual(['2:1', '1:100', '1:100', '1:100', '1:100', '1:100', '1:100']);
  });

  it('lets a write that arrives between turns join the next turn, not wait for the whole flood', async () => {
    const commits: number[] = [];
    const committer = new GroupCommitter(store, 86_400_000, (count) => {
      commits.push(count);
      // As a message from the server's thread would: in a later turn of the event loop.
      if (commits.length === 1) setImmediate(() => void submit('late', records(3, 1)));
    }, budget());
    const answered: string[] = [];
    const submit = (name: string, wt: NewWriteTransaction) =>
      committer.submit(wt).then(() => void answered.push(`${name} after commit ${commits.length}`));
    await Promise.all([...Array.from({ length: 6 }, (_, i) => submit(`flood-${i}`, records(1, 100))), submit('quiet', records(2, 1))]);
    await vi.waitFor(() => expect(answered).toHaveLength(8));
    // Turn 1: quiet, flood-0, flood-1. The late write came during it and goes first in turn 2, with
    // two of the flood's; the last two of the flood, alone, share turn 3.
    expect(commits).toEqual([3, 3, 2]);
    expect(answered.filter((a) => !a.startsWith('flood'))).toEqual(['quiet after commit 1', 'late after commit 2']);
  });

  it("commits one tenant's waiting writes in turns of its own budget", async () => {
    const commits: number[] = [];
    const committer = new GroupCommitter(store, 86_400_000, (count) => commits.push(count), budget());
    await Promise.all(Array.from({ length: 6 }, () => committer.submit(records(1, 100))));
    expect(commits).toEqual([4, 2]);
    // Small writes: many to a commit.
    commits.length = 0;
    await Promise.all(Array.from({ length: 50 }, () => committer.submit(records(1, 1))));
    expect(commits).toEqual([50]);
  });

  it('commits a write larger than a turn on its own', async () => {
    const sizes: number[][] = [];
    const committer = new GroupCommitter(store, 86_400_000, undefined, { oneTenant: bytesOf(50), shared: bytesOf(50) });
    const enqueue = store.enqueue.bind(store);
    vi.spyOn(store, 'enqueue').mockImplementation((batch, windowMs) => {
      sizes.push(batch.map((wt) => wt.recordCount));
      return enqueue(batch, windowMs);
    });
    await Promise.all([committer.submit(records(1, 80)), committer.submit(records(1, 10)), committer.submit(records(2, 10))]);
    // Tenant 2, with less waiting, first; tenant 1's 80-record write does not fit with it and goes
    // alone; tenant 1's second write, which must follow it, goes last.
    expect(sizes).toEqual([[10], [80], [10]]);
  });
});
