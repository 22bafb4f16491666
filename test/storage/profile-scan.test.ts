import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TenantAdmin } from '../../src/domain/tenant-admin.js';
import type { OpenedStore } from '../../src/open-store.js';
import { type CustomerProfiles, type MasterPageQuery, NotFoundError } from '../../src/storage/ports.js';
import { openRawStore, type RawStore } from '../support/raw-store.js';
import { openTestStore, selectedBackends, type TestStore } from '../support/storage-backends.js';

const id = (n: number) => `c${String(n).padStart(6, '0')}`;
const page = (q: Partial<MasterPageQuery>): MasterPageQuery => ({ after: null, limit: 1000, updatedSince: null, where: [], ...q });
const APP_INSERT = 'INSERT INTO app_profiles (tenant_id, appid, customer_id, device_id, user_id, attributes, created_at, updated_at) VALUES ($1, $2, $3, $4, NULL, $5, $6, $7)';

/** Every batch of a snapshot, read to its end. */
async function batchesOf<T>(snapshot: AsyncIterable<T[]>): Promise<T[][]> {
  const out: T[][] = [];
  for await (const batch of snapshot) out.push(batch);
  return out;
}

describe.each(selectedBackends())('ProfileScan: %s', (backend) => {
  let store: TestStore;
  let s: OpenedStore;
  let raw: RawStore;
  let tenantId: number;
  let otherTenantId: number;

  beforeEach(async () => {
    store = await openTestStore(backend);
    s = store.storage;
    raw = await openRawStore(store.env);
    const admin = new TenantAdmin(s);
    tenantId = (await admin.createTenant('scan')).tenant.id;
    otherTenantId = (await admin.createTenant('other')).tenant.id;
    await admin.createApp(tenantId, 'rt', 'app-rt');
    await admin.createApp(tenantId, 'fb', 'app-fb');
  });
  afterEach(async () => {
    await raw.close();
    await store.dispose();
  });

  it('lists 10,000 profiles in pages of 1,000, each exactly once, while other customers are created, updated and deleted between pages', async () => {
    await raw.seedMasters(tenantId, 0, 10_000, (n) => ({ customerId: id(n), attributes: { name: `N${n}` } }), 1000);
    // Other customers, some of them deleted during the listing; their ids sort between the listed ones.
    await raw.seedMasters(tenantId, 0, 10_000, (n) => ({ customerId: `${id(n)}-other`, attributes: { name: 'other' } }), 1000);
    await raw.seedMasters(otherTenantId, 0, 100, (n) => ({ customerId: id(n), attributes: { name: 'foreign' } }));
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const rows = await s.profileScan.pageMasters(tenantId, page({ after, limit: 1000 }));
      if (rows.length === 0) break;
      pages++;
      expect(rows.length).toBeLessThanOrEqual(1000);
      seen.push(...rows.map((r) => r.customerId));
      after = rows[rows.length - 1].customerId;
      // Writes to other customers before, at and after the cursor: creates, updates, deletes.
      for (let k = 0; k < 50; k++) {
        const n = (pages * 997 + k * 211) % 10_000;
        await raw.run('INSERT INTO master_profiles (tenant_id, customer_id, attributes, created_at, updated_at) VALUES ($1, $2, $3, 5, 5)', [tenantId, `${id(n)}-new${pages}`, '{}']);
        await raw.run('UPDATE master_profiles SET attributes = $1, updated_at = 9 WHERE tenant_id = $2 AND customer_id = $3', ['{"name":"moved"}', tenantId, `${id((n + 1) % 10_000)}-other`]);
        await raw.run('DELETE FROM master_profiles WHERE tenant_id = $1 AND customer_id = $2', [tenantId, `${id((n + 2) % 10_000)}-other`]);
      }
    }
    const listed = seen.filter((c) => /^c\d{6}$/.test(c));
    expect(listed).toEqual(Array.from({ length: 10_000 }, (_, n) => id(n)));
    expect(new Set(seen).size).toBe(seen.length);
    expect(pages).toBeGreaterThanOrEqual(20);
  });

  it('filters by updatedSince and by customerId, and never lists another tenant\'s profiles', async () => {
    await raw.seedMasters(tenantId, 0, 10, (n) => ({ customerId: id(n), attributes: {} }), 1000);
    await raw.seedMasters(tenantId, 10, 20, (n) => ({ customerId: id(n), attributes: {} }), 5000);
    await raw.seedMasters(otherTenantId, 0, 30, (n) => ({ customerId: id(n), attributes: {} }), 9000);
    expect((await s.profileScan.pageMasters(tenantId, page({ updatedSince: 5000 }))).map((r) => r.customerId)).toEqual(Array.from({ length: 10 }, (_, n) => id(n + 10)));
    expect((await s.profileScan.pageMasters(tenantId, page({ updatedSince: 5000, after: id(15), limit: 2 }))).map((r) => r.customerId)).toEqual([id(16), id(17)]);
    expect((await s.profileScan.pageMasters(tenantId, page({ where: [{ name: 'customerId', values: [id(3), id(25), 'nobody'] }] }))).map((r) => r.customerId)).toEqual([id(3)]);
    expect(await s.profileScan.pageMasters(tenantId, page({ updatedSince: 9000 }))).toEqual([]);
  });

  describe('finding by an indexed attribute among 100,000 profiles', () => {
    beforeEach(async () => {
      await raw.seedMasters(tenantId, 0, 100_000, (n) => ({
        customerId: id(n),
        attributes: { name: `N${n}`, email: `user${n}@example.com`, msisdn: `+44770${String(n).padStart(7, '0')}`, ...(n % 1000 === 0 && { dob: `19${String(n / 1000).padStart(2, '0')}-01-01` }) },
      }));
      // Stored as a number: not found by its text (finds match strings).
      await raw.run('INSERT INTO master_profiles (tenant_id, customer_id, attributes, created_at, updated_at) VALUES ($1, $2, $3, 1, 1)', [tenantId, 'numeric', '{"msisdn":447700000042}']);
      await raw.analyze();
    }, 120_000);

    const planText = async (q: MasterPageQuery) => (await s.profileScan.planOf(tenantId, q)).join('\n');
    /** Whether the plan reads the index, and does not scan the table or walk the primary key. */
    const expectIndexed = (plan: string, index: string) => {
      expect(plan).toMatch(new RegExp(backend === 'sqlite' ? `USING INDEX ${index} \\(tenant_id=\\? AND <expr>=\\?` : `Index Scan (using|on) ${index}`));
      expect(plan).not.toMatch(/SCAN master_profiles|Seq Scan|USING PRIMARY KEY|master_profiles_pkey/);
    };

    it('finds by email and by msisdn from their indexes (EXPLAIN)', async () => {
      const byEmail = page({ limit: 101, where: [{ name: 'email', values: ['user4242@example.com'] }] });
      expect((await s.profileScan.pageMasters(tenantId, byEmail)).map((r) => [r.customerId, r.attributes.email])).toEqual([[id(4242), 'user4242@example.com']]);
      expectIndexed(await planText(byEmail), 'master_attr_email');

      const byMsisdn = page({ limit: 101, where: [{ name: 'msisdn', values: ['+447700000042', '+447700099999'] }] });
      expect((await s.profileScan.pageMasters(tenantId, byMsisdn)).map((r) => r.customerId)).toEqual([id(42), id(99_999)]);
      expectIndexed(await planText(byMsisdn), 'master_attr_msisdn');
      // Another tenant's profile with the same email is not found.
      await raw.seedMasters(otherTenantId, 0, 1, () => ({ customerId: 'theirs', attributes: { email: 'user4242@example.com' } }));
      expect(await s.profileScan.pageMasters(otherTenantId, byMsisdn)).toEqual([]);
      expect((await s.profileScan.pageMasters(otherTenantId, byEmail)).map((r) => r.customerId)).toEqual(['theirs']);
    });

    it('indexes a custom attribute on demand (indexMasterAttribute) and finds by it from that index', async () => {
      await new TenantAdmin(s).addAttribute(tenantId, { name: 'dob', type: 'date' });
      const def = await s.profileScan.indexMasterAttribute(tenantId, 'dob');
      expect(def).toMatchObject({ name: 'dob', scope: 'master', isIndexed: true });
      expect((await s.directory.load()).attributes.find((a) => a.tenantId === tenantId && a.name === 'dob')?.isIndexed).toBe(true);
      await raw.analyze();
      const q = page({ limit: 101, where: [{ name: 'dob', values: ['1942-01-01'] }] });
      expect((await s.profileScan.pageMasters(tenantId, q)).map((r) => r.customerId)).toEqual([id(42_000)]);
      expectIndexed(await planText(q), 'master_attr_dob');
      // Again: nothing to build, the flag stays.
      await expect(s.profileScan.indexMasterAttribute(tenantId, 'dob')).resolves.toMatchObject({ isIndexed: true });
      await expect(s.profileScan.indexMasterAttribute(tenantId, 'nosuch')).rejects.toBeInstanceOf(NotFoundError);
    }, 60_000);
  });

  describe('snapshots', () => {
    /** 20 master profiles; c000003 has two rt devices and an fb profile; c000100 and c000101 have app profiles only (c000101: 9 devices). */
    beforeEach(async () => {
      await raw.seedMasters(tenantId, 0, 20, (n) => ({ customerId: id(n), attributes: { name: `N${n}` } }), 1000);
      await raw.run(APP_INSERT, [tenantId, 'app-rt', id(3), 'phone', '{"deviceId":"phone"}', 2000, 2000]);
      await raw.run(APP_INSERT, [tenantId, 'app-rt', id(3), 'ipad', '{"deviceId":"ipad"}', 2000, 2000]);
      await raw.run(APP_INSERT, [tenantId, 'app-fb', id(3), '', '{"status":"1"}', 2000, 2000]);
      await raw.run(APP_INSERT, [tenantId, 'app-fb', id(100), '', '{"status":"0"}', 2000, 2000]);
      for (let d = 0; d < 9; d++) await raw.run(APP_INSERT, [tenantId, 'app-rt', id(101), `d${d}`, `{"deviceId":"d${d}"}`, 2000, 2000]);
      await raw.seedMasters(otherTenantId, 0, 5, (n) => ({ customerId: id(n), attributes: {} }));
    });

    const shape = (c: CustomerProfiles) => [c.customerId, c.master ? JSON.parse(c.master.attributesJson).name : null, c.apps.map((a) => `${a.appid}/${a.deviceId}`)];

    it('reads every customer in batches of at most the batch size: masters in order with their app profiles, then customers with app profiles only, each whole', async () => {
      const snapshot = await s.profileScan.snapshotCustomers(tenantId, { batchSize: 7, isCounted: true });
      expect(snapshot.total).toBe(22);
      const batches = await batchesOf(snapshot);
      expect(batches.map((b) => b.length)).toEqual([7, 7, 6, 1, 1]);
      const all = batches.flat();
      expect(all.map((c) => c.customerId)).toEqual([...Array.from({ length: 20 }, (_, n) => id(n)), id(100), id(101)]);
      expect(shape(all[3])).toEqual([id(3), 'N3', ['app-fb/', 'app-rt/ipad', 'app-rt/phone']]);
      expect(shape(all[20])).toEqual([id(100), null, ['app-fb/']]);
      // A customer whose app profiles are more than a batch comes whole, alone in its batch.
      expect(shape(all[21])).toEqual([id(101), null, Array.from({ length: 9 }, (_, d) => `app-rt/d${d}`)]);
      expect(all[4].master).toMatchObject({ tenantId, customerId: id(4), createdAt: 1000, updatedAt: 1000 });
    });

    it("reads one app's app profiles in batches of at most the batch size, by customerId and deviceId", async () => {
      const snapshot = await s.profileScan.snapshotApp(tenantId, 'app-rt', { batchSize: 4, isCounted: true });
      expect(snapshot.total).toBe(11);
      const batches = await batchesOf(snapshot);
      expect(batches.map((b) => b.length)).toEqual([4, 4, 3]);
      expect(batches.flat().map((a) => `${a.customerId}/${a.deviceId}`)).toEqual([`${id(3)}/ipad`, `${id(3)}/phone`, ...Array.from({ length: 9 }, (_, d) => `${id(101)}/d${d}`)]);
      expect(await batchesOf(await s.profileScan.snapshotApp(otherTenantId, 'app-rt', { batchSize: 4 }))).toEqual([]);
    });

    it('sees the store as it was when it opened, while another connection writes, and blocks no writer', async () => {
      const snapshot = await s.profileScan.snapshotCustomers(tenantId, { batchSize: 5 });
      expect(snapshot.total).toBeNull();
      // Written after the snapshot opened, before and after what it has read: none of it is seen.
      await raw.run('DELETE FROM master_profiles WHERE tenant_id = $1 AND customer_id = $2', [tenantId, id(15)]);
      await raw.run('UPDATE master_profiles SET attributes = $1 WHERE tenant_id = $2 AND customer_id = $3', ['{"name":"changed"}', tenantId, id(12)]);
      const read: CustomerProfiles[] = [];
      let batches = 0;
      for await (const batch of snapshot) {
        read.push(...batch);
        batches++;
        await raw.run('INSERT INTO master_profiles (tenant_id, customer_id, attributes, created_at, updated_at) VALUES ($1, $2, $3, 1, 1)', [tenantId, `${id(18)}-new${read.length}`, '{}']);
        await raw.run(APP_INSERT, [tenantId, 'app-fb', `z-new${read.length}`, '', '{}', 1, 1]);
      }
      expect(read.map((c) => c.customerId)).toEqual([...Array.from({ length: 20 }, (_, n) => id(n)), id(100), id(101)]);
      expect(read[12].master?.attributesJson).toBe('{"name":"N12"}');
      // The writes went through meanwhile, and a new snapshot sees them.
      const after = (await batchesOf(await s.profileScan.snapshotCustomers(tenantId, { batchSize: 100 }))).flat().map((c) => c.customerId);
      expect(after).not.toContain(id(15));
      expect(after.filter((c) => c.includes('-new'))).toHaveLength(2 * batches);
    });

    it('ends its database transaction when the loop breaks, and snapshots can be opened again and again', async () => {
      for (let round = 0; round < 15; round++) {
        const snapshot = await s.profileScan.snapshotCustomers(tenantId, { batchSize: 3 });
        for await (const batch of snapshot) {
          expect(batch).toHaveLength(3);
          break;
        }
      }
      // No snapshot left open holds a connection or the WAL: a writer and a full read still go through.
      await raw.run('DELETE FROM master_profiles WHERE tenant_id = $1', [tenantId]);
      expect((await batchesOf(await s.profileScan.snapshotCustomers(tenantId, { batchSize: 3 }))).flat().map((c) => c.customerId)).toEqual([id(3), id(100), id(101)]);
    });

    it('gives every app profile of a page\'s customers in one call, by customerId, appid, deviceId', async () => {
      const apps = await s.profileScan.appProfilesOf(tenantId, [id(101), id(3), id(4), id(3)]);
      expect(apps.map((a) => `${a.customerId}/${a.appid}/${a.deviceId}`)).toEqual([
        `${id(3)}/app-fb/`,
        `${id(3)}/app-rt/ipad`,
        `${id(3)}/app-rt/phone`,
        ...Array.from({ length: 9 }, (_, d) => `${id(101)}/app-rt/d${d}`),
      ]);
      expect(await s.profileScan.appProfilesOf(otherTenantId, [id(3)])).toEqual([]);
    });
  });
});

describe.each(selectedBackends())('ProfileScan on an empty tenant: %s', (backend) => {
  let store: TestStore;
  beforeAll(async () => {
    store = await openTestStore(backend);
  });
  afterAll(() => store.dispose());

  it('lists nothing and snapshots nothing', async () => {
    const { tenant } = await new TenantAdmin(store.storage).createTenant('empty');
    expect(await store.storage.profileScan.pageMasters(tenant.id, page({}))).toEqual([]);
    const snapshot = await store.storage.profileScan.snapshotCustomers(tenant.id, { batchSize: 10, isCounted: true });
    expect(snapshot.total).toBe(0);
    expect(await batchesOf(snapshot)).toEqual([]);
  });
});
