import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestServer, type TestServer, type TestTenant } from '../support/server.js';

/** Requests refused before an operation reads them: the order of the checks, what they answer and how they are counted. */
describe('the front door', () => {
  let t: TestServer;
  let a: TestTenant;
  beforeAll(async () => {
    t = await startTestServer({ hasApplier: false });
    a = await t.tenant(['fb']);
  });
  afterAll(() => t.close());

  const call = (method: string, url: string, headers: Record<string, string> = {}, payload?: string | Buffer) =>
    t.server.app.inject({ method: method as 'GET', url: `/resources/v2${url}`, headers, ...(payload !== undefined && { payload }) });
  const metrics = async () => (await t.server.app.inject({ method: 'GET', url: '/metrics' })).body;
  const counted = (text: string, labels: string) => Number(new RegExp(`openprofiles_http_requests_total\\{${labels}\\} (\\d+)`).exec(text)?.[1] ?? 0);

  it('answers a path with malformed %-encoding 401 without a key, and 400 with 7905 once authenticated', async () => {
    const noKey = await call('GET', '/customerprofile/%E0%A4%A');
    expect(noKey.statusCode).toBe(401);
    expect(noKey.json().response.code).toBe('7002');
    const badKey = await call('GET', '/customerprofile/%E0%A4%A', { key: 'opk_nobody' });
    expect(badKey.statusCode).toBe(401);
    expect(badKey.json().response.code).toBe('7001');
    const res = await call('DELETE', '/customerprofile/%E0%A4%A', { key: a.key });
    expect(res.statusCode).toBe(400);
    expect(res.json().response).toMatchObject({ code: '7905', description: 'Malformed request', errors: [{ reason: "The path's %-encoding is malformed" }] });
  });

  it('answers a path parameter over the router limit 401 without a key, and 400 with 7011 once authenticated', async () => {
    const long = 'x'.repeat(600);
    expect((await call('GET', `/customerprofile/${long}`)).statusCode).toBe(401);
    const res = await call('GET', `/customerprofile/${long}`, { key: a.key });
    expect(res.statusCode).toBe(400);
    expect(res.json().response.code).toBe('7011');
  });

  it('counts each request refused for its URL once in the request metrics, under route "unreadable"', async () => {
    const before = await metrics();
    await call('GET', '/customerprofile/%FF', { key: a.key });
    await call('GET', '/customerprofile/%FF');
    await call('GET', `/customerprofile/${'y'.repeat(600)}`, { key: a.key });
    const after = await metrics();
    const delta = (labels: string) => counted(after, labels) - counted(before, labels);
    expect(delta('route="unreadable",method="GET",status="400",code="7905"')).toBe(1);
    expect(delta('route="unreadable",method="GET",status="401",code="7002"')).toBe(1);
    expect(delta('route="unreadable",method="GET",status="400",code="7011"')).toBe(1);
  });

  describe('content types of a body', () => {
    const body = (id: string) => JSON.stringify({ Records: [{ customerId: id, Attributes: { name: 'N' } }] });
    const depth = async () => (await t.server.storage.journal.queueStats()).depth;

    it.each([
      ['application/json', 'application/json'],
      ['application/json with charset=utf-8', 'application/json; charset=UTF-8'],
      ['a +json type', 'application/vnd.profiles+json'],
      ['text/plain (fetch with a string body)', 'text/plain;charset=UTF-8'],
      ['no content type', undefined],
    ])('accepts %s as JSON', async (_name, type) => {
      const res = await call('POST', '/customerprofile', { key: a.key, ...(type && { 'content-type': type }) }, body(`ok-${type}`));
      expect(res.statusCode, res.body).toBe(202);
    });

    it.each([
      ['a form', { 'content-type': 'application/x-www-form-urlencoded' }, body('f')],
      ['multipart', { 'content-type': 'multipart/form-data; boundary=x' }, body('m')],
      ['XML', { 'content-type': 'text/xml' }, body('x')],
      ['charset=iso-8859-1', { 'content-type': 'application/json; charset=iso-8859-1' }, Buffer.from(body('caf\u00e9'), 'latin1')],
      ['content-encoding: gzip', { 'content-type': 'application/json', 'content-encoding': 'gzip' }, gzipSync(body('g'))],
    ])('answers 415 with 7907 for %s, and queues nothing', async (_name, headers, payload) => {
      const before = await depth();
      const res = await call('PUT', '/customerprofile', { key: a.key, ...headers }, payload);
      expect(res.statusCode, res.body).toBe(415);
      expect(res.json().response).toMatchObject({ code: '7907', description: 'Unsupported media type' });
      expect(await depth()).toBe(before);
    });

    it('authenticates before it looks at the content type', async () => {
      const res = await call('POST', '/customerprofile', { 'content-type': 'text/xml' }, body('k'));
      expect(res.statusCode).toBe(401);
      expect(res.json().response.code).toBe('7002');
    });
  });

  it('sets no body deadline for a request that announces no body (an injected GET once threw when its deadline came)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      expect((await call('GET', '/customerprofile/nobody', { key: a.key })).statusCode).toBe(404);
      // Runs every timer due by the request deadline: a deadline on this request would close its
      // (injected) socket, which has no destroy(), and throw here.
      vi.advanceTimersByTime(3_600_001); // past the longest PROFILES_REQUEST_TIMEOUT_MS allows
    } finally {
      vi.useRealTimers();
    }
  });
});
