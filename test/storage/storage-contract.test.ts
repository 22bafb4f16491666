import { createHash } from 'node:crypto';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_TENANT_SETTINGS } from '../../src/domain/tenant-settings.js';
import { purgeExpired } from '../../src/write/6-retention.js';
import { REMOVAL_LOCK } from '../../src/storage/postgres/postgres-directory.js';
import { CLAIM_RECORDS } from '../../src/storage/postgres/postgres-queue.js';
import type { AppProfileRow, ApplyReducer, KeysOf, ProfileSnapshot } from '../../src/model/profile.js';
import type { ClaimedWriteTransaction, NewWriteTransaction } from '../../src/model/write-transaction.js';
import { ConflictError, NotFoundError, StorageUnavailableError } from '../../src/storage/ports.js';
import type { RowCounts } from '../../src/model/directory.js';
import type { OpenedStore } from '../../src/open-store.js';
import { applierOf, openTestStore, selectedBackends, type TestStore } from '../support/storage-backends.js';
import { waitFor } from '../support/wait.js';
import { newWriteTransaction } from '../support/write-transactions.js';

const settings = { ...DEFAULT_TENANT_SETTINGS };
const master = [{ name: 'customerId', type: 'string' as const }, { name: 'name', type: 'string' as const }];
const wt = (tenantId: number, customerId: string, extra: Parameters<typeof newWriteTransaction>[2] = {}) =>
  newWriteTransaction(tenantId, [{ customerId, attributes: { name: customerId } }], extra);
const DAY = 86_400_000;

/** A small reducer for the contract: creates one master row per record. */
const keysOf: KeysOf = (batch) => ({
  masters: batch.flatMap((w) => w.records.map((r) => ({ tenantId: w.tenantId, customerId: r.customerId! }))),
  appCustomers: [],
  appUsers: [],
  customerApps: [],
  appids: [],
});
const upsertEach: ApplyReducer = (batch, snapshot, now) => ({
  changes: {
    masterUpserts: batch.flatMap((w) =>
      w.records.map((r) => ({ tenantId: w.tenantId, customerId: r.customerId!, attributes: { n: String(snapshot.masters.length) }, createdAt: now, updatedAt: now })),
    ),
    masterDeletes: [],
    appUpserts: [],
    appDeletes: [],
    events: [],
  },
  results: new Map(batch.map((w) => [w.transid, w.records.map((r) => ({ customerId: r.customerId!, code: '1000' as const }))])),
});

/** An import of two chunks of two rows each, the first chunk with two rejects (4 rows: 1 import, 2 chunks, 2 rejects). */
async function storeImport(s: OpenedStore, tenantId: number, id: string): Promise<void> {
  await s.imports.startImport(tenantId, { id, tenantId, format: 'ndjson', appid: null, source: `/tmp/${id}`, isUpload: false, fileHash: 'h', lineCount: 4, startedAt: 1 });
  for (const chunk of [0, 1]) {
    const lines = [2 * chunk + 1, 2 * chunk + 2];
    const rejects = chunk === 0 ? lines.map((line) => ({ line, code: '7011', errors: [{ reason: 'bad' }], raw: `{"customerId":"${line}"}` })) : [];
    const transid = createHash('sha256').update(`${id}:${chunk}`).digest('hex').replace(/^(.{8})(.{4}).(.{3}).(.{3})(.{12}).*$/, '$1-$2-4$3-8$4-$5');
    const plan = { chunk, transid, rows: 2, rejected: rejects.length, firstLine: lines[0], lastLine: lines[1], isAccepted: false, applied: null, skipped: null };
    await s.imports.saveChunks(tenantId, id, [{ chunk: plan, rejects }]);
  }
}

describe.each(selectedBackends())('storage contract: %s', (backend) => {
  let store: TestStore;
  let s: OpenedStore;
  beforeEach(async () => {
    store = await openTestStore(backend);
    s = store.storage;
  });
  afterEach(() => store.dispose());

  describe('migrations', () => {
    it.runIf(backend === 'postgres')("compresses the queue's records and results with lz4, not pglz (PostgreSQL)", async () => {
      const db = new pg.Client({ connectionString: store.env.PROFILES_DATABASE_URL });
      await db.connect();
      try {
        const { rows } = await db.query(
          "SELECT attname, attcompression FROM pg_attribute WHERE attrelid = 'write_transactions'::regclass AND attname IN ('records', 'results') ORDER BY attname",
        );
        expect(rows).toEqual([{ attname: 'records', attcompression: 'l' }, { attname: 'results', attcompression: 'l' }]);
      } finally {
        await db.end();
      }
    });

    it('applies nothing the second time', async () => {
      const again = await s.migrate();
      expect(again.applied).toEqual([]);
      expect(again.version).toBeGreaterThanOrEqual(1);
    });
  });

  describe('directory', () => {
    it('creates tenants with their master attributes, and refuses a taken name with ConflictError', async () => {
      const t = await s.directory.createTenant('acme', settings, master);
      expect(t).toMatchObject({ name: 'acme', settings, allowList: [] });
      await expect(s.directory.createTenant('acme', settings, master)).rejects.toBeInstanceOf(ConflictError);
      const dir = await s.directory.load();
      expect(dir.attributes.filter((a) => a.tenantId === t.id).map((a) => [a.scope, a.name])).toEqual([
        ['master', 'customerId'],
        ['master', 'name'],
      ]);
    });

    it('moves configVersion on every change', async () => {
      const versions = [await s.directory.configVersion()];
      const t = await s.directory.createTenant('v', settings, master);
      versions.push(await s.directory.configVersion());
      await s.directory.updateTenantSettings(t.id, { batchLimit: 5 });
      versions.push(await s.directory.configVersion());
      await s.directory.setAllowList(t.id, ['10.0.0.0/8']);
      versions.push(await s.directory.configVersion());
      await s.keys.createProfileKey(t.id, 'k1', 'ab'.repeat(32));
      versions.push(await s.directory.configVersion());
      await s.keys.revokeProfileKey(t.id, 'k1');
      versions.push(await s.directory.configVersion());
      await s.directory.createApp(t.id, 'app-1', 'fb', [{ name: 'psid', type: 'string' }]);
      versions.push(await s.directory.configVersion());
      await s.directory.defineAttributes(t.id, 'master', [{ name: 'dob', type: 'date' }]);
      versions.push(await s.directory.configVersion());
      expect(new Set(versions).size).toBe(versions.length);
      await s.directory.defineAttributes(t.id, 'master', [{ name: 'dob', type: 'date' }]);
      expect(await s.directory.configVersion()).toBe(versions.at(-1));
    });

    it('merges settings patches and keeps allow lists', async () => {
      const t = await s.directory.createTenant('settings', settings, master);
      const updated = await s.directory.updateTenantSettings(t.id, { responseFormat: 'batch' });
      expect(updated.settings).toEqual({ ...settings, responseFormat: 'batch' });
      await s.directory.setAllowList(t.id, ['127.0.0.1', '::1/128']);
      expect((await s.directory.getTenant(t.id))!.allowList).toEqual(['127.0.0.1', '::1/128']);
    });

    it('answers NotFoundError for a tenant that does not exist', async () => {
      await expect(s.directory.updateTenantSettings(999, { batchLimit: 2 })).rejects.toBeInstanceOf(NotFoundError);
      await expect(s.directory.setAllowList(999, [])).rejects.toBeInstanceOf(NotFoundError);
      await expect(s.keys.createProfileKey(999, 'k', 'cd'.repeat(32))).rejects.toBeInstanceOf(NotFoundError);
      await expect(s.directory.createApp(999, 'x', 'fb', [])).rejects.toBeInstanceOf(NotFoundError);
      await expect(s.directory.defineAttributes(999, 'master', [])).rejects.toBeInstanceOf(NotFoundError);
      expect(await s.directory.getTenant(999)).toBeNull();
    });

    it('keeps revoked keys out of the directory, and revokes only its own tenant\'s keys', async () => {
      const a = await s.directory.createTenant('a', settings, master);
      const b = await s.directory.createTenant('b', settings, master);
      await s.keys.createProfileKey(a.id, 'ka', '01'.repeat(32));
      expect(await s.keys.revokeProfileKey(b.id, 'ka')).toBe(false);
      expect((await s.directory.load()).keys.map((k) => k.keyId)).toEqual(['ka']);
      expect(await s.keys.revokeProfileKey(a.id, 'ka')).toBe(true);
      expect(await s.keys.revokeProfileKey(a.id, 'ka')).toBe(false);
      expect((await s.directory.load()).keys).toEqual([]);
      expect((await s.keys.listProfileKeys(a.id))[0].revokedAt).not.toBeNull();
    });

    it('refuses an appid taken by any tenant', async () => {
      const a = await s.directory.createTenant('a', settings, master);
      const b = await s.directory.createTenant('b', settings, master);
      await s.directory.createApp(a.id, 'shared', 'fb', []);
      await expect(s.directory.createApp(b.id, 'shared', 'fb', [])).rejects.toBeInstanceOf(ConflictError);
      expect(await s.directory.listApps(b.id)).toEqual([]);
    });

    it('keeps the directory across close and reopen', async () => {
      const t = await s.directory.createTenant('durable', settings, master);
      await s.keys.createProfileKey(t.id, 'kd', 'ef'.repeat(32));
      await s.directory.createApp(t.id, 'app-d', 'rt', [{ name: 'deviceId', type: 'string' }]);
      const before = await s.directory.load();
      await s.close();
      const reopened = store.reopen();
      expect(await reopened.directory.load()).toEqual(before);
      expect((await reopened.migrate()).applied).toEqual([]);
    });

    it('answers StorageUnavailableError once closed', async () => {
      await s.close();
      await expect(s.directory.listTenants()).rejects.toBeInstanceOf(StorageUnavailableError);
      await expect(s.journal.enqueue([wt(1, 'a')], DAY)).rejects.toBeInstanceOf(StorageUnavailableError);
    });

    it('gives each attribute definition one id, kept when defined again', async () => {
      const t = await s.directory.createTenant('a', settings, master);
      await s.directory.createApp(t.id, 'app-x', 'web', []);
      const [first] = await s.directory.defineAttributes(t.id, 'app-x', [{ name: 'extra', type: 'string' }]);
      const [again] = await s.directory.defineAttributes(t.id, 'app-x', [{ name: 'extra', type: 'integer' }]);
      expect(again).toEqual(first);
    });

    it("refuses attribute definitions for an appid the tenant has no app of, another tenant's included", async () => {
      const a = await s.directory.createTenant('a', settings, master);
      const b = await s.directory.createTenant('b', settings, master);
      await s.directory.createApp(b.id, 'app-b', 'web', []);
      await expect(s.directory.defineAttributes(a.id, 'app-b', [{ name: 'x', type: 'string' }])).rejects.toBeInstanceOf(NotFoundError);
      await expect(s.directory.defineAttributes(a.id, 'nowhere', [{ name: 'x', type: 'string' }])).rejects.toBeInstanceOf(NotFoundError);
      expect((await s.directory.load()).attributes.filter((d) => d.name === 'x')).toEqual([]);
    });
  });

  describe('write transactions', () => {
    let tenantId: number;
    beforeEach(async () => {
      tenantId = (await s.directory.createTenant('q', settings, master)).id;
    });

    /** Applies the next batch with a reducer that only looks; returns the batch. */
    const look = (limit = 10) => applierOf(s, 'w1', 60_000).applyNext(limit, keysOf, upsertEach);

    it('applies in acceptance order, at most `limit` at a time, and returns the batch', async () => {
      const items = ['a', 'b', 'c'].map((c) => wt(tenantId, c));
      await s.journal.enqueue(items, DAY);
      const applied = await look(2);
      expect(applied.map((c) => c.transid)).toEqual(items.slice(0, 2).map((i) => i.transid));
      expect(applied[0].seq).toBeLessThan(applied[1].seq);
      expect(applied[0].records).toEqual(items[0].records);
      expect((await look()).map((c) => c.transid)).toEqual([items[2].transid]);
      expect(await look()).toEqual([]);
    });

    it('bounds a claimed batch in records as well (where workers claim; SQLite takes `limit`, at most 1,000 records each)', async () => {
      // 27 write transactions of 1,000 records: the claim stops before the one that takes it past CLAIM_RECORDS.
      const thousand = (i: number) => Array.from({ length: 1000 }, (_, j) => ({ customerId: `c${i}-${j}` }));
      const items = Array.from({ length: 27 }, (_, i) => newWriteTransaction(tenantId, thousand(i)));
      await s.journal.enqueue(items, DAY);
      const lookOnly: ApplyReducer = () => ({ changes: { masterUpserts: [], masterDeletes: [], appUpserts: [], appDeletes: [], events: [] }, results: new Map() });
      const apply = async () => (await applierOf(s, 'w1', 60_000).applyNext(100, () => keysOf([]), lookOnly)).map((c) => c.transid);
      const sizes = [(await apply()).length, (await apply()).length];
      const first = Math.floor(CLAIM_RECORDS / 1000);
      expect(sizes).toEqual(s.appliers.hasConcurrentClaims ? [first, 27 - first] : [27, 0]);
    });

    it('stores the records from their JSON text alone (as the writer thread hands them over), and applies them parsed', async () => {
      const { records, ...asText } = newWriteTransaction(tenantId, [
        { customerId: 'a', attributes: { name: 'Zoë 😀', gone: null } },
        { customerId: 'b', attributes: { name: 'B' } },
      ]);
      await s.journal.enqueue([asText], DAY);
      expect((await s.journal.queueStats()).depthRecords).toBe(2);
      const [applied] = await look();
      expect(applied.records).toEqual(records);
    });

    it('takes acceptance order from the order of enqueue calls and of items within a call', async () => {
      const first = [wt(tenantId, 'a'), wt(tenantId, 'b')];
      const second = [wt(tenantId, 'c')];
      await s.journal.enqueue(first, DAY);
      await s.journal.enqueue(second, DAY);
      const applied = await look();
      expect(applied.map((c) => c.transid)).toEqual([...first, ...second].map((i) => i.transid));
      const seqs = applied.map((c) => c.seq);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      expect(new Set(seqs).size).toBe(3);
      expect(applied[2]).toMatchObject({ tenantId, operation: 'createProfile', appid: null, isUpsert: false, isCascade: false });
    });

    /** Waits until the claim on `transid` (PostgreSQL's, by lease) has run out; at once where nothing is claimed. */
    const leaseExpired = async (transid: string) => {
      if (!s.appliers.hasConcurrentClaims) return;
      const db = new pg.Client({ connectionString: store.env.PROFILES_DATABASE_URL });
      await db.connect();
      try {
        const leaseUntil = async () => Number((await db.query('SELECT lease_until FROM write_transactions WHERE transid = $1', [transid])).rows[0].lease_until);
        // The lease is of the applying process's clock, which is this one's.
        await waitFor(async () => Date.now() > (await leaseUntil()), { timeoutMs: 5_000, description: `the lease on ${transid} to run out` });
      } finally {
        await db.end();
      }
    };

    const failing: ApplyReducer = (batch, snapshot, now) => {
      upsertEach(batch, snapshot, now);
      throw new Error('boom');
    };

    it("applies a write transaction once when a stalled worker's expired claim is taken over before its apply", async () => {
      const [item] = await s.journal.enqueue([wt(tenantId, 'a')], DAY);
      if (!s.appliers.hasConcurrentClaims) {
        // One worker per store, and an apply reads its batch under the write lock: the next finds nothing.
        expect((await applierOf(s, 'w-old', 1).applyNext(10, keysOf, upsertEach)).map((c) => c.transid)).toEqual([item.transid]);
        expect(await applierOf(s, 'w-new', 60_000).applyNext(10, keysOf, upsertEach)).toEqual([]);
        return;
      }
      // The removal lock, held here, stops each apply after its claim, before it reads what it holds.
      const other = new pg.Client({ connectionString: store.env.PROFILES_DATABASE_URL });
      await other.connect();
      try {
        await other.query('SELECT pg_advisory_lock($1)', [REMOVAL_LOCK]);
        const claimedBy = async () => (await other.query('SELECT claimed_by FROM write_transactions WHERE transid = $1', [item.transid])).rows[0].claimed_by;
        const stalled = applierOf(s, 'w-old', 1).applyNext(10, keysOf, upsertEach);
        await waitFor(async () => (await claimedBy()) === 'w-old', { timeoutMs: 5_000, description: 'w-old to claim it' });
        await leaseExpired(item.transid);
        const takeover = applierOf(s, 'w-new', 60_000).applyNext(10, keysOf, upsertEach);
        await waitFor(async () => (await claimedBy()) === 'w-new', { timeoutMs: 5_000, description: 'w-new to take the claim over' });
        await other.query('SELECT pg_advisory_unlock($1)', [REMOVAL_LOCK]);
        expect(await stalled).toEqual([]);
        expect((await takeover).map((c) => c.transid)).toEqual([item.transid]);
      } finally {
        await other.end();
      }
      expect(await s.journal.getWriteTransactionStatus(tenantId, item.transid)).toMatchObject({ state: 'done', results: [{ customerId: 'a', code: '1000' }] });
    });

    it('applies, once, a write transaction whose worker failed, after its claim expires (at once where nothing is claimed)', async () => {
      const [item] = await s.journal.enqueue([wt(tenantId, 'a')], DAY);
      await expect(applierOf(s, 'w-old', 1).applyNext(10, keysOf, failing)).rejects.toThrow('boom');
      await leaseExpired(item.transid);
      expect((await applierOf(s, 'w-new', 60_000).applyNext(10, keysOf, upsertEach)).map((c) => c.transid)).toEqual([item.transid]);
      expect(await applierOf(s, 'w-old', 60_000).applyNext(10, keysOf, upsertEach)).toEqual([]);
      expect(await s.journal.getWriteTransactionStatus(tenantId, item.transid)).toMatchObject({ state: 'done' });
    });

    it('hands the reducer the stored rows it names, each app profile once, and stores deletes', async () => {
      await s.directory.createApp(tenantId, 'rt-1', 'rt', []);
      await s.directory.createApp(tenantId, 'fb-1', 'fb', []);
      const seed: ApplyReducer = (batch, _snapshot, now) => {
        const appUpserts: AppProfileRow[] = [
          { tenantId, appid: 'rt-1', customerId: 'a', deviceId: 'd1', userId: 'u', attributes: { deviceId: 'd1' }, createdAt: now, updatedAt: now },
          { tenantId, appid: 'rt-1', customerId: 'a', deviceId: 'd2', userId: 'u', attributes: { deviceId: 'd2' }, createdAt: now, updatedAt: now },
          { tenantId, appid: 'fb-1', customerId: 'a', deviceId: '', userId: null, attributes: { psid: 'p' }, createdAt: now, updatedAt: now },
        ];
        return {
          changes: {
            masterUpserts: ['a', 'b'].map((customerId) => ({ tenantId, customerId, attributes: { name: customerId }, createdAt: now, updatedAt: now })),
            masterDeletes: [],
            appUpserts,
            appDeletes: [],
            events: [],
          },
          results: new Map(batch.map((w) => [w.transid, []])),
        };
      };
      await s.journal.enqueue([wt(tenantId, 'a')], DAY);
      await applierOf(s, 'w', 60_000).applyNext(10, keysOf, seed);

      const everyPath: KeysOf = () => ({
        masters: [{ tenantId, customerId: 'a' }, { tenantId, customerId: 'a' }, { tenantId, customerId: 'b' }, { tenantId, customerId: 'nobody' }],
        appCustomers: [{ tenantId, appid: 'rt-1', customerId: 'a' }],
        appUsers: [{ tenantId, appid: 'rt-1', userId: 'u' }],
        customerApps: [{ tenantId, customerId: 'a' }],
        appids: [],
      });
      let seen: ProfileSnapshot | null = null;
      const prune: ApplyReducer = (batch, snapshot) => {
        seen = snapshot;
        return {
          changes: {
            masterUpserts: [],
            masterDeletes: [{ tenantId, customerId: 'b' }],
            appUpserts: [],
            appDeletes: [{ tenantId, appid: 'rt-1', customerId: 'a', deviceId: 'd1' }],
            events: [],
          },
          results: new Map(batch.map((w) => [w.transid, []])),
        };
      };
      await s.journal.enqueue([wt(tenantId, 'b')], DAY);
      await applierOf(s, 'w', 60_000).applyNext(10, everyPath, prune);
      const snapshot = seen as ProfileSnapshot | null;
      expect(snapshot!.masters.map((m) => m.customerId).sort()).toEqual(['a', 'b']);
      expect(snapshot!.masters.find((m) => m.customerId === 'a')).toMatchObject({ tenantId, attributes: { name: 'a' } });
      expect(snapshot!.apps.map((r) => `${r.appid}/${r.deviceId}`).sort()).toEqual(['fb-1/', 'rt-1/d1', 'rt-1/d2']);
      expect(snapshot!.apps.find((r) => r.deviceId === 'd1')).toMatchObject({ customerId: 'a', userId: 'u', attributes: { deviceId: 'd1' } });

      expect((await s.profiles.getMasterProfiles(tenantId, ['a', 'b'])).map((r) => r.customerId)).toEqual(['a']);
      expect((await s.profiles.getAppProfiles(tenantId, 'rt-1', ['a'])).map((r) => r.deviceId)).toEqual(['d2']);
    });

    it("hands the reducer every app profile of the userIds it names, in each app, and only those", async () => {
      await s.directory.createApp(tenantId, 'rt-1', 'rt', []);
      await s.directory.createApp(tenantId, 'rt-2', 'rt', []);
      const row = (appid: string, customerId: string, userId: string | null, now: number) =>
        ({ tenantId, appid, customerId, deviceId: 'd', userId, attributes: { deviceId: 'd' }, createdAt: now, updatedAt: now });
      const seed: ApplyReducer = (batch, _snapshot, now) => ({
        changes: {
          masterUpserts: [],
          masterDeletes: [],
          appUpserts: [row('rt-1', 'c1', 'u1', now), row('rt-1', 'c2', 'u1', now), row('rt-1', 'c3', 'u2', now), row('rt-1', 'c4', null, now), row('rt-2', 'c5', 'u1', now)],
          appDeletes: [],
          events: [],
        },
        results: new Map(batch.map((w) => [w.transid, []])),
      });
      await s.journal.enqueue([wt(tenantId, 'seed')], DAY);
      await applierOf(s, 'w', 60_000).applyNext(10, keysOf, seed);

      const byUser: KeysOf = () => ({
        masters: [],
        appCustomers: [],
        appUsers: ['u1', 'u2', 'u1', 'nobody'].map((userId) => ({ tenantId, appid: 'rt-1', userId })),
        customerApps: [],
        appids: [],
      });
      let seen: ProfileSnapshot | null = null;
      const look: ApplyReducer = (batch, snapshot) => {
        seen = snapshot;
        return { changes: { masterUpserts: [], masterDeletes: [], appUpserts: [], appDeletes: [], events: [] }, results: new Map(batch.map((w) => [w.transid, []])) };
      };
      await s.journal.enqueue([wt(tenantId, 'look')], DAY);
      await applierOf(s, 'w', 60_000).applyNext(10, byUser, look);
      const apps = (seen as ProfileSnapshot | null)!.apps;
      expect(apps.map((r) => `${r.appid}/${r.customerId}/${r.userId}`).sort()).toEqual(['rt-1/c1/u1', 'rt-1/c2/u1', 'rt-1/c3/u2']);
    });

    it('rewrites stored rows the batch loaded: attributes, and the userId index when the userId changes', async () => {
      await s.directory.createApp(tenantId, 'rt-1', 'rt', []);
      const write =
        (userIds: Record<string, string | null>, version: number): ApplyReducer =>
        (batch, _snapshot, now) => ({
          changes: {
            masterUpserts: [{ tenantId, customerId: 'a', attributes: { name: `v${version}` }, createdAt: now, updatedAt: now }],
            masterDeletes: [],
            appUpserts: Object.entries(userIds).map(([deviceId, userId]) => ({
              tenantId,
              appid: 'rt-1',
              customerId: 'a',
              deviceId,
              userId,
              attributes: { deviceId, version },
              createdAt: now,
              updatedAt: now,
            })),
            appDeletes: [],
            events: [],
          },
          results: new Map(batch.map((w) => [w.transid, []])),
        });
      // The batch reads customer a's master and app rows, as an app write of a would.
      const ofA: KeysOf = () => ({ masters: [{ tenantId, customerId: 'a' }], appCustomers: [{ tenantId, appid: 'rt-1', customerId: 'a' }], appUsers: [], customerApps: [], appids: [] });
      const apply = async (reducer: ApplyReducer) => {
        await s.journal.enqueue([wt(tenantId, 'a')], DAY);
        await applierOf(s, 'w', 60_000).applyNext(10, ofA, reducer);
      };
      await apply(write({ d1: 'u1', d2: 'u2', d3: null }, 1));
      // d1 keeps its userId, d2 moves to another, d3 gains one, d4 is new.
      await apply(write({ d1: 'u1', d2: 'u9', d3: 'u3', d4: 'u4' }, 2));
      expect((await s.profiles.getMasterProfiles(tenantId, ['a']))[0].attributes).toEqual({ name: 'v2' });
      expect((await s.profiles.getAppProfiles(tenantId, 'rt-1', ['a'])).map((r) => [r.deviceId, r.userId, r.attributes.version])).toEqual([
        ['d1', 'u1', 2],
        ['d2', 'u9', 2],
        ['d3', 'u3', 2],
        ['d4', 'u4', 2],
      ]);
      const byUser = async (userId: string) => (await s.profiles.findAppProfilesByUserId(tenantId, 'rt-1', userId)).map((r) => r.deviceId);
      expect([await byUser('u1'), await byUser('u2'), await byUser('u9'), await byUser('u3')]).toEqual([['d1'], [], ['d2'], ['d3']]);
      // A userId removed leaves the index too.
      await apply(write({ d2: null }, 3));
      expect(await byUser('u9')).toEqual([]);
    });

    it('records the finish time and keeps the record count once applied', async () => {
      const item = wt(tenantId, 'a', { records: [{ customerId: 'a' }, { customerId: 'b' }] });
      await s.journal.enqueue([item], DAY);
      const before = Date.now();
      await applierOf(s, 'w', 60_000).applyNext(10, keysOf, upsertEach);
      const status = await s.journal.getWriteTransactionStatus(tenantId, item.transid);
      expect(status).toMatchObject({ transid: item.transid, state: 'done', totalCount: 2, acceptedAt: item.acceptedAt });
      expect(status!.results!.map((r) => r.customerId)).toEqual(['a', 'b']);
      expect(status!.finishedAt).toBeGreaterThanOrEqual(before);
    });

    it('applies changes and results in one database transaction and marks them done', async () => {
      const items = [wt(tenantId, 'a'), wt(tenantId, 'b')];
      await s.journal.enqueue(items, DAY);
      expect((await look()).map((c) => c.transid)).toEqual(items.map((i) => i.transid));
      const status = await s.journal.getWriteTransactionStatus(tenantId, items[0].transid);
      expect(status).toMatchObject({ state: 'done', totalCount: 1, results: [{ customerId: 'a', code: '1000' }] });
      expect((await s.profiles.getMasterProfiles(tenantId, ['a', 'b'])).map((r) => r.customerId)).toEqual(['a', 'b']);
      expect(await look()).toEqual([]);
      expect(await s.journal.queueStats()).toEqual({ depth: 0, depthRecords: 0, oldestAcceptedAt: null, recordsByTenant: new Map() });
    });

    it('stores nothing and leaves the queue as it was when the reducer throws; the same worker applies the same batch next', async () => {
      const items = [wt(tenantId, 'a'), wt(tenantId, 'b')];
      await s.journal.enqueue(items, DAY);
      await expect(applierOf(s, 'w1', 60_000).applyNext(1, keysOf, failing)).rejects.toThrow('boom');
      expect(await s.profiles.getMasterProfiles(tenantId, ['a'])).toEqual([]);
      // Claimed where several workers claim; queued where one applies (SQLite claims nothing).
      expect((await s.journal.getWriteTransactionStatus(tenantId, items[0].transid))!.state).toBe(s.appliers.hasConcurrentClaims ? 'processing' : 'queued');
      expect((await look()).map((c) => c.transid)).toEqual(items.map((i) => i.transid));
      expect((await s.profiles.getMasterProfiles(tenantId, ['a', 'b'])).map((r) => r.customerId)).toEqual(['a', 'b']);
    });

    it("lets a second worker apply only what conflicts with nothing another worker holds (stores with concurrent claims)", async () => {
      const items = [wt(tenantId, 'x'), wt(tenantId, 'x'), wt(tenantId, 'y')];
      await s.journal.enqueue(items, DAY);
      // w1 fails its batch of one: where workers claim, it holds the first write to x until its lease ends.
      await expect(applierOf(s, 'w1', 60_000).applyNext(1, keysOf, failing)).rejects.toThrow('boom');
      const second = await applierOf(s, 'w2', 60_000).applyNext(10, keysOf, upsertEach);
      if (s.appliers.hasConcurrentClaims) {
        // The second write to x waits for the first; y is independent.
        expect(second.map((c) => c.transid)).toEqual([items[2].transid]);
        expect(await applierOf(s, 'w2', 60_000).applyNext(10, keysOf, upsertEach)).toEqual([]);
        // w1 takes back its own batch first, then the write that waited for it.
        expect((await look(1)).map((c) => c.transid)).toEqual([items[0].transid]);
        expect((await look(1)).map((c) => c.transid)).toEqual([items[1].transid]);
      } else {
        // One worker per store: whoever applies next takes everything not applied, oldest first.
        expect(second.map((c) => c.transid)).toEqual(items.map((i) => i.transid));
      }
    });

    it('replays the same idempotency key and request, refuses another request, forgets keys past the window', async () => {
      const first = wt(tenantId, 'a', { idempotencyKey: 'k', requestHash: 'h1' });
      const [accepted] = await s.journal.enqueue([first], DAY);
      expect(accepted).toEqual({ outcome: 'accepted', transid: first.transid });
      const [replayed, conflict] = await s.journal.enqueue(
        [wt(tenantId, 'a', { idempotencyKey: 'k', requestHash: 'h1' }), wt(tenantId, 'a', { idempotencyKey: 'k', requestHash: 'h2' })],
        DAY,
      );
      expect(replayed).toEqual({ outcome: 'replayed', transid: first.transid });
      expect(conflict).toEqual({ outcome: 'conflict', transid: first.transid });
      const later = wt(tenantId, 'a', { idempotencyKey: 'k', requestHash: 'h2', acceptedAt: first.acceptedAt + DAY + 1 });
      expect((await s.journal.enqueue([later], DAY))[0]).toEqual({ outcome: 'accepted', transid: later.transid });
      expect((await s.journal.queueStats()).depth).toBe(2);
    });

    it('lets a later item of the same enqueue call see an earlier one with the same idempotency key', async () => {
      const first = wt(tenantId, 'a', { idempotencyKey: 'same', requestHash: 'h1' });
      const results = await s.journal.enqueue(
        [first, wt(tenantId, 'a', { idempotencyKey: 'same', requestHash: 'h1' }), wt(tenantId, 'a', { idempotencyKey: 'same', requestHash: 'h2' })],
        DAY,
      );
      expect(results).toEqual([
        { outcome: 'accepted', transid: first.transid },
        { outcome: 'replayed', transid: first.transid },
        { outcome: 'conflict', transid: first.transid },
      ]);
      expect((await s.journal.queueStats()).depth).toBe(1);
    });

    it('hands an expired idempotency key over to the write transaction that reuses it', async () => {
      const old = wt(tenantId, 'a', { idempotencyKey: 'k', requestHash: 'h1', acceptedAt: 1_000 });
      await s.journal.enqueue([old], 60_000);
      const renewed = wt(tenantId, 'a', { idempotencyKey: 'k', requestHash: 'h2', acceptedAt: 1_000 + 60_001 });
      expect(await s.journal.enqueue([renewed], 60_000)).toEqual([{ outcome: 'accepted', transid: renewed.transid }]);
      const retry = wt(tenantId, 'a', { idempotencyKey: 'k', requestHash: 'h2', acceptedAt: renewed.acceptedAt + 10 });
      expect(await s.journal.enqueue([retry], 60_000)).toEqual([{ outcome: 'replayed', transid: renewed.transid }]);
      // The old write transaction itself stays queued.
      expect(await s.journal.getWriteTransactionStatus(tenantId, old.transid)).toMatchObject({ state: 'queued' });
    });

    it('keeps idempotency keys per tenant', async () => {
      const other = (await s.directory.createTenant('other', settings, master)).id;
      await s.journal.enqueue([wt(tenantId, 'a', { idempotencyKey: 'k', requestHash: 'h' })], DAY);
      expect((await s.journal.enqueue([wt(other, 'a', { idempotencyKey: 'k', requestHash: 'h' })], DAY))[0].outcome).toBe('accepted');
    });

    it("answers a status only to the write transaction's own tenant", async () => {
      const other = (await s.directory.createTenant('other', settings, master)).id;
      const item = wt(tenantId, 'a');
      await s.journal.enqueue([item], DAY);
      expect(await s.journal.getWriteTransactionStatus(tenantId, item.transid)).toMatchObject({ state: 'queued', totalCount: 1, results: null });
      expect(await s.journal.getWriteTransactionStatus(other, item.transid)).toBeNull();
    });

    it('reports queue depth, records (in all and per tenant) and the oldest acceptance time', async () => {
      const other = (await s.directory.createTenant('other', settings, master)).id;
      const first = wt(tenantId, 'a', { acceptedAt: 1000 });
      const second = wt(tenantId, 'b', { acceptedAt: 2000, records: [{ customerId: 'b' }, { customerId: 'c' }] });
      const third = wt(other, 'x', { acceptedAt: 1500 });
      await s.journal.enqueue([first, second, third], DAY);
      expect(await s.journal.queueStats()).toEqual({ depth: 3, depthRecords: 4, oldestAcceptedAt: 1000, recordsByTenant: new Map([[tenantId, 3], [other, 1]]) });
    });

    it('purges finished write transactions of one tenant, older than the cut-off, in batches', async () => {
      const items = ['a', 'b', 'c'].map((c) => wt(tenantId, c));
      await s.journal.enqueue(items, DAY);
      await applierOf(s, 'w', 60_000).applyNext(10, keysOf, upsertEach);
      expect(await s.journal.purgeWriteTransactions(tenantId + 1, Date.now() + 1, 10)).toBe(0);
      expect(await s.journal.purgeWriteTransactions(tenantId, Date.now() - DAY, 10)).toBe(0);
      expect(await s.journal.purgeWriteTransactions(tenantId, Date.now() + 1, 2)).toBe(2);
      expect(await s.journal.purgeWriteTransactions(tenantId, Date.now() + 1, 2)).toBe(1);
      expect(await s.journal.getWriteTransactionStatus(tenantId, items[0].transid)).toBeNull();
    });

    it('keeps what was enqueued across close and reopen', async () => {
      const item = wt(tenantId, 'a');
      await s.journal.enqueue([item], DAY);
      await s.close();
      const reopened = store.reopen();
      expect(await reopened.journal.getWriteTransactionStatus(tenantId, item.transid)).toMatchObject({ state: 'queued' });
      const applied: ClaimedWriteTransaction[] = await applierOf(reopened, 'w', 60_000).applyNext(10, keysOf, upsertEach);
      expect(applied.map((c) => c.transid)).toEqual([item.transid]);
    });
  });

  describe('erasing tenants and apps', () => {
    const rows = (counts: Partial<RowCounts>): RowCounts => ({
      profileKeys: 0,
      apps: 0,
      attributeDefinitions: 0,
      masterProfiles: 0,
      appProfiles: 0,
      writeTransactions: 0,
      changeEvents: 0,
      imports: 0,
      importChunks: 0,
      importRejects: 0,
      webhookEndpoints: 0,
      webhookDeliveries: 0,
      webhookAttempts: 0,
      ...counts,
    });
    /** Stores master profiles and app profiles (appid, customerId, deviceId) through one applied write transaction. */
    const seed = async (tenantId: number, masters: string[], apps: Array<[string, string, string]>) => {
      const write: ApplyReducer = (batch, _snapshot, now) => ({
        changes: {
          masterUpserts: masters.map((customerId) => ({ tenantId, customerId, attributes: { name: customerId }, createdAt: now, updatedAt: now })),
          masterDeletes: [],
          appUpserts: apps.map(([appid, customerId, deviceId]) => ({ tenantId, appid, customerId, deviceId, userId: null, attributes: {}, createdAt: now, updatedAt: now })),
          appDeletes: [],
          events: [],
        },
        results: new Map(batch.map((w) => [w.transid, []])),
      });
      const item = wt(tenantId, 'seed', { idempotencyKey: 'seed', requestHash: 'h' });
      await s.journal.enqueue([item], DAY);
      expect((await applierOf(s, 'w', 60_000).applyNext(10, keysOf, write)).map((c) => c.transid)).toEqual([item.transid]);
    };
    /**
     * Tenants with one key, two apps (2 definitions each), 3 master profiles, 4 app profiles, 1
     * applied and 1 queued write transaction each (queued after every tenant's seed is applied).
     */
    const populated = async (...names: string[]) => {
      const ids: number[] = [];
      for (const name of names) {
        const t = await s.directory.createTenant(name, settings, master);
        await s.keys.createProfileKey(t.id, `key-${name}`, Buffer.from(name).toString('hex').padEnd(64, '0'));
        for (const appid of [`${name}-fb`, `${name}-rt`]) await s.directory.createApp(t.id, appid, appid.endsWith('rt') ? 'rt' : 'fb', [{ name: 'one', type: 'string' }, { name: 'two', type: 'string' }]);
        await seed(t.id, ['a', 'b', 'c'], [[`${name}-fb`, 'a', ''], [`${name}-rt`, 'a', 'd1'], [`${name}-rt`, 'a', 'd2'], [`${name}-rt`, 'b', 'd1']]);
        ids.push(t.id);
      }
      for (const id of ids) await s.journal.enqueue([wt(id, 'queued')], DAY);
      return ids;
    };
    const everything = rows({ profileKeys: 1, apps: 2, attributeDefinitions: 6, masterProfiles: 3, appProfiles: 4, writeTransactions: 2 });
    /** Calls `chunk` until it erases nothing; checks no call erases more than `limit` rows. */
    const eraseAll = async (chunk: () => Promise<RowCounts>, limit: number) => {
      let total = 0;
      for (;;) {
        const erased = Object.values(await chunk()).reduce((a, b) => a + b, 0);
        expect(erased).toBeLessThanOrEqual(limit);
        if (erased === 0) return total;
        total += erased;
      }
    };

    it("counts a tenant's rows, removes its directory entries in one step that moves configVersion, and removes nothing the second time", async () => {
      const [a, b] = await populated('a', 'b');
      expect(await s.erasure.countTenantRows(a)).toEqual(everything);
      const before = await s.directory.configVersion();
      expect(await s.directory.removeTenant(a)).toEqual(rows({ profileKeys: 1, apps: 2, attributeDefinitions: 6 }));
      expect(await s.directory.configVersion()).toBeGreaterThan(before);
      expect(await s.directory.getTenant(a)).toBeNull();
      const dir = await s.directory.load();
      expect([...dir.tenants, ...dir.keys, ...dir.apps, ...dir.attributes].filter((x) => ('tenantId' in x ? x.tenantId : x.id) === a)).toEqual([]);
      // The data is still there, found by tenant id, for the erase to finish.
      expect(await s.erasure.countTenantRows(a)).toEqual(rows({ masterProfiles: 3, appProfiles: 4, writeTransactions: 2 }));
      const after = await s.directory.configVersion();
      expect(await s.directory.removeTenant(a)).toEqual(rows({}));
      expect(await s.directory.configVersion()).toBe(after);
      expect(await s.erasure.countTenantRows(b)).toEqual(everything);
    });

    it("erases a removed tenant's rows at most `limit` at a time, and leaves other tenants alone", async () => {
      const [a, b] = await populated('a', 'b');
      await s.directory.removeTenant(a);
      expect(await eraseAll(() => s.erasure.eraseTenantRows(a, 2), 2)).toBe(3 + 4 + 2);
      expect(await s.erasure.countTenantRows(a)).toEqual(rows({}));
      expect(await s.erasure.countTenantRows(b)).toEqual(everything);
      expect((await s.profiles.getMasterProfiles(b, ['a', 'b', 'c'])).length).toBe(3);
      expect(await s.journal.queueStats()).toMatchObject({ depth: 1, recordsByTenant: new Map([[b, 1]]) });
    });

    it("counts and erases a removed tenant's imports with their chunks and rejects, and leaves another tenant's alone", async () => {
      const [a, b] = await populated('a', 'b');
      for (const tenantId of [a, b]) for (const n of [1, 2]) await storeImport(s, tenantId, `imp_${tenantId}_${n}`);
      const withImports = { ...everything, imports: 2, importChunks: 4, importRejects: 4 };
      expect(await s.erasure.countTenantRows(a)).toEqual(withImports);
      await s.directory.removeTenant(a);
      expect(await eraseAll(() => s.erasure.eraseTenantRows(a, 2), 2)).toBe(3 + 4 + 2 + 2 + 4 + 4);
      expect(await s.erasure.countTenantRows(a)).toEqual(rows({}));
      expect(await s.imports.getImport(a, `imp_${a}_1`)).toBeNull();
      expect(await s.imports.listChunks(a, `imp_${a}_1`)).toEqual([]);
      expect(await s.imports.listRejects(a, `imp_${a}_1`, 0, 10)).toEqual([]);
      expect(await s.erasure.countTenantRows(b)).toEqual(withImports);
      expect(await s.imports.listChunks(b, `imp_${b}_2`)).toHaveLength(2);
      expect((await s.imports.listRejects(b, `imp_${b}_2`, 0, 10)).map((r) => r.line)).toEqual([1, 2]);
    });

    it("never gives a removed tenant's id to a new tenant", async () => {
      await s.directory.createTenant('first', settings, master);
      const last = await s.directory.createTenant('last', settings, master);
      await s.directory.removeTenant(last.id);
      expect((await s.directory.createTenant('next', settings, master)).id).toBeGreaterThan(last.id);
    });

    it('drops, instead of applying, write transactions of a removed tenant, and counts them as applied', async () => {
      const a = (await s.directory.createTenant('a', settings, master)).id;
      const b = (await s.directory.createTenant('b', settings, master)).id;
      const items = [wt(a, 'x'), wt(b, 'y'), wt(a, 'z')];
      await s.journal.enqueue(items, DAY);
      await s.directory.removeTenant(a);
      expect((await applierOf(s, 'w', 60_000).applyNext(10, keysOf, upsertEach)).map((c) => c.transid)).toEqual(items.map((i) => i.transid));
      expect(await s.journal.getWriteTransactionStatus(a, items[0].transid)).toBeNull();
      expect(await s.profiles.getMasterProfiles(a, ['x', 'z'])).toEqual([]);
      expect((await s.journal.getWriteTransactionStatus(b, items[1].transid))!.state).toBe('done');
      expect(await s.erasure.countTenantRows(a)).toEqual(rows({}));
    });

    it('has nothing to apply of a removed tenant once its rows are erased', async () => {
      const a = (await s.directory.createTenant('a', settings, master)).id;
      await s.journal.enqueue([wt(a, 'x')], DAY);
      await s.directory.removeTenant(a);
      await eraseAll(() => s.erasure.eraseTenantRows(a, 10), 10);
      expect(await applierOf(s, 'w', 60_000).applyNext(10, keysOf, upsertEach)).toEqual([]);
      expect(await s.profiles.getMasterProfiles(a, ['x'])).toEqual([]);
    });

    it("removes an app and its definitions, erases its app profiles at most `limit` at a time, and leaves the tenant's other apps alone", async () => {
      const [a] = await populated('a');
      expect(await s.erasure.countAppRows(a, 'a-rt')).toEqual(rows({ apps: 1, attributeDefinitions: 2, appProfiles: 3 }));
      const before = await s.directory.configVersion();
      expect(await s.directory.removeApp(a, 'a-rt')).toEqual(rows({ apps: 1, attributeDefinitions: 2 }));
      expect(await s.directory.configVersion()).toBeGreaterThan(before);
      expect((await s.directory.listApps(a)).map((x) => x.appid)).toEqual(['a-fb']);
      expect((await s.directory.load()).attributes.filter((d) => d.scope === 'a-rt')).toEqual([]);
      expect(await s.erasure.countAppRows(a, 'a-rt')).toEqual(rows({ appProfiles: 3 }));
      expect(await eraseAll(() => s.erasure.eraseAppRows(a, 'a-rt', 2), 2)).toBe(3);
      expect(await s.profiles.getAppProfilesOfCustomers(a, ['a', 'b'])).toEqual([expect.objectContaining({ appid: 'a-fb', customerId: 'a' })]);
      expect(await s.erasure.countTenantRows(a)).toEqual(rows({ profileKeys: 1, apps: 1, attributeDefinitions: 4, masterProfiles: 3, appProfiles: 1, writeTransactions: 2 }));
      const after = await s.directory.configVersion();
      expect(await s.directory.removeApp(a, 'a-rt')).toEqual(rows({}));
      expect(await s.directory.configVersion()).toBe(after);
    });

    it("leaves another tenant's app alone when asked to remove or erase its appid", async () => {
      const a = (await s.directory.createTenant('a', settings, master)).id;
      const [b] = await populated('b');
      expect(await s.erasure.countAppRows(a, 'b-rt')).toEqual(rows({}));
      expect(await s.directory.removeApp(a, 'b-rt')).toEqual(rows({}));
      expect(await s.erasure.eraseAppRows(a, 'b-rt', 10)).toEqual(rows({}));
      expect(await s.erasure.countAppRows(b, 'b-rt')).toEqual(rows({ apps: 1, attributeDefinitions: 2, appProfiles: 3 }));
    });

    it('hands the reducer, of the apps a batch writes to, those still in the directory', async () => {
      const [a, b] = await populated('a', 'b');
      await s.directory.removeApp(a, 'a-rt');
      let seen: ProfileSnapshot | null = null;
      const look: ApplyReducer = (batch, snapshot) => {
        seen = snapshot;
        return { changes: { masterUpserts: [], masterDeletes: [], appUpserts: [], appDeletes: [], events: [] }, results: new Map(batch.map((w) => [w.transid, []])) };
      };
      const named: KeysOf = () => ({
        masters: [],
        appCustomers: [],
        appUsers: [],
        customerApps: [],
        appids: [{ tenantId: a, appid: 'a-fb' }, { tenantId: a, appid: 'a-rt' }, { tenantId: a, appid: 'b-fb' }, { tenantId: b, appid: 'b-fb' }],
      });
      await applierOf(s, 'w', 60_000).applyNext(10, named, look);
      expect((seen as ProfileSnapshot | null)!.appids).toEqual([
        { tenantId: a, appid: 'a-fb', channel: 'fb' },
        { tenantId: b, appid: 'b-fb', channel: 'fb' },
      ]);
    });

    it('refuses to create an appid again while the tenant still holds app profiles of the deleted app, and lets another tenant take it', async () => {
      const [a] = await populated('a');
      await s.directory.removeApp(a, 'a-rt');
      await expect(s.directory.createApp(a, 'a-rt', 'rt', [])).rejects.toBeInstanceOf(ConflictError);
      expect(await s.directory.listApps(a)).toHaveLength(1);
      const b = (await s.directory.createTenant('b', settings, master)).id;
      await s.directory.createApp(b, 'a-rt', 'rt', []);
      expect(await s.profiles.getAppProfiles(b, 'a-rt', ['a', 'b'])).toEqual([]);
      await s.directory.removeApp(b, 'a-rt');
      await eraseAll(() => s.erasure.eraseAppRows(a, 'a-rt', 10), 10);
      expect((await s.directory.createApp(a, 'a-rt', 'rt', [])).appid).toBe('a-rt');
      expect(await s.profiles.getAppProfiles(a, 'a-rt', ['a', 'b'])).toEqual([]);
    });
  });

  describe('imports', () => {
    it('stores chunks with their rejects in one call, replaces what an earlier run stored for them, and marks the ones named accepted', async () => {
      const a = (await s.directory.createTenant('a', settings, master)).id;
      await storeImport(s, a, 'imp_x');
      const [first, second] = await s.imports.listChunks(a, 'imp_x');
      expect((await s.imports.listRejects(a, 'imp_x', 0, 10)).map((r) => r.line)).toEqual([1, 2]);
      // Chunk 0 again (a rerun, the schema changed: line 2 is good now), and a third chunk.
      const third = { ...second, chunk: 2, transid: first.transid.replace(/^.{8}/, '00000000'), firstLine: 5, lastLine: 6, rejected: 1 };
      const reject = (line: number) => ({ line, code: '7011', errors: [{ attribute: 'email', reason: 'bad' }], raw: `${line}` });
      await s.imports.saveChunks(a, 'imp_x', [
        { chunk: { ...first, rejected: 1 }, rejects: [reject(1)] },
        { chunk: third, rejects: [reject(6)] },
      ]);
      expect(await s.imports.listRejects(a, 'imp_x', 0, 10)).toEqual([reject(1), reject(6)]);
      await s.imports.markChunksAccepted(a, 'imp_x', [0, 2]);
      expect((await s.imports.listChunks(a, 'imp_x')).map((c) => [c.chunk, c.rejected, c.isAccepted])).toEqual([
        [0, 1, true],
        [1, 0, false],
        [2, 1, true],
      ]);
    });

    it("purges a tenant's imports that finished before the cut-off, with their chunks and rejects, at most `limit` rows at a time", async () => {
      const a = (await s.directory.createTenant('a', settings, master)).id;
      const b = (await s.directory.createTenant('b', settings, master)).id;
      for (const id of ['imp_old', 'imp_new', 'imp_running']) await storeImport(s, a, id);
      await storeImport(s, b, 'imp_other');
      await s.imports.finishImport(a, 'imp_old', 'partially_succeeded', null, 1000);
      await s.imports.finishImport(a, 'imp_new', 'succeeded', null, 3000);
      await s.imports.finishImport(b, 'imp_other', 'failed', 'why', 1000);
      // imp_old's 2 rejects, 2 chunks and itself, 2 at a time.
      expect(await s.imports.purgeFinished(a, 2000, 2)).toBe(2);
      expect(await s.imports.purgeFinished(a, 2000, 2)).toBe(2);
      expect(await s.imports.getImport(a, 'imp_old')).not.toBeNull();
      expect(await s.imports.purgeFinished(a, 2000, 2)).toBe(1);
      expect(await s.imports.purgeFinished(a, 2000, 2)).toBe(0);
      expect(await s.imports.getImport(a, 'imp_old')).toBeNull();
      expect(await s.imports.listChunks(a, 'imp_old')).toEqual([]);
      expect(await s.imports.listRejects(a, 'imp_old', 0, 10)).toEqual([]);
      for (const [tenantId, id] of [[a, 'imp_new'], [a, 'imp_running'], [b, 'imp_other']] as const) {
        expect(await s.imports.getImport(tenantId, id)).not.toBeNull();
        expect(await s.imports.listChunks(tenantId, id)).toHaveLength(2);
        expect(await s.imports.listRejects(tenantId, id, 0, 10)).toHaveLength(2);
      }
      // A running import stays whatever its age; the rest go in one call when the limit allows.
      expect(await s.imports.purgeFinished(a, Date.now() + DAY, 100)).toBe(5);
      expect((await s.imports.getImport(a, 'imp_running'))!.state).toBe('running');
    });

    it("retention purges an import once it finished longer ago than the tenant's retention (7 days by default), as its write transactions", async () => {
      const tenant = await s.directory.createTenant('a', settings, master);
      expect(tenant.settings.retentionDays).toBe(7);
      await storeImport(s, tenant.id, 'imp_done');
      const finishedAt = Date.now();
      await s.imports.finishImport(tenant.id, 'imp_done', 'succeeded', null, finishedAt);
      expect((await purgeExpired(s, [tenant], 7, finishedAt + 6 * DAY)).importRows).toBe(0);
      expect(await s.imports.getImport(tenant.id, 'imp_done')).not.toBeNull();
      expect((await purgeExpired(s, [tenant], 7, finishedAt + 7 * DAY + 1)).importRows).toBe(5);
      expect(await s.imports.getImport(tenant.id, 'imp_done')).toBeNull();
    });
  });

  describe('profile reads', () => {
    it('reads masters and app profiles only within the tenant', async () => {
      const a = (await s.directory.createTenant('a', settings, master)).id;
      const b = (await s.directory.createTenant('b', settings, master)).id;
      await s.directory.createApp(a, 'rt-a', 'rt', []);
      const devices: ApplyReducer = (batch, _snapshot, now) => ({
        changes: {
          masterUpserts: [{ tenantId: a, customerId: 'c', attributes: { name: 'C' }, createdAt: now, updatedAt: now }],
          masterDeletes: [],
          appUpserts: ['d1', 'd2'].map((deviceId) => ({ tenantId: a, appid: 'rt-a', customerId: 'c', deviceId, userId: 'u', attributes: { deviceId }, createdAt: now, updatedAt: now })),
          appDeletes: [],
          events: [],
        },
        results: new Map(batch.map((w) => [w.transid, []])),
      });
      await s.journal.enqueue([wt(a, 'c')], DAY);
      await applierOf(s, 'w', 60_000).applyNext(1, keysOf, devices);
      expect((await s.profiles.getMasterProfiles(a, ['c', 'nobody'])).map((r) => r.attributes)).toEqual([{ name: 'C' }]);
      expect(await s.profiles.getMasterProfiles(b, ['c'])).toEqual([]);
      expect((await s.profiles.getAppProfiles(a, 'rt-a', ['c'])).map((r) => r.deviceId)).toEqual(['d1', 'd2']);
      expect((await s.profiles.findAppProfilesByUserId(a, 'rt-a', 'u')).map((r) => r.deviceId)).toEqual(['d1', 'd2']);
      expect(await s.profiles.findAppProfilesByUserId(b, 'rt-a', 'u')).toEqual([]);
      expect((await s.profiles.getAppProfilesOfCustomers(a, ['c'])).length).toBe(2);
      expect(await s.profiles.getAppProfilesOfCustomers(b, ['c'])).toEqual([]);
    });
  });
});

describe('backend selection', () => {
  it('refuses an unknown backend name instead of skipping it', () => {
    expect(() => selectedBackends('sqlite,oracle')).toThrow(/oracle/);
    expect(selectedBackends(' sqlite , postgres ')).toEqual(['sqlite', 'postgres']);
  });
});
