import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestTenant } from '../support/server.js';
import { waitFor } from '../support/wait.js';

const one = (customerId: string, Attributes: Record<string, unknown>) => ({ Records: [{ customerId, Attributes }] });

describe('operations endpoints', () => {
  let t: TestServer;
  let a: TestTenant;
  beforeAll(async () => {
    t = await startTestServer();
    a = await t.tenant(['fb']);
  });
  afterAll(() => t.close());

  const get = async (url: string) => t.server.app.inject({ method: 'GET', url });

  it('answers /healthz and /readyz', async () => {
    expect((await get('/healthz')).json()).toEqual({ status: 'ok' });
    expect((await get('/readyz')).json()).toEqual({ status: 'ready' });
  });

  it('exports requests by route and code, latency, queue depth, oldest age and write transactions by outcome', async () => {
    await t.apply('POST', '/customerprofile', a.key, one('m1', { name: 'M' }));
    await t.apply('POST', '/customerprofile', a.key, one('m1', { name: 'M' }));
    await t.api('GET', '/customerprofile/nobody', { key: a.key });
    // The writer thread reports applied batches by message, which can land just after the status
    // read that ended the wait; the counters are eventually consistent, so poll for them.
    await expect.poll(async () => (await get('/metrics')).body).toMatch(/openprofiles_write_transactions_total\{outcome="partial"\} 1/);
    const text = (await get('/metrics')).body;
    expect(text).toMatch(/openprofiles_http_requests_total\{route="\/resources\/v2\/customerprofile\/:customerId",method="GET",status="404",code="7014"\} 1/);
    expect(text).toMatch(/openprofiles_http_request_duration_seconds_bucket\{le="0.005",route="\/resources\/v2\/customerprofile",method="POST"\}/);
    expect(text).toMatch(/openprofiles_queue_depth \d+/);
    expect(text).toMatch(/openprofiles_queue_oldest_age_seconds [\d.]+/);
    expect(text).toMatch(/openprofiles_write_transactions_total\{outcome="success"\} 1/);
    expect(text).toMatch(/openprofiles_write_transactions_total\{outcome="partial"\} 1/);
  });

  it('serves an OpenAPI 3.1 document with every Profile API route', async () => {
    const doc = (await get('/openapi.json')).json();
    expect(doc.openapi).toBe('3.1.0');
    const routes = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops as object).map((m) => `${m.toUpperCase()} ${path}`));
    for (const route of [
      'GET /resources/v2/customerprofile/{customerId}',
      'POST /resources/v2/customerprofile',
      'PUT /resources/v2/customerprofiles/{appid}',
      'PUT /resources/v2/customerappprofile/{appid}',
      'DELETE /resources/v2/customerappprofile/{appid}/{customerId}/{deviceId}',
      'GET /resources/v2/profile/status/{transid}',
    ]) {
      expect(routes).toContain(route);
    }
  });

  it('names every operation uniquely, says where it is served, and asks no key of the operations endpoints', async () => {
    const doc = (await get('/openapi.json')).json();
    expect(doc.servers).toEqual([{ url: '/', description: 'This server' }]);
    const operations = Object.entries(doc.paths).flatMap(([path, ops]) => Object.values(ops as object).map((op) => ({ path, ...op })));
    const ids = operations.map((op) => op.operationId);
    expect(ids.every((id) => typeof id === 'string' && id.length > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const op of operations) {
      // The Profile API and the extension API take the profile key (the document's default security).
      if (op.path.startsWith('/resources/v2') || op.path.startsWith('/openprofiles/v1')) expect(op.security, op.path).toBeUndefined();
      else expect(op.security, op.path).toEqual([]);
    }
    expect(doc.security).toEqual([{ profileKey: [] }, { secretKey: [] }]);
  });
});

describe('extensions', () => {
  let t: TestServer;
  let a: TestTenant;
  beforeAll(async () => {
    t = await startTestServer();
    a = await t.tenant([]);
  });
  afterAll(() => t.close());

  it('Prefer: wait answers 200 with the final status and says so in Preference-Applied', async () => {
    const res = await t.api('POST', '/customerprofile', { key: a.key, body: one('w1', { name: 'W' }), headers: { prefer: 'wait=5' } });
    expect(res.status).toBe(200);
    expect(res.headers['preference-applied']).toBe('wait=5');
    expect(res.body).toMatchObject({ code: '1000', Results: [{ customerId: 'w1', code: '1000' }] });
  });

  it('Prefer: wait past its time answers the 7600 status with the state', async () => {
    const t2 = await startTestServer({ isWorkerEnabled: false });
    try {
      const b = await t2.tenant([]);
      const res = await t2.api('POST', '/customerprofile', { key: b.key, body: one('w', {}), headers: { prefer: 'wait=1' } });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ code: '7600', state: 'queued', TotalCount: 1 });
    } finally {
      await t2.close();
    }
  });

  it('Idempotency-Key: a replay queues nothing new and answers the original transid', async () => {
    const t2 = await startTestServer({ isWorkerEnabled: false });
    try {
      const b = await t2.tenant([]);
      const headers = { 'idempotency-key': 'same' };
      const first = await t2.api('POST', '/customerprofile', { key: b.key, body: one('i1', { name: 'A' }), headers });
      const second = await t2.api('POST', '/customerprofile', { key: b.key, body: one('i1', { name: 'A' }), headers });
      expect(second.status).toBe(202);
      expect(second.body.response.transid).toBe(first.body.response.transid);
      expect((await t2.server.storage.journal.queueStats()).depth).toBe(1);
    } finally {
      await t2.close();
    }
  });

  it('deleteProfile ?cascade=1 erases the app profiles too; without it they stay', async () => {
    const b = await t.tenant(['fb']);
    for (const id of ['keep', 'gone']) {
      await t.apply('POST', '/customerprofile', b.key, one(id, { name: id }));
      await t.apply('POST', `/customerappprofile/${b.apps.fb}`, b.key, one(id, { status: '1' }));
    }
    await t.apply('DELETE', '/customerprofile/keep', b.key);
    await t.apply('DELETE', '/customerprofile/gone?cascade=1', b.key);
    expect((await t.api('GET', `/customerappprofile/${b.apps.fb}/keep`, { key: b.key })).status).toBe(200);
    expect((await t.api('GET', `/customerappprofile/${b.apps.fb}/gone`, { key: b.key })).status).toBe(404);
  });

  it('round-trips unicode values exactly, including NUL, lone surrogates and emoji', async () => {
    const values = ['Zoë 😀', 'a\u0000b', '\ud800', '日本語', "'; DROP TABLE master_profiles; --"];
    const body = { Records: values.map((name, i) => ({ customerId: `u${i}`, Attributes: { name } })) };
    const st = await t.apply('POST', '/customerprofile', a.key, body);
    expect(st.body.code).toBe('1000');
    for (const [i, name] of values.entries()) {
      const read = await t.api('GET', `/customerprofile/u${i}`, { key: a.key });
      expect(read.body.Records[0].Attributes.find((e: { Name: string }) => e.Name === 'name').Value).toBe(name);
    }
  });
});

describe('client address and proxies', () => {
  it('believes X-Forwarded-For only from a trusted proxy, for IPv4 and IPv6 entries', async () => {
    const t = await startTestServer({ trustProxy: ['10.9.9.9'] });
    try {
      const a = await t.tenant([]);
      await t.admin.setAllowList(a.id, ['198.51.100.0/24', '2001:db8::/32']);
      await t.refresh();
      const get = (remoteAddress: string, xff?: string) =>
        t.api('GET', '/customerprofile/x', { key: a.key, remoteAddress, headers: xff ? { 'x-forwarded-for': xff } : {} });
      expect((await get('10.9.9.9', '198.51.100.7')).status).toBe(404);
      expect((await get('10.9.9.9', '2001:db8::1')).status).toBe(404);
      expect((await get('10.9.9.9', '203.0.113.1')).status).toBe(403);
      // An untrusted peer's header is ignored: its own address decides.
      expect((await get('192.0.2.1', '198.51.100.7')).status).toBe(403);
      expect((await get('2001:db8::5')).status).toBe(404);
      expect((await get('::ffff:198.51.100.9')).status).toBe(404);
    } finally {
      await t.close();
    }
  });
});

describe('retention', () => {
  it('purges finished write transactions past the tenant retention', async () => {
    const t = await startTestServer({ retentionSweepMs: 100 });
    try {
      const a = await t.tenant([]);
      await t.admin.updateSettings(a.id, { retentionDays: 0.5 / 86_400 }); // half a second
      await t.refresh();
      const st = await t.apply('POST', '/customerprofile', a.key, one('r1', {}));
      expect(st.body.code).toBe('1000');
      // Past the retention, a sweep purges it: its status becomes unknown.
      const status = await waitFor(
        async () => {
          const { body } = await t.api('GET', `/profile/status/${st.body.transid}`, { key: a.key });
          return body.state === 'unknown' && body;
        },
        { timeoutMs: 10_000, intervalMs: 50, description: 'the write transaction purged' },
      );
      expect(status).toMatchObject({ code: '7600', state: 'unknown' });
      expect((await t.api('GET', '/customerprofile/r1', { key: a.key })).status).toBe(200);
    } finally {
      await t.close();
    }
  });
});
