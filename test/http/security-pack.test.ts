import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { type Answer, queryStore, startTestServer, type TestServer, type TestTenant } from '../support/server.js';

/**
 * The shared security pack: every Profile API route, called without a key, with a wrong key, a
 * revoked key, and another tenant's key on this tenant's appid, customerId and transid. Nothing
 * answers with data, and nothing tells that the other tenant's data exists.
 */
const codeOf = (a: Answer) => a.body?.response?.code ?? a.body?.code;
const one = (customerId: string, Attributes: Record<string, unknown>) => ({ Records: [{ customerId, Attributes }] });

interface Route {
  name: string;
  method: string;
  path: (ids: { appid: string; rtApp: string; customerId: string; transid: string }) => string;
  body?: unknown;
  /** What another tenant's key gets here: the appid is not its own (7018), or the customer is not found. */
  foreign: 'appid' | 'read-404' | 'read-empty' | 'write' | 'status';
}

const ROUTES: Route[] = [
  { name: 'getProfile', method: 'GET', path: (i) => `/customerprofile/${i.customerId}?showinwardlinks=2`, foreign: 'read-404' },
  { name: 'getProfile many', method: 'GET', path: (i) => `/customerprofile?customerId=${i.customerId}`, foreign: 'read-empty' },
  { name: 'createProfile', method: 'POST', path: () => '/customerprofile', body: one('owned', { name: 'M' }), foreign: 'write' },
  { name: 'updateProfile', method: 'PUT', path: () => '/customerprofile', body: one('owned', { name: 'Mallory' }), foreign: 'write' },
  { name: 'deleteProfile', method: 'DELETE', path: (i) => `/customerprofile/${i.customerId}`, foreign: 'write' },
  { name: 'deleteProfile many', method: 'DELETE', path: (i) => `/customerprofile?customerId=${i.customerId}`, foreign: 'write' },
  { name: 'getAppProfile', method: 'GET', path: (i) => `/customerappprofile/${i.appid}/${i.customerId}`, foreign: 'appid' },
  { name: 'getAppProfile many', method: 'GET', path: (i) => `/customerappprofile/${i.appid}?customerId=${i.customerId}`, foreign: 'appid' },
  { name: 'getAppProfile identifier', method: 'GET', path: (i) => `/customerappprofile/${i.rtApp}?identifier=user-owned`, foreign: 'appid' },
  { name: 'createAppProfile', method: 'POST', path: (i) => `/customerappprofile/${i.appid}`, body: one('owned', { status: '0' }), foreign: 'appid' },
  { name: 'updateAppProfile (seed path)', method: 'PUT', path: (i) => `/customerprofiles/${i.appid}`, body: one('owned', { status: '0' }), foreign: 'appid' },
  { name: 'updateAppProfile', method: 'PUT', path: (i) => `/customerappprofile/${i.appid}`, body: one('owned', { status: '0' }), foreign: 'appid' },
  { name: 'deleteAppProfile', method: 'DELETE', path: (i) => `/customerappprofile/${i.appid}/${i.customerId}`, foreign: 'appid' },
  { name: 'deleteAppProfile identifier', method: 'DELETE', path: (i) => `/customerappprofile/${i.rtApp}?identifier=user-owned`, foreign: 'appid' },
  { name: 'deleteDevice', method: 'DELETE', path: (i) => `/customerappprofile/${i.rtApp}/${i.customerId}/dev-owned`, foreign: 'appid' },
  { name: 'getProfileStatus', method: 'GET', path: (i) => `/profile/status/${i.transid}`, foreign: 'status' },
];

describe('security pack over every route', () => {
  let t: TestServer;
  let owner: TestTenant;
  let other: TestTenant;
  let revokedKey: string;
  let transid: string;
  const ids = () => ({ appid: owner.apps.fb, rtApp: owner.apps.rt, customerId: 'owned', transid });

  const snapshot = async () => ({
    master: (await t.api('GET', '/customerprofile/owned?showinwardlinks=2', { key: owner.key })).body.Records,
    fb: (await t.api('GET', `/customerappprofile/${owner.apps.fb}/owned`, { key: owner.key })).body.Records,
    rt: (await t.api('GET', `/customerappprofile/${owner.apps.rt}/owned`, { key: owner.key })).body.Records,
  });
  let before: unknown;

  beforeAll(async () => {
    t = await startTestServer();
    owner = await t.tenant(['fb', 'rt']);
    other = await t.tenant(['fb', 'rt']);
    await t.apply('POST', '/customerprofile', owner.key, one('owned', { name: 'Owner' }));
    await t.apply('POST', `/customerappprofile/${owner.apps.fb}`, owner.key, one('owned', { status: '1', psid: 'p' }));
    const st = await t.apply('POST', `/customerappprofile/${owner.apps.rt}`, owner.key, one('owned', { userId: 'user-owned', deviceId: 'dev-owned' }));
    transid = st.body.transid;
    const extra = await t.admin.createKey(owner.id);
    revokedKey = extra.key;
    await t.server.storage.keys.revokeProfileKey(owner.id, extra.keyId);
    await t.refresh();
    before = await snapshot();
  });
  afterAll(() => t.close());

  for (const route of ROUTES) {
    describe(route.name, () => {
      const call = (key?: string) => t.api(route.method, route.path(ids()), { key, body: route.body, headers: { prefer: 'wait=10' } });

      it('answers 7002 without a key', async () => {
        const res = await call();
        expect([codeOf(res), res.status]).toEqual(['7002', 401]);
      });

      it('answers 7001 for a wrong key and for a revoked key', async () => {
        for (const key of ['opk_wrong', revokedKey]) {
          const res = await call(key);
          expect([codeOf(res), res.status]).toEqual(['7001', 401]);
        }
      });

      it("reveals nothing of the other tenant's data to its key", async () => {
        const res = await call(other.key);
        const text = JSON.stringify(res.body);
        expect(text).not.toMatch(/Owner|user-owned|dev-owned|"p"/);
        switch (route.foreign) {
          case 'appid':
            expect([codeOf(res), res.status]).toEqual(['7018', 403]);
            break;
          case 'read-404':
            expect([codeOf(res), res.status]).toEqual(['7014', 404]);
            break;
          case 'read-empty':
            expect(res.body).toMatchObject({ code: '1000', Records: [], NotFound: ['owned'] });
            break;
          case 'write':
            // Applied against the other tenant's own (empty) space: created there, or not found there.
            expect(res.status).toBe(200);
            for (const r of res.body.Results) expect(['1000', '7014', '7203']).toContain(r.code);
            break;
          case 'status':
            expect(res.body).toMatchObject({ code: '7600', state: 'unknown' });
            break;
        }
      });
    });
  }

  it('stores keys only as SHA-256 hashes: no stored value holds a key', async () => {
    const rows = await queryStore(t, 'SELECT * FROM profile_keys');
    expect(rows.length).toBeGreaterThanOrEqual(3);
    const stored = JSON.stringify(rows);
    for (const key of [owner.key, other.key, revokedKey]) {
      expect(stored).not.toContain(key);
      expect(stored).toContain(createHash('sha256').update(key).digest('hex'));
    }
  });

  it("leaves the owner's profiles exactly as they were", async () => {
    expect(await snapshot()).toEqual(before);
  });
});
