/**
 * The server's pipeline threads, the committer's and the applier's (as `main.ts` runs them):
 * writes are answered only once committed, a graceful stop answers everything it took, and a dead
 * thread refuses what it had not answered (7902) and is replaced by one that resumes the queue. On the server backend (SQLite files, or a PostgreSQL database with
 * `STORAGE_BACKENDS=postgres`), in a real worker thread (the compiled entry that `npm test` builds
 * first).
 */
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { DEFAULT_TENANT_SETTINGS } from '../../src/domain/tenant-settings.js';
import type { AppliedWriteTransaction } from '../../src/write/4-apply.js';
import { type PipelineThread, startPipelineThreads } from '../../src/write/threads.js';
import { applierLoops } from '../../src/runtime.js';
import { type Store, StorageUnavailableError } from '../../src/storage/ports.js';
import { openTestStore } from '../support/storage-backends.js';
import { serverBackend } from '../support/test-db.js';
import { waitFor } from '../support/wait.js';
import { newWriteTransaction } from '../support/write-transactions.js';

let n = 0;
const wt = (tenantId: number, customerId: string) =>
  newWriteTransaction(tenantId, [{ customerId, attributes: { name: `name ${++n}` } }], { operation: 'updateProfile', isUpsert: true });

describe(`pipeline threads (${serverBackend()})`, () => {
  let storeEnv: Record<string, string>;
  let store: Store;
  let dispose: () => Promise<void>;
  let tenantId: number;
  let writer: PipelineThread;
  let applier: PipelineThread | null;
  let applied: AppliedWriteTransaction[];

  const startWriter = async (env: Record<string, string> = {}) => {
    applied = [];
    // A dead thread's claims are taken back at once on SQLite, after the lease on PostgreSQL.
    const config = loadConfig({ ...storeEnv, PROFILES_LOG_LEVEL: 'silent', PROFILES_WORKER_LEASE_MS: '1000', ...env });
    const options = { config, idempotencyWindowMs: 86_400_000, logger: pino({ level: 'silent' }), onApplied: (a: AppliedWriteTransaction[]) => applied.push(...a), restartDelayMs: 50 };
    ({ committer: writer, applier } = await startPipelineThreads(options, config.hasApplier));
  };
  const stopWriter = async () => {
    await writer.stop();
    await applier?.stop();
  };
  const appliedSoon = (transids: string[]) =>
    waitFor(
      async () => {
        const statuses = await Promise.all(transids.map((t) => store.journal.getWriteTransactionStatus(tenantId, t)));
        return statuses.every((s) => s?.state === 'done') && statuses;
      },
      { timeoutMs: 10_000, description: `${transids.length} write transaction(s) applied` },
    );

  beforeEach(async () => {
    const opened = await openTestStore(serverBackend());
    storeEnv = opened.env;
    store = opened.storage;
    dispose = opened.dispose;
    tenantId = (await store.directory.createTenant('writer', { ...DEFAULT_TENANT_SETTINGS }, [])).id;
    await startWriter();
  });
  afterEach(async () => {
    await stopWriter();
    await dispose();
  });

  it('answers a write once it is committed, applies it, and reports it applied', async () => {
    const w = wt(tenantId, 'c1');
    expect(await writer.submit(w)).toEqual({ outcome: 'accepted', transid: w.transid });
    // Answered means committed: the queue row is there for any other connection.
    expect(await store.journal.getWriteTransactionStatus(tenantId, w.transid)).not.toBeNull();
    await appliedSoon([w.transid]);
    // The thread reports it after its commit, in a message of its own.
    await waitFor(() => applied.some((a) => a.transid === w.transid), { timeoutMs: 5_000, description: 'the thread to report the write applied' });
    const [master] = await store.profiles.getMasterProfiles(tenantId, ['c1']);
    expect(master.attributes).toEqual({ name: w.records![0].attributes!.name });
    expect(applied.map((a) => a.transid)).toContain(w.transid);
    expect(applied.find((a) => a.transid === w.transid)!.codeCounts).toEqual({ '1000': 1 });
    expect(writer.applierIds).toEqual([]);
    expect(applier!.applierIds).toHaveLength(1);
    expect(() => applier!.submit(wt(tenantId, 'nowhere'))).toThrow(/takes no writes/);
  });

  it('shares one message among the writes of one turn, and answers each its own transid', async () => {
    const batch = Array.from({ length: 50 }, (_, i) => wt(tenantId, `c${i}`));
    const results = await Promise.all(batch.map((w) => writer.submit(w)));
    expect(results.map((r) => r.transid)).toEqual(batch.map((w) => w.transid));
    await appliedSoon(batch.map((w) => w.transid));
  });

  it('a graceful stop answers every write it took and applies it', async () => {
    const batch = Array.from({ length: 20 }, (_, i) => wt(tenantId, `s${i}`));
    const answers = batch.map((w) => writer.submit(w));
    await stopWriter();
    expect((await Promise.all(answers)).every((r) => r.outcome === 'accepted')).toBe(true);
    // What was answered is in the store whether or not it was applied before the stop.
    for (const w of batch) expect(await store.journal.getWriteTransactionStatus(tenantId, w.transid)).not.toBeNull();
    await startWriter();
    await appliedSoon(batch.map((w) => w.transid));
  });

  it('when the thread dies, refuses what it had not answered with StorageUnavailableError, then a new thread takes writes and resumes the queue', async () => {
    const committed = wt(tenantId, 'before');
    await writer.submit(committed);
    expect(writer.isAvailable).toBe(true);
    const thread = (writer as unknown as { thread: { terminate(): Promise<number> } }).thread;
    const inFlight = writer.submit(wt(tenantId, 'lost'));
    await thread.terminate();
    await expect(inFlight).rejects.toBeInstanceOf(StorageUnavailableError);
    // /readyz says 503 meanwhile (it reads isAvailable).
    expect(writer.isAvailable).toBe(false);
    await expect(writer.submit(wt(tenantId, 'meanwhile'))).rejects.toBeInstanceOf(StorageUnavailableError);

    const after = await waitFor(
      () => {
        const w = wt(tenantId, 'after');
        return writer.submit(w).then(() => w);
      },
      { timeoutMs: 10_000, intervalMs: 50, description: 'a new writer thread to take a write' },
    );
    expect(writer.isAvailable).toBe(true);
    await appliedSoon([committed.transid, after.transid]);
  });

  it('when the applying thread dies, a new one goes on from the oldest write not yet applied', async () => {
    const before = wt(tenantId, 'applier-before');
    await writer.submit(before);
    await appliedSoon([before.transid]);
    const thread = (applier as unknown as { thread: { terminate(): Promise<number> } }).thread;
    await thread.terminate();
    // Committed while no thread applies; the new one (after restartDelayMs) applies it.
    const during = wt(tenantId, 'applier-during');
    expect(await writer.submit(during)).toEqual({ outcome: 'accepted', transid: during.transid });
    await appliedSoon([during.transid]);
    const [master] = await store.profiles.getMasterProfiles(tenantId, ['applier-during']);
    expect(master.attributes).toEqual({ name: during.records![0].attributes!.name });
  });

  it('the committer wakes the applier directly, also after either thread restarted', async () => {
    await stopWriter();
    // Idle appliers look for work once a minute: only the committer's wake applies a write sooner.
    await startWriter({ PROFILES_WORKER_POLL_MS: '60000' });
    const threadOf = (t: PipelineThread) => (t as unknown as { thread: { terminate(): Promise<number> } | null }).thread;
    const writeApplied = async (customerId: string) => {
      const w = wt(tenantId, customerId);
      await writer.submit(w);
      await appliedSoon([w.transid]);
    };
    await writeApplied('wake-first');
    for (const restarted of [applier!, writer]) {
      const old = threadOf(restarted);
      await old!.terminate();
      await waitFor(() => threadOf(restarted) !== old && restarted.isAvailable, { timeoutMs: 10_000, description: 'a new thread in its place' });
      await writeApplied(`wake-after-${restarted === writer ? 'committer' : 'applier'}-restart`);
    }
  });

  it('without the worker (`serve --no-worker`), commits writes and leaves them to a worker elsewhere', async () => {
    await stopWriter();
    await startWriter({ PROFILES_WORKER: 'false' });
    expect(applier).toBeNull();
    const w = wt(tenantId, 'api-only');
    expect(await writer.submit(w)).toEqual({ outcome: 'accepted', transid: w.transid });
    // Committed, and nothing in the process applies it: no applier's thread, no applier loop in the committer's.
    expect(writer.applierIds).toEqual([]);
    expect((await store.journal.getWriteTransactionStatus(tenantId, w.transid))!.state).toBe('queued');
    // Applier loops on another connection (as `openprofiles worker` has) apply it.
    const workers = applierLoops(loadConfig(storeEnv), store, pino({ level: 'silent' }), () => {});
    await workers.start((err) => {
      throw err;
    });
    try {
      await appliedSoon([w.transid]);
    } finally {
      await workers.stop();
    }
    expect(applied).toEqual([]);
  });
});
