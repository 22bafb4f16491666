import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exportTenant } from '../../src/bulk/export.js';
import { DirectoryCache } from '../../src/domain/directory.js';
import { TenantAdmin } from '../../src/domain/tenant-admin.js';
import type { ProfileScan, SnapshotBatches } from '../../src/storage/ports.js';
import { openRawStore } from '../support/raw-store.js';
import { openTestStore, selectedBackends, type TestStore } from '../support/storage-backends.js';

/**
 * The export reads its snapshot one batch at a time, as its reader takes chunks: what is in
 * memory is one batch, whatever the store's size (docs/bulk-data.md).
 */
describe.each(selectedBackends())('export batching: %s', (backend) => {
  let store: TestStore;
  let tenantId: number;
  let directory: DirectoryCache;
  /** Batches the export has asked its snapshot for, and how often it ended one. */
  const calls = { batches: 0, closes: 0, largest: 0 };

  /** The store's scan, counting what the export asks of its snapshots. */
  const counting = (scan: ProfileScan): Pick<ProfileScan, 'snapshotCustomers' | 'snapshotApp'> => {
    const watched = <T>(s: SnapshotBatches<T>): SnapshotBatches<T> => ({
      total: s.total,
      close: async () => {
        calls.closes++;
        await s.close();
      },
      [Symbol.asyncIterator]() {
        const it = s[Symbol.asyncIterator]();
        return {
          next: async () => {
            calls.batches++;
            const r = await it.next();
            if (!r.done) calls.largest = Math.max(calls.largest, r.value.length);
            return r;
          },
          return: async () => {
            calls.closes++;
            return it.return!();
          },
        };
      },
    });
    return {
      snapshotCustomers: async (t, o) => watched(await scan.snapshotCustomers(t, o)),
      snapshotApp: async (t, a, o) => watched(await scan.snapshotApp(t, a, o)),
    };
  };

  beforeEach(async () => {
    Object.assign(calls, { batches: 0, closes: 0, largest: 0 });
    store = await openTestStore(backend);
    tenantId = (await new TenantAdmin(store.storage).createTenant('batched')).tenant.id;
    const raw = await openRawStore(store.env);
    await raw.seedMasters(tenantId, 0, 95, (n) => ({ customerId: `c${String(n).padStart(3, '0')}`, attributes: { name: `N${n}` } }), 0);
    await raw.close();
    directory = new DirectoryCache(store.storage.directory);
    await directory.reload();
  });
  afterEach(() => store.dispose());

  it('reads the next batch only when the reader takes the next chunk, never more than the batch size', async () => {
    const chunks = exportTenant(counting(store.storage.profileScan), directory, { tenantId, format: 'ndjson', app: null, batchSize: 10 });
    const first = await chunks.next();
    expect(first.value.split('\n')).toHaveLength(11);
    expect(calls.batches).toBe(1);
    await chunks.next();
    expect(calls.batches).toBe(2);
    // A reader that stops (a client gone) ends the snapshot.
    await chunks.return(undefined);
    expect(calls.closes).toBeGreaterThanOrEqual(1);
  });

  it('writes every row, batch by batch, and ends the snapshot after the last', async () => {
    let text = '';
    let chunkCount = 0;
    for await (const chunk of exportTenant(counting(store.storage.profileScan), directory, { tenantId, format: 'csv', app: null, batchSize: 10 })) {
      text += chunk;
      chunkCount++;
    }
    expect(text.split('\n')).toHaveLength(97);
    // The header, then one chunk per batch of 10.
    expect(chunkCount).toBe(11);
    expect(calls.largest).toBe(10);
    expect(calls.closes).toBeGreaterThanOrEqual(1);
  });
});

/**
 * An NDJSON line writes the master's attributes as the store holds them, without parsing them: the
 * same bytes as serialising the parsed document, whatever the values (docs/bulk-data.md).
 */
describe.each(selectedBackends())('export lines: %s', (backend) => {
  let store: TestStore;
  afterEach(() => store.dispose());

  it('writes each line as JSON.stringify of the profile document would, for any stored value', async () => {
    store = await openTestStore(backend);
    const tenantId = (await new TenantAdmin(store.storage).createTenant('lines')).tenant.id;
    const values: Array<Record<string, unknown>> = [
      { name: 'Zoë "Q" \\ back/slash', emoji: '😀 ✓', tab: 'a\tb\nc' },
      { lone: '\ud800 and \udfff', nul: 'x\u0000y', empty: '' },
      { big: 1e21, small: -0.5, zero: 0, yes: true, no: false, 'spaced key': ' ' },
    ];
    const raw = await openRawStore(store.env);
    await raw.seedMasters(tenantId, 0, values.length, (n) => ({ customerId: `c${n}`, attributes: values[n] }), 1_796_637_600_123);
    await raw.close();
    const directory = new DirectoryCache(store.storage.directory);
    await directory.reload();
    let text = '';
    for await (const chunk of exportTenant(store.storage.profileScan, directory, { tenantId, format: 'ndjson', app: null })) text += chunk;
    const expected = values.map((attributes, n) =>
      JSON.stringify({ customerId: `c${n}`, attributes: JSON.parse(JSON.stringify(attributes)), appProfiles: [], createdAt: '2026-12-07T10:00:00.123Z', updatedAt: '2026-12-07T10:00:00.123Z' }),
    );
    expect(text).toBe(expected.map((line) => `${line}\n`).join(''));
    expect(text.trim().split('\n').map((line) => JSON.parse(line).attributes)).toEqual(values.map((v) => JSON.parse(JSON.stringify(v))));
  });
});
