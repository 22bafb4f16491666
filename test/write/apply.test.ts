/**
 * The applier loop over a real SQLite store: a batch whose apply failed is applied next, before
 * anything newer, and nothing is applied twice.
 */
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_TENANT_SETTINGS } from '../../src/domain/tenant-settings.js';
import { loadConfig } from '../../src/config/config.js';
import { eraseApp } from '../../src/domain/erasure.js';
import { TenantAdmin } from '../../src/domain/tenant-admin.js';
import { type AppliedWriteTransaction, ApplierLoop } from '../../src/write/4-apply.js';
import { applierLoops } from '../../src/runtime.js';
import type { SqliteStore } from '../../src/storage/sqlite/sqlite-storage.js';
import { freshSqliteStore } from '../support/test-db.js';
import { newWriteTransaction } from '../support/write-transactions.js';

describe('applier loop', () => {
  let store: SqliteStore;
  let dispose: () => Promise<void>;
  let tenantId: number;
  const creates = (name: string) => newWriteTransaction(tenantId, Array.from({ length: 150 }, (_, i) => ({ customerId: `${name}-${i}`, attributes: { name } })));

  beforeEach(async () => {
    ({ store, dispose } = await freshSqliteStore());
    tenantId = (await store.directory.createTenant('worker', { ...DEFAULT_TENANT_SETTINGS }, [])).id;
  });
  afterEach(() => dispose());

  it('applies a batch whose apply failed next, from the same place, before newer write transactions and once only', async () => {
    const first = [creates('one'), creates('two')];
    await store.journal.enqueue(first, 86_400_000);
    const applied: AppliedWriteTransaction[] = [];
    const loop = new ApplierLoop(store.appliers, { batchSize: 10, leaseMs: 60_000, idlePollMs: 1000, logger: pino({ level: 'silent' }), onApplied: (a) => applied.push(...a) });
    vi.spyOn(store.appliers.applier, 'applyNext').mockRejectedValueOnce(new Error('disk hiccup'));
    await expect(loop.runOnce()).rejects.toThrow('disk hiccup');
    const later = creates('later');
    await store.journal.enqueue([later], 86_400_000);
    expect(await loop.runOnce()).toBe(3);
    expect(await loop.runOnce()).toBe(0);
    expect(applied.map((a) => a.transid)).toEqual([...first, later].map((w) => w.transid));
    expect(applied.every((a) => a.codeCounts['1000'] === 150)).toBe(true);
    for (const w of [...first, later]) expect((await store.journal.getWriteTransactionStatus(tenantId, w.transid))?.state).toBe('done');
  });

  it('finishes a write queued before its app was deleted with a per-record 7018, and goes on with the next writes', async () => {
    const admin = new TenantAdmin(store);
    await admin.createApp(tenantId, 'fb', 'gone');
    await admin.createApp(tenantId, 'fb', 'kept');
    const appWrite = (appid: string) => newWriteTransaction(tenantId, [{ customerId: 'c1', attributes: { psid: 'p' } }], { operation: 'createAppProfile', appid });
    const toGone = appWrite('gone');
    const toKept = appWrite('kept');
    await store.journal.enqueue([toGone, toKept], 86_400_000);
    await eraseApp(store, tenantId, 'gone');
    const applied: AppliedWriteTransaction[] = [];
    const loop = new ApplierLoop(store.appliers, { batchSize: 10, leaseMs: 60_000, idlePollMs: 1000, logger: pino({ level: 'silent' }), onApplied: (a) => applied.push(...a) });

    expect(await loop.runOnce()).toBe(2);
    expect(await store.journal.getWriteTransactionStatus(tenantId, toGone.transid)).toMatchObject({
      state: 'done',
      results: [{ customerId: 'c1', code: '7018', reason: expect.stringMatching(/deleted/) }],
    });
    expect((await store.journal.getWriteTransactionStatus(tenantId, toKept.transid))?.results).toEqual([{ customerId: 'c1', code: '1000' }]);
    expect(applied.map((a) => a.codeCounts)).toEqual([{ '7018': 1 }, { '1000': 1 }]);
    expect(await store.profiles.getAppProfiles(tenantId, 'gone', ['c1'])).toEqual([]);

    const next = appWrite('kept');
    await store.journal.enqueue([next], 86_400_000);
    expect(await loop.runOnce()).toBe(1);
    expect(await loop.runOnce()).toBe(0);
  });

  it('runs one applier loop on a store without concurrent claims, and says so when asked for more', () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
    const pool = applierLoops(loadConfig({ PROFILES_WORKER_CONCURRENCY: '4' }), store, logger, () => {});
    expect(pool.loops).toHaveLength(1);
    expect(lines.map((l) => JSON.parse(l))).toEqual([expect.objectContaining({ level: 40, concurrency: 4, msg: expect.stringContaining('one applier') })]);
    lines.length = 0;
    applierLoops(loadConfig({}), store, logger, () => {});
    expect(lines).toEqual([]);
  });
});
