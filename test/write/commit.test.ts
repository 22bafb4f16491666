/**
 * Group commit over a real SQLite store: what waits is committed in turns of a bounded number of
 * bytes, oldest first, and each write is answered when its own turn has committed.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { keysOf, reduceWriteTransactions } from '../../src/domain/apply.js';
import { GroupCommitter } from '../../src/write/3-commit.js';
import type { SqliteStore } from '../../src/storage/sqlite/sqlite-storage.js';
import type { EnqueueResult, NewWriteTransaction } from '../../src/model/write-transaction.js';
import { newWriteTransaction } from '../support/write-transactions.js';
import { freshSqliteStore } from '../support/test-db.js';
import { waitFor } from '../support/wait.js';

const records = (tenantId: number, count: number) =>
  newWriteTransaction(
    tenantId,
    Array.from({ length: count }, (_, i) => ({ customerId: `c${i}` })),
  );

/** Bytes of records in a `records(_, count)` write transaction. */
const bytesOf = (count: number) => records(1, count).recordsJson.length;
/** A turn's budget: four and a half 100-record writes. */
const budget = () => 4.5 * bytesOf(100);

describe('GroupCommitter', () => {
  let store: SqliteStore;
  let dispose: () => Promise<void>;
  beforeEach(async () => {
    ({ store, dispose } = await freshSqliteStore());
  });
  afterEach(() => dispose());

  it('commits what waits oldest first, in turns of at most its budget, and answers each write after its own turn', async () => {
    const commits: number[] = [];
    const committer = new GroupCommitter(store.journal, 86_400_000, (count) => commits.push(count), budget());
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
    expect(commits).toEqual([4, 3]);
    expect(answered).toEqual([
      'flood-0 after commit 1',
      'flood-1 after commit 1',
      'flood-2 after commit 1',
      'flood-3 after commit 1',
      'flood-4 after commit 2',
      'flood-5 after commit 2',
      'quiet after commit 2',
    ]);
    // Queued in the order they came.
    const stats = await store.journal.queueStats();
    expect(stats.recordsByTenant).toEqual(new Map([[1, 600], [2, 1]]));
    const order = (await store.appliers.applier.applyNext(100, keysOf, reduceWriteTransactions)).map((c) => `${c.tenantId}:${c.records.length}`);
    expect(order).toEqual(['1:100', '1:100', '1:100', '1:100', '1:100', '1:100', '2:1']);
  });

  it('lets a write that arrives between turns join the next turn', async () => {
    const commits: number[] = [];
    const committer = new GroupCommitter(store.journal, 86_400_000, (count) => {
      commits.push(count);
      // As a message from the server's thread would: in a later turn of the event loop.
      if (commits.length === 1) setImmediate(() => void submit('late', records(3, 1)));
    }, budget());
    const answered: string[] = [];
    const submit = (name: string, wt: NewWriteTransaction) =>
      committer.submit(wt).then(() => void answered.push(`${name} after commit ${commits.length}`));
    await Promise.all([...Array.from({ length: 6 }, (_, i) => submit(`flood-${i}`, records(1, 100))), submit('quiet', records(2, 1))]);
    await waitFor(() => answered.length === 8, { timeoutMs: 5_000, description: 'the late write answered too' });
    // Turn 1: flood-0 to flood-3. The late write came during it, and joins turn 2 with the rest.
    expect(commits).toEqual([4, 4]);
    expect(answered.filter((a) => !a.startsWith('flood'))).toEqual(['quiet after commit 2', 'late after commit 2']);
  });

  it('commits waiting writes in turns of its budget, and many small ones in one', async () => {
    const commits: number[] = [];
    const committer = new GroupCommitter(store.journal, 86_400_000, (count) => commits.push(count), budget());
    await Promise.all(Array.from({ length: 6 }, () => committer.submit(records(1, 100))));
    expect(commits).toEqual([4, 2]);
    // Small writes: many to a commit.
    commits.length = 0;
    await Promise.all(Array.from({ length: 50 }, () => committer.submit(records(1, 1))));
    expect(commits).toEqual([50]);
  });

  it('commits a write larger than a turn on its own', async () => {
    const sizes: number[][] = [];
    const committer = new GroupCommitter(store.journal, 86_400_000, undefined, bytesOf(50));
    const enqueue = store.journal.enqueue.bind(store.journal);
    vi.spyOn(store.journal, 'enqueue').mockImplementation((batch, windowMs) => {
      sizes.push(batch.map((wt) => wt.recordCount));
      return enqueue(batch, windowMs);
    });
    await Promise.all([committer.submit(records(1, 80)), committer.submit(records(1, 10)), committer.submit(records(2, 10))]);
    // The 80-record write, over the budget, alone; the two that follow it together.
    expect(sizes).toEqual([[80], [10, 10]]);
  });
});
