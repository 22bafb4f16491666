import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channelAttributes } from '../../src/domain/channels.js';
import { type Answer, startTestServer, type TestServer, type TestTenant } from '../support/server.js';
import { waitFor } from '../support/wait.js';

/**
 * Bulk data out over HTTP (docs/bulk-data.md): listing, find by value and export under
 * /openprofiles/v1, behind the profile key like the Profile API. Every answer is checked against
 * the OpenAPI document (test/support/documented-answers.ts).
 */
const V1 = '/openprofiles/v1';
const iso = (ms: number) => new Date(ms).toISOString();
const codeOf = (a: Answer) => a.body?.response?.code ?? a.body?.code;

describe('bulk data out over HTTP', () => {
  let t: TestServer;
  let a: TestTenant;
  let b: TestTenant;

  /** A GET under /openprofiles/v1 through the in-process server. */
  const get = async (path: string, key: string | undefined, headers: Record<string, string> = {}) => {
    const res = await t.server.app.inject({ method: 'GET', url: `${V1}${path}`, headers: { ...(key !== undefined && { key }), ...headers } });
    let body: any = res.body;
    if (String(res.headers['content-type']).startsWith('application/json')) body = res.json();
    return { status: res.statusCode, body, headers: res.headers, text: res.body };
  };

  /** Stored timestamps of a master profile and of an app profile, as the documents show them. */
  const stamps = async (tenantId: number, customerId: string, appid?: string, deviceId = '') => {
    const row = appid
      ? (await t.server.storage.profiles.getAppProfiles(tenantId, appid, [customerId])).find((r) => r.deviceId === deviceId)!
      : (await t.server.storage.profiles.getMasterProfiles(tenantId, [customerId]))[0];
    return { createdAt: iso(row.createdAt), updatedAt: iso(row.updatedAt) };
  };

  beforeAll(async () => {
    t = await startTestServer({ rateLimitHoldMs: 0 });
    const { tenant, key } = await t.admin.createTenant(`bulk-a-${process.pid}`, { batchLimit: 1000 });
    await t.admin.createApp(tenant.id, 'fb', 'a-fb');
    await t.admin.createApp(tenant.id, 'rt', 'a-rt');
    await t.admin.addAttribute(tenant.id, { name: 'vip', type: 'boolean' });
    await t.refresh();
    a = { id: tenant.id, key, apps: { fb: 'a-fb', rt: 'a-rt' } };
    b = await t.tenant(['fb']);
    const write = async (method: string, path: string, key: string, Records: unknown[]) => expect((await t.apply(method, path, key, { Records })).body.code).toBe('1000');
    await write('POST', '/customerprofile', a.key, [
      { customerId: 'c1', Attributes: { name: 'Joe, "JJ"', email: 'joe@example.com', msisdn: '+447700900001' } },
      { customerId: 'c2', Attributes: { name: '', sms: 1, vip: true } },
    ]);
    await write('POST', '/customerappprofile/a-fb', a.key, [{ customerId: 'c1', Attributes: { status: '1', psid: 'p1' } }, { customerId: 'c3', Attributes: { status: '0' } }]);
    await write('POST', '/customerappprofile/a-rt', a.key, [
      { customerId: 'c1', Attributes: { deviceId: 'phone-2', os: 'Android' } },
      { customerId: 'c1', Attributes: { deviceId: 'ipad-1', os: 'iOS', guest: false } },
    ]);
    await write('POST', '/customerprofile', b.key, [{ customerId: 'c1', Attributes: { name: 'Other tenant', email: 'joe@example.com' } }]);
  });
  afterAll(() => t?.close());

  describe('listing', () => {
    it('pages master profiles in customerId order with an opaque cursor, null on the last page', async () => {
      const first = await get('/profiles?limit=1', a.key);
      expect(first.status).toBe(200);
      expect(first.body.data).toEqual([{ customerId: 'c1', attributes: { name: 'Joe, "JJ"', email: 'joe@example.com', msisdn: '+447700900001' }, appProfiles: [], ...(await stamps(a.id, 'c1')) }]);
      expect(first.body.nextCursor).toMatch(/^[A-Za-z0-9_-]+$/);
      const second = await get(`/profiles?limit=1&cursor=${first.body.nextCursor}`, a.key);
      expect(second.body).toEqual({ data: [{ customerId: 'c2', attributes: { name: '', sms: 1, vip: true }, appProfiles: [], ...(await stamps(a.id, 'c2')) }], nextCursor: null });
      // The default limit takes both at once; c3 has app profiles only and is not a master profile.
      expect((await get('/profiles', a.key)).body.data.map((p: any) => p.customerId)).toEqual(['c1', 'c2']);
    });

    it('includes the app profiles, by appId then deviceId, deviceId null off per-device channels', async () => {
      const res = await get('/profiles?include=appProfiles&customerId=c1', a.key);
      expect(res.body.data[0].appProfiles).toEqual([
        { appId: 'a-fb', channel: 'fb', deviceId: null, attributes: { status: '1', psid: 'p1' }, ...(await stamps(a.id, 'c1', 'a-fb')) },
        { appId: 'a-rt', channel: 'rt', deviceId: 'ipad-1', attributes: { deviceId: 'ipad-1', os: 'iOS', guest: false }, ...(await stamps(a.id, 'c1', 'a-rt', 'ipad-1')) },
        { appId: 'a-rt', channel: 'rt', deviceId: 'phone-2', attributes: { deviceId: 'phone-2', os: 'Android' }, ...(await stamps(a.id, 'c1', 'a-rt', 'phone-2')) },
      ]);
    });

    it('finds by email, msisdn and customerId, within the tenant only', async () => {
      const ids = async (query: string, key = a.key) => (await get(`/profiles?${query}`, key)).body.data.map((p: any) => p.customerId);
      expect(await ids('email=joe%40example.com')).toEqual(['c1']);
      expect(await ids('msisdn=%2B447700900001&msisdn=%2B440000000')).toEqual(['c1']);
      expect(await ids('customerId=c2&customerId=c3')).toEqual(['c2']);
      expect(await ids('email=joe%40example.com&customerId=c2')).toEqual([]);
      expect(await ids('email=nobody%40example.com')).toEqual([]);
      // A value no stored one can match (PostgreSQL's text refuses a NUL as a parameter): found nowhere, not 500.
      expect(await ids('email=%00')).toEqual([]);
      expect(await ids('email=joe%40example.com&email=%00joe')).toEqual(['c1']);
      expect(await ids('email=joe%40example.com', b.key)).toEqual(['c1']);
      expect((await get('/profiles?email=joe%40example.com', b.key)).body.data[0].attributes.name).toBe('Other tenant');
      // Parameters named for no master attribute are ignored, as everywhere in the API.
      expect(await ids('showinwardlinks=9&frobnicate=1')).toEqual(['c1', 'c2']);
    });

    it('answers 7909 naming the attribute for a filter on one not indexed, and finds by it once it is', async () => {
      const refused = await get('/profiles?name=Joe', a.key);
      expect([refused.status, codeOf(refused)]).toEqual([400, '7909']);
      expect(refused.body.response.errors[0]).toMatchObject({ attribute: 'name' });
      await t.server.storage.profileScan.indexMasterAttribute(a.id, 'name');
      await t.refresh();
      expect((await get(`/profiles?name=${encodeURIComponent('Joe, "JJ"')}`, a.key)).body.data.map((p: any) => p.customerId)).toEqual(['c1']);
    });

    it('filters by updatedSince', async () => {
      const { updatedAt } = await stamps(a.id, 'c2');
      expect((await get(`/profiles?updatedSince=${encodeURIComponent(updatedAt)}`, a.key)).body.data.map((p: any) => p.customerId)).toContain('c2');
      expect((await get('/profiles?updatedSince=2999-01-01T00:00:00%2B05:30', a.key)).body).toEqual({ data: [], nextCursor: null });
    });

    it('answers 7908 for a malformed cursor, another tenant\'s cursor, and a cursor made for other filters', async () => {
      for (const cursor of ['garbage!', 'Z2FyYmFnZQ', Buffer.from('{"v":1,"t":"1","k":"c1","f":"x"}').toString('base64url')]) {
        const res = await get(`/profiles?cursor=${encodeURIComponent(cursor)}`, a.key);
        expect([res.status, codeOf(res)], cursor).toEqual([400, '7908']);
      }
      const b2 = await t.tenant([]);
      await t.apply('POST', '/customerprofile', b2.key, { Records: [{ customerId: 'x1' }, { customerId: 'x2' }] });
      const foreign = (await get('/profiles?limit=1', b2.key)).body.nextCursor;
      expect(foreign).toEqual(expect.any(String));
      const res = await get(`/profiles?limit=1&cursor=${foreign}`, a.key);
      expect([res.status, codeOf(res), res.body.response.errors[0].reason]).toEqual([400, '7908', 'The cursor was made for another tenant']);
      const mine = (await get('/profiles?limit=1', a.key)).body.nextCursor;
      const otherFilters = await get(`/profiles?limit=1&cursor=${mine}&updatedSince=2000-01-01T00:00:00Z`, a.key);
      expect([otherFilters.status, codeOf(otherFilters)]).toEqual([400, '7908']);
      // The limit and include may change from page to page.
      expect((await get(`/profiles?limit=5&include=appProfiles&cursor=${mine}`, a.key)).status).toBe(200);
    });

    it('answers 7003 for a limit outside 1–1000, a malformed updatedSince, an unknown include, an empty value', async () => {
      for (const query of ['limit=0', 'limit=1001', 'limit=ten', 'limit=', 'updatedSince=2026-02-30T00:00:00Z', 'updatedSince=yesterday', 'include=everything', 'email=', 'customerId=', 'customerId=ok&customerId=']) {
        const res = await get(`/profiles?${query}`, a.key);
        expect([res.status, codeOf(res)], query).toEqual([400, '7003']);
      }
      expect((await get('/profiles?limit=1000', a.key)).status).toBe(200);
    });

    it('takes the key, allow list and rate limit exactly as the Profile API', async () => {
      expect(codeOf(await get('/profiles', undefined))).toBe('7002');
      expect(codeOf(await get('/export', 'not-a-key'))).toBe('7001');
      const { tenant, key } = await t.admin.createTenant(`bulk-guarded-${process.pid}`, { rateLimit: 1 });
      await t.admin.setAllowList(tenant.id, ['203.0.113.0/24']);
      await t.refresh();
      const refused = await get('/profiles', key);
      expect([refused.status, codeOf(refused)]).toEqual([403, '7010']);
      await t.admin.setAllowList(tenant.id, []);
      await t.refresh();
      const answers = [await get('/profiles', key), await get('/export', key)];
      expect(answers.map((r) => r.status)).toEqual([200, 429]);
      expect(codeOf(answers[1])).toBe('7020');
      expect(answers[1].headers['retry-after']).toBeDefined();
    });
  });

  describe('export', () => {
    const masterColumns = ['name', 'email', 'msisdn', 'sms', 'voice', 'ussd', 'rt', 'fb', 'fbc', 'twitter', 'mxit', 'wechat', 'wa', 'vip'];

    it('streams one profile document per line (NDJSON): master profiles, then customers with app profiles only', async () => {
      const res = await get('/export', a.key);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('application/x-ndjson');
      const c1 = await stamps(a.id, 'c1');
      const c2 = await stamps(a.id, 'c2');
      const fb1 = await stamps(a.id, 'c1', 'a-fb');
      const fb3 = await stamps(a.id, 'c3', 'a-fb');
      const ipad = await stamps(a.id, 'c1', 'a-rt', 'ipad-1');
      const phone = await stamps(a.id, 'c1', 'a-rt', 'phone-2');
      expect(res.text).toBe(
        `{"customerId":"c1","attributes":{"name":"Joe, \\"JJ\\"","email":"joe@example.com","msisdn":"+447700900001"},"appProfiles":[` +
          `{"appId":"a-fb","channel":"fb","deviceId":null,"attributes":{"status":"1","psid":"p1"},"createdAt":"${fb1.createdAt}","updatedAt":"${fb1.updatedAt}"},` +
          `{"appId":"a-rt","channel":"rt","deviceId":"ipad-1","attributes":{"deviceId":"ipad-1","os":"iOS","guest":false},"createdAt":"${ipad.createdAt}","updatedAt":"${ipad.updatedAt}"},` +
          `{"appId":"a-rt","channel":"rt","deviceId":"phone-2","attributes":{"deviceId":"phone-2","os":"Android"},"createdAt":"${phone.createdAt}","updatedAt":"${phone.updatedAt}"}],` +
          `"createdAt":"${c1.createdAt}","updatedAt":"${c1.updatedAt}"}\n` +
          `{"customerId":"c2","attributes":{"name":"","sms":1,"vip":true},"appProfiles":[],"createdAt":"${c2.createdAt}","updatedAt":"${c2.updatedAt}"}\n` +
          `{"customerId":"c3","attributes":null,"appProfiles":[{"appId":"a-fb","channel":"fb","deviceId":null,"attributes":{"status":"0"},"createdAt":"${fb3.createdAt}","updatedAt":"${fb3.updatedAt}"}],"createdAt":null,"updatedAt":null}\n`,
      );
    });

    it('writes master profiles as CSV: strings quoted, numbers and booleans bare, absent values empty', async () => {
      const res = await get('/export?format=csv', a.key);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
      const c1 = await stamps(a.id, 'c1');
      const c2 = await stamps(a.id, 'c2');
      const empty = (n: number) => ','.repeat(n);
      expect(res.text).toBe(
        `${['customerId', ...masterColumns, 'createdAt', 'updatedAt'].map((h) => `"${h}"`).join(',')}\n` +
          `"c1","Joe, ""JJ""","joe@example.com","+447700900001"${empty(11)},"${c1.createdAt}","${c1.updatedAt}"\n` +
          `"c2","",,,1${empty(9)},true,"${c2.createdAt}","${c2.updatedAt}"\n`,
      );
    });

    it("exports one app's app profiles (app=): one line per device, deviceId empty off per-device channels", async () => {
      const ipad = await stamps(a.id, 'c1', 'a-rt', 'ipad-1');
      const phone = await stamps(a.id, 'c1', 'a-rt', 'phone-2');
      const rtColumns = channelAttributes('rt').map((d) => d.name).filter((n) => n !== 'deviceId');
      const cells = (values: Record<string, string>) => rtColumns.map((n) => values[n] ?? '').join(',');
      const csv = await get('/export?format=csv&app=a-rt', a.key);
      expect(csv.text).toBe(
        `${['customerId', 'deviceId', ...rtColumns, 'createdAt', 'updatedAt'].map((h) => `"${h}"`).join(',')}\n` +
          `"c1","ipad-1",${cells({ os: '"iOS"', guest: 'false' })},"${ipad.createdAt}","${ipad.updatedAt}"\n` +
          `"c1","phone-2",${cells({ os: '"Android"' })},"${phone.createdAt}","${phone.updatedAt}"\n`,
      );
      const fb1 = await stamps(a.id, 'c1', 'a-fb');
      const fb3 = await stamps(a.id, 'c3', 'a-fb');
      const ndjson = await get('/export?app=a-fb&format=ndjson', a.key);
      expect(ndjson.text).toBe(
        `{"customerId":"c1","appId":"a-fb","channel":"fb","deviceId":null,"attributes":{"status":"1","psid":"p1"},"createdAt":"${fb1.createdAt}","updatedAt":"${fb1.updatedAt}"}\n` +
          `{"customerId":"c3","appId":"a-fb","channel":"fb","deviceId":null,"attributes":{"status":"0"},"createdAt":"${fb3.createdAt}","updatedAt":"${fb3.updatedAt}"}\n`,
      );
      const fbCsv = await get('/export?format=csv&app=a-fb', a.key);
      expect(fbCsv.text.split('\n')[1]).toMatch(/^"c1",,"1",/);
    });

    it("answers 7018 for another tenant's app or an unknown one, 7003 for an unknown format, and exports an empty tenant as nothing", async () => {
      for (const path of [`/export?app=${b.apps.fb}`, '/export?app=nope']) {
        const res = await get(path, a.key);
        expect([res.status, codeOf(res)], path).toEqual([403, '7018']);
      }
      const res = await get('/export?format=xml', a.key);
      expect([res.status, codeOf(res)]).toEqual([400, '7003']);
      const empty = await t.tenant([]);
      expect((await get('/export', empty.key)).text).toBe('');
      expect((await get('/export?format=csv', empty.key)).text.split('\n')).toHaveLength(2);
    });
  });

  it('lists 10,000 profiles in pages of 1,000, each exactly once, while writes to other customers go on', async () => {
    const { tenant, key } = await t.admin.createTenant(`bulk-many-${process.pid}`, { batchLimit: 1000, rateLimit: 100_000 });
    await t.refresh();
    const id = (n: number) => `m${String(n).padStart(5, '0')}`;
    for (let batch = 0; batch < 10; batch++) {
      const Records = Array.from({ length: 1000 }, (_, i) => ({ customerId: id(batch * 1000 + i), Attributes: { name: `M${batch}` } }));
      expect((await t.apply('POST', '/customerprofile', key, { Records })).body.code).toBe('1000');
    }
    // Other customers, created, updated and deleted while the listing runs; their ids sort among the listed ones.
    let isListing = true;
    let writes = 0;
    const writer = (async () => {
      for (let n = 0; isListing; n++) {
        const others = Array.from({ length: 20 }, (_, i) => ({ customerId: `${id((n * 389 + i * 500) % 10_000)}-other${n}`, Attributes: { name: 'O' } }));
        await t.apply('POST', '/customerprofile', key, { Records: others });
        await t.apply('PUT', '/customerprofile', key, { Records: others.slice(0, 10).map((r) => ({ ...r, Attributes: { name: 'P' } })) });
        await t.apply('DELETE', `/customerprofile?${others.slice(10).map((r) => `customerId=${r.customerId}`).join('&')}`, key);
        writes++;
      }
    })();
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await get(`/profiles?limit=1000${cursor ? `&cursor=${cursor}` : ''}`, key);
      expect(res.status).toBe(200);
      seen.push(...res.body.data.map((p: any) => p.customerId));
      cursor = res.body.nextCursor;
      // Each page waits for a round of writes to land between it and the next.
      const before = writes;
      await waitFor(() => writes > before, { timeoutMs: 20_000, description: 'a round of writes to other customers' });
    } while (cursor !== null);
    isListing = false;
    await writer;
    expect(seen.filter((c) => /^m\d{5}$/.test(c))).toEqual(Array.from({ length: 10_000 }, (_, n) => id(n)));
    expect(new Set(seen).size).toBe(seen.length);
    expect(tenant.id).toBeGreaterThan(0);
  }, 120_000);
});
