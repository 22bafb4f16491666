import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestTenant } from '../support/server.js';
import { waitFor } from '../support/wait.js';

/**
 * The change feed over HTTP (docs/changes.md): `GET /openprofiles/v1/changes` behind the profile
 * key, pages after a cursor, types, `after=now`, the long poll, and the refusals (7908, 7003, 410
 * with 7930). Every answer is checked against the OpenAPI document (test/support/documented-answers.ts).
 */
const V1 = '/openprofiles/v1';
/** The refusal's code and errors, in the tenant's response format. */
const refusalOf = (body: any) => body.response ?? body;

describe('change feed over HTTP', () => {
  let t: TestServer;
  let a: TestTenant;
  let b: TestTenant;

  /** A GET of the feed; `key` null sends none. */
  const get = async (query: string, key: string | null = a.key) => {
    const res = await t.server.app.inject({ method: 'GET', url: `${V1}/changes${query}`, headers: { ...(key !== null && { key }) } });
    return { status: res.statusCode, body: res.json() };
  };
  const write = async (method: string, path: string, key: string, Records: unknown[]) => {
    const answer = await t.apply(method, path, key, { Records });
    expect(answer.body.code).toBe('1000');
    return answer.body.transid as string;
  };
  /** Every event of the tenant, page by page (`limit` each), once `count` are there. */
  const everything = (count: number, limit = 2, key = a.key) =>
    waitFor(
      async () => {
        const events = [];
        let after = '';
        for (;;) {
          const { body } = await get(`?limit=${limit}${after}`, key);
          events.push(...body.data);
          if (body.data.length === 0) return events.length >= count && events;
          after = `&after=${body.nextCursor}`;
        }
      },
      { timeoutMs: 10_000, description: `${count} events in the feed` },
    );

  beforeAll(async () => {
    t = await startTestServer({ rateLimitHoldMs: 0 });
    a = await t.tenant(['rt']);
    b = await t.tenant([]);
  });
  afterAll(() => t?.close());

  it('gives each change once, in order, page by page, and an empty page keeps the cursor', async () => {
    const created = await write('POST', '/customerprofile', a.key, [
      { customerId: 'c1', Attributes: { name: 'Ann' } },
      { customerId: 'c2', Attributes: { name: 'Bob' } },
    ]);
    const updated = await write('PUT', '/customerprofile', a.key, [{ customerId: 'c1', Attributes: { email: 'ann@example.com' } }]);
    const device = await write('POST', `/customerappprofile/${a.apps.rt}`, a.key, [{ customerId: 'c1', Attributes: { deviceId: 'd1' } }]);
    await write('POST', '/customerprofile', b.key, [{ customerId: 'c1', Attributes: { name: 'Other tenant' } }]);

    const events = await everything(4);
    expect(events.map((e: any) => [e.type, e.customerId, e.transid])).toEqual([
      ['profile.created', 'c1', created],
      ['profile.created', 'c2', created],
      ['profile.updated', 'c1', updated],
      ['app_profile.created', 'c1', device],
    ]);
    expect(events[2]).toMatchObject({ appId: null, deviceId: null, changed: ['email'], profile: { customerId: 'c1', attributes: { name: 'Ann', email: 'ann@example.com' }, appProfiles: [] } });
    expect(events[3]).toMatchObject({ appId: a.apps.rt, deviceId: 'd1', profile: { customerId: 'c1', appId: a.apps.rt, channel: 'rt', deviceId: 'd1', attributes: { deviceId: 'd1' } } });
    expect(new Set(events.map((e: any) => e.id)).size).toBe(4);
    // Past the last event: an empty page, whose nextCursor is the cursor it was asked with.
    const last = events[3].cursor;
    expect((await get(`?after=${last}`)).body).toEqual({ data: [], nextCursor: last });
    // Another tenant sees its own only.
    expect((await everything(1, 10, b.key)).map((e: any) => e.profile.attributes.name)).toEqual(['Other tenant']);
  });

  it('filters by types, and after=now gives only what comes later', async () => {
    const head = (await get('?after=now')).body;
    expect(head.data).toEqual([]);
    await write('POST', '/customerprofile', a.key, [{ customerId: 'later', Attributes: { name: 'L' } }]);
    const later = await waitFor(
      async () => {
        const { body } = await get(`?after=${head.nextCursor}`);
        return body.data.length > 0 && body.data;
      },
      { timeoutMs: 10_000, description: 'the event after now' },
    );
    expect(later[0]).toMatchObject({ type: 'profile.created', customerId: 'later' });
    const updates = (await get('?types=profile.updated,app_profile.updated&limit=1000')).body.data;
    expect(updates.map((e: any) => e.type)).toEqual(['profile.updated']);
  });

  it('waits for an event with wait, and answers with it; with none, answers an empty page when the time is up', async () => {
    const { nextCursor } = (await get('?after=now')).body;
    expect((await get(`?after=${nextCursor}&wait=1`)).body).toEqual({ data: [], nextCursor });
    const waiting = get(`?after=${nextCursor}&wait=20`);
    await write('POST', '/customerprofile', a.key, [{ customerId: 'waited-for', Attributes: { name: 'W' } }]);
    const { status, body } = await waiting;
    expect(status).toBe(200);
    expect(body.data.map((e: any) => e.customerId)).toEqual(['waited-for']);
  });

  it('refuses a malformed cursor, another tenant\'s and malformed parameters, and a cursor past retention with 410 and where to start again', async () => {
    expect((await get('?after=bm90LWEtY3Vyc29y')).status).toBe(400);
    expect(refusalOf((await get('?after=bm90LWEtY3Vyc29y')).body).code).toBe('7908');
    const theirs = (await get('?after=now', b.key)).body.nextCursor;
    expect(refusalOf((await get(`?after=${theirs}`)).body)).toMatchObject({ code: '7908', errors: [{ reason: "after is another tenant's cursor" }] });
    for (const bad of ['?limit=0', '?limit=1001', '?wait=31', '?types=profile.renamed']) expect(refusalOf((await get(bad)).body).code, bad).toBe('7003');
    expect((await get('', null)).status).toBe(401);

    const events = await everything(2, 1000);
    const purged = await t.server.storage.changes.purge(a.id, Date.now() + 1000, 2);
    expect(purged).toBe(2);
    const gone = await get(`?after=${events[0].cursor}`);
    expect(gone.status).toBe(410);
    expect(refusalOf(gone.body).code).toBe('7930');
    const restart = refusalOf(gone.body).errors[0].cursor;
    expect(restart).toBe(events[1].cursor);
    expect((await get(`?after=${restart}&limit=1000`)).body.data.map((e: any) => e.id)).toEqual(events.slice(2).map((e: any) => e.id));
  });
});
