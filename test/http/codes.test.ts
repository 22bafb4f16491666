import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Answer, queryStore, startTestServer, type TestServer, type TestTenant } from '../support/server.js';

const codeOf = (a: Answer) => a.body?.response?.code ?? a.body?.code;
const expectCode = (a: Answer, code: string, status: number) => {
  expect({ code: codeOf(a), status: a.status }, JSON.stringify(a.body)).toEqual({ code, status });
};
/** Writes invalid JSON into a stored master profile, directly in the backend's store. */
// JSON `null` in place of the attributes object: text that is not JSON cannot be stored any more,
// since the attribute indexes (migration 0004) read every row's JSON as it is written.
const corruptMasterRow = (t: TestServer, customerId: string) =>
  queryStore(t, "UPDATE master_profiles SET attributes = 'null' WHERE customer_id = $1", [customerId]);

const one = (customerId: string, Attributes: Record<string, unknown>) => ({ Records: [{ customerId, Attributes }] });

describe('every API code at its HTTP status', () => {
  let t: TestServer;
  let a: TestTenant;
  let b: TestTenant;

  beforeAll(async () => {
    t = await startTestServer();
    a = await t.tenant();
    b = await t.tenant(['fb']);
  });
  afterAll(() => t.close());

  it('answers 1001 (HTTP 202) for a queued write in legacy format, exactly the seed body', async () => {
    const res = await t.api('POST', '/customerprofile', { key: a.key, body: one('c1', { name: 'Ada' }) });
    expect(res.status).toBe(202);
    expect(Object.keys(res.body)).toEqual(['response']);
    expect(Object.keys(res.body.response)).toEqual(['code', 'description', 'transid']);
    expect(res.body.response).toMatchObject({ code: '1001', description: 'Queued' });
  });

  it('answers 1000 (HTTP 200) for a read, and 1000 SUCCESS from the status API once applied', async () => {
    const st = await t.apply('POST', '/customerprofile', a.key, one('c2', { name: 'Bob' }));
    expectCode(st, '1000', 200);
    expect(st.body).toMatchObject({ description: 'SUCCESS', TotalCount: 1, SuccessCount: 1, FailureCount: 0 });
    expectCode(await t.api('GET', '/customerprofile/c2', { key: a.key }), '1000', 200);
  });

  it('answers 1002 Partial success with per-record 7015, 7014 and 7203', async () => {
    await t.apply('POST', '/customerprofile', a.key, one('c3', { name: 'C' }));
    const again = await t.apply('POST', '/customerprofile', a.key, one('c3', { name: 'C' }));
    expectCode(again, '1002', 200);
    expect(again.body.Results[0]).toMatchObject({ customerId: 'c3', code: '7015' });
    const ghost = await t.apply('PUT', '/customerprofile', a.key, one('ghost', { name: 'G' }));
    expect(ghost.body).toMatchObject({ code: '1002', description: 'Partial success', Results: [{ customerId: 'ghost', code: '7014' }] });
    const del = await t.apply('DELETE', '/customerprofile/ghost', a.key);
    expect(del.body).toMatchObject({ code: '1002', Results: [{ customerId: 'ghost', code: '7203' }] });
  });

  it('answers 7000 (HTTP 400) for a body that is not JSON, and for JSON that is not an object', async () => {
    expectCode(await t.api('POST', '/customerprofile', { key: a.key, body: '{"Records": [' }), '7000', 400);
    expectCode(await t.api('POST', '/customerprofile', { key: a.key, body: '[1,2]' }), '7000', 400);
    expectCode(await t.api('POST', '/customerprofile', { key: a.key, body: '"text"' }), '7000', 400);
  });

  it('answers 7001 (HTTP 401) for an unknown key and 7002 (HTTP 401) without one', async () => {
    expectCode(await t.api('GET', '/customerprofile/c1', { key: 'opk_nope' }), '7001', 401);
    expectCode(await t.api('GET', '/customerprofile/c1'), '7002', 401);
  });

  it('accepts the key in the secretKey header too', async () => {
    expectCode(await t.api('GET', '/customerprofile/c2', { headers: { secretKey: a.key } }), '1000', 200);
  });

  it('answers 7003 (HTTP 400) for missing Records, empty Records, a record without customerId, an rt record without deviceId', async () => {
    expectCode(await t.api('POST', '/customerprofile', { key: a.key, body: { Record: [] } }), '7003', 400);
    expectCode(await t.api('POST', '/customerprofile', { key: a.key, body: { Records: [] } }), '7003', 400);
    expectCode(await t.api('POST', '/customerprofile', { key: a.key, body: { Records: [{ Attributes: { name: 'x' } }] } }), '7003', 400);
    const rt = await t.api('POST', `/customerappprofile/${a.apps.rt}`, { key: a.key, body: one('c1', { userId: 'u', os: 'ios' }) });
    expectCode(rt, '7003', 400);
    expect(rt.body.response.errors).toContainEqual(expect.objectContaining({ index: 0, customerId: 'c1', attribute: 'deviceId' }));
  });

  it('answers 7010 (HTTP 403) outside the allow list, and 7208 on deleteProfile', async () => {
    const c = await t.tenant([]);
    await t.admin.setAllowList(c.id, ['203.0.113.0/24']);
    await t.refresh();
    expectCode(await t.api('GET', '/customerprofile/x', { key: c.key }), '7010', 403);
    expectCode(await t.api('DELETE', '/customerprofile/x', { key: c.key }), '7208', 403);
    expectCode(await t.api('GET', '/customerprofile/x', { key: c.key, remoteAddress: '203.0.113.9' }), '7014', 404);
  });

  it('answers 7011 (HTTP 400) naming every bad record and attribute', async () => {
    const body = {
      Records: [
        { customerId: 'ok', Attributes: { name: 'fine' } },
        { customerId: 'bad1', Attributes: { shoe_size: '42', msisdn: 'abc' } },
        { customerId: 'bad2', Attributes: { email: { x: 1 } } },
      ],
    };
    const res = await t.api('POST', '/customerprofile', { key: a.key, body });
    expectCode(res, '7011', 400);
    const named = res.body.response.errors.map((e: any) => [e.index, e.customerId, e.attribute]);
    expect(named).toEqual([
      [1, 'bad1', 'shoe_size'],
      [1, 'bad1', 'msisdn'],
      [2, 'bad2', 'email'],
    ]);
    for (const e of res.body.response.errors) expect(e.reason).toMatch(/\w/);
  });

  it('answers 7012 (HTTP 400) over the batch limit and 7012 (HTTP 413) over the body size limit', async () => {
    const many = { Records: Array.from({ length: 101 }, (_, i) => ({ customerId: `m${i}`, Attributes: { name: 'x' } })) };
    expectCode(await t.api('POST', '/customerprofile', { key: a.key, body: many }), '7012', 400);
    const huge = one('big', { name: 'x'.repeat(1_100_000) });
    expectCode(await t.api('POST', '/customerprofile', { key: a.key, body: huge }), '7012', 413);
  });

  it('answers 7014 (HTTP 404) for an unknown customer on reads', async () => {
    expectCode(await t.api('GET', '/customerprofile/nobody', { key: a.key }), '7014', 404);
    expectCode(await t.api('GET', `/customerappprofile/${a.apps.fb}/nobody`, { key: a.key }), '7014', 404);
  });

  it("answers 7018 (HTTP 403) for an unknown appid and for another tenant's appid", async () => {
    expectCode(await t.api('PUT', '/customerprofiles/no-such-app', { key: a.key, body: one('c1', { status: '1' }) }), '7018', 403);
    expectCode(await t.api('GET', `/customerappprofile/${b.apps.fb}/c1`, { key: a.key }), '7018', 403);
  });

  it('answers 7020 (HTTP 429) with Retry-After over the rate limit, and RateLimit-* headers on every answer', async () => {
    const c = await t.tenant([]);
    await t.admin.updateSettings(c.id, { rateLimit: 2 });
    await t.refresh();
    const answers: Answer[] = [];
    while (answers.length < 4 && answers.at(-1)?.status !== 429) answers.push(await t.api('GET', '/customerprofile/x', { key: c.key }));
    expect(answers[0].headers['ratelimit-limit']).toBe('2');
    expect(answers[0].headers['ratelimit-remaining']).toBe('1');
    const refused = answers.at(-1)!;
    expectCode(refused, '7020', 429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // Held PROFILES_RATE_LIMIT_HOLD_MS (default 1 s, at most Retry-After) before it is answered, so
    // a client ignoring Retry-After cannot spin on refusals: the same request sent again at once
    // finds a token again (refused at once, it would be refused again).
    expect((await t.api('GET', '/customerprofile/x', { key: c.key })).status).toBe(404);
  });

  it('answers 7600 (HTTP 200) with state "unknown" for an unknown transid and for a malformed one', async () => {
    const res = await t.api('GET', `/profile/status/${randomUUID()}`, { key: a.key });
    expectCode(res, '7600', 200);
    expect(res.body.state).toBe('unknown');
    expect((await t.api('GET', '/profile/status/not-a-uuid', { key: a.key })).body.state).toBe('unknown');
  });

  it('answers 7901 (HTTP 422) for an idempotency key reused with another body', async () => {
    const headers = { 'idempotency-key': 'k-7901' };
    const first = await t.api('POST', '/customerprofile', { key: a.key, body: one('i1', { name: 'A' }), headers });
    const replay = await t.api('POST', '/customerprofile', { key: a.key, body: one('i1', { name: 'A' }), headers });
    expect(replay.body.response.transid).toBe(first.body.response.transid);
    expectCode(await t.api('POST', '/customerprofile', { key: a.key, body: one('i1', { name: 'B' }), headers }), '7901', 422);
  });

  it('answers an unknown route with HTTP 404', async () => {
    expect((await t.api('GET', '/no-such-route', { key: a.key })).status).toBe(404);
  });
});

describe('codes that need a server in a particular state', () => {
  it('answers 7902 (HTTP 503) with Retry-After when the queue is full', async () => {
    const t = await startTestServer({ isWorkerEnabled: false, maxQueueRecords: 2 });
    try {
      const a = await t.tenant([]);
      const body = { Records: [{ customerId: 'q1', Attributes: {} }, { customerId: 'q2', Attributes: {} }] };
      expect((await t.api('POST', '/customerprofile', { key: a.key, body })).status).toBe(202);
      const full = await t.api('POST', '/customerprofile', { key: a.key, body: one('q3', {}) });
      expectCode(full, '7902', 503);
      expect(full.headers['retry-after']).toBeDefined();
    } finally {
      await t.close();
    }
  });

  it('answers 7006 (HTTP 500) without the internal message when a stored row is corrupt', async () => {
    const t = await startTestServer();
    try {
      const a = await t.tenant([]);
      await t.apply('POST', '/customerprofile', a.key, one('corrupt', { name: 'X' }));
      // Damage the row behind the server's back, as a failing disk or a bad manual edit would.
      await corruptMasterRow(t, 'corrupt');
      const res = await t.api('GET', '/customerprofile/corrupt', { key: a.key });
      expectCode(res, '7006', 500);
      expect(JSON.stringify(res.body)).not.toMatch(/JSON|position|sqlite|not json/i);
      expect(res.body.response.transid).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await t.close();
    }
  });
});
