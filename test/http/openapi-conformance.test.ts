import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../support/process.js';
import { builtDocument, DocumentedApi, type OpenApiDocument } from '../support/json-schema.js';
import { carriesIssuedValue, type DocumentedRequest, invalidRequests, type Known, operationOf, requestProblems, validRequests, wire } from '../support/openapi-requests.js';
import { startTestServer, type TestServer } from '../support/server.js';

/**
 * The server does what its OpenAPI document says (#28): requests generated from the served
 * `/openapi.json` (every operation, every parameter it documents; valid values from the schemas,
 * and values the schemas refuse) are sent over HTTPS to a real server on the selected backend
 * (STORAGE_BACKENDS), and every answer must be a status its operation lists, with a body that
 * status's schema takes. A request the document calls invalid must be refused with a 4xx; one it
 * calls valid, with parameters of other operations added (which it says this one does not read),
 * must not be refused as malformed (400).
 */
describe('the OpenAPI document against the server', () => {
  let t: TestServer;
  let api: DocumentedApi;
  /** A legacy-format and a batch-format tenant: both answer formats are checked. */
  const keys: string[] = [];
  const known: Known = {};

  beforeAll(async () => {
    t = await startTestServer();
    for (const responseFormat of ['legacy', 'batch'] as const) {
      const { tenant, key } = await t.admin.createTenant(`conformance-${responseFormat}-${process.pid}`, { responseFormat, rateLimit: 1_000_000 });
      const apps = await Promise.all(['fb', 'rt'].map((channel) => t.admin.createApp(tenant.id, channel, `${channel}-${responseFormat}`)));
      await t.refresh();
      keys.push(key);
      (known.appid ??= []).push(...apps.map((a) => a.appid));
      expect((await t.apply('POST', '/customerprofile', key, { Records: [{ customerId: 'known-1', Attributes: { name: 'K' } }] })).status).toBe(200);
      const fb = apps[0].appid;
      expect((await t.apply('POST', `/customerappprofile/${fb}`, key, { Records: [{ customerId: 'known-1', Attributes: { userId: 'user-1' } }] })).status).toBe(200);
    }
    known.customerId = ['known-1'];
    known.identifier = ['user-1'];
    const served = await request(t.server.url, 'GET', '/openapi.json');
    expect(served.status).toBe(200);
    api = new DocumentedApi(served.body as OpenApiDocument);
  });
  afterAll(async () => {
    await t?.close();
  });

  /** Sends a request and checks its answer against the document; returns the status. */
  async function send(r: DocumentedRequest, key: string): Promise<number> {
    const { url, headers } = wire(api, r);
    const res = await request(t.server.url, r.method, url, { key, headers, ...(r.body !== undefined && { body: r.body }) });
    const contentType = res.headers['content-type'];
    const what = `${r.method.toUpperCase()} ${url} ${r.body ?? ''}`.slice(0, 300);
    expect(api.answerProblem(r.method.toUpperCase(), url, res.status, typeof contentType === 'string' ? contentType : undefined, res.text), what).toBeNull();
    expect(res.status, `${what} → ${res.text.slice(0, 200)}`).toBeLessThan(500);
    return res.status;
  }

  const operations = () =>
    Object.entries(api.doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => ({ path, method })));

  it('answers as documented every request valid by its operation\'s schemas: takes every value they take, ignores every parameter they do not list', async () => {
    expect(operations().length).toBe(31);
    const statuses = new Set<number>();
    for (const { path, method } of operations()) {
      await fc.assert(
        fc.asyncProperty(validRequests(api, path, method, known), fc.constantFrom(...keys), async (r, key) => {
          expect(requestProblems(api, r), 'a generated valid request').toEqual([]);
          const status = await send(r, key);
          statuses.add(status);
          // Parameters valid by the document are taken (a body can still be refused for what the tenant's schema says, and a
          // value only the server issues, such as a listing cursor, for not being one it issued).
          if (!operationOf(api, r).requestBody && !carriesIssuedValue(api, r)) expect(status, `${r.method} ${wire(api, r).url}`).not.toBe(400);
        }),
        { numRuns: 40 },
      );
    }
    // The generated requests reach the operations' successes too, not only their refusals.
    // 201 (createWebhook) and 204 (deleteWebhook) only when a generated URL or id happens to be usable.
    expect([...statuses].filter((s) => s < 300 && s !== 201 && s !== 204).sort()).toEqual([200, 202]);
  }, 240_000);

  it('refuses with a documented 4xx every request its document calls invalid', async () => {
    let checked = 0;
    for (const { path, method } of operations()) {
      const invalid = invalidRequests(api, path, method, known);
      if (!invalid) continue;
      checked++;
      await fc.assert(
        fc.asyncProperty(invalid, fc.constantFrom(...keys), async (r, key) => {
          const problems = requestProblems(api, r);
          fc.pre(problems.length > 0);
          const status = await send(r, key);
          expect(status >= 400 && status < 500, `${r.method} ${wire(api, r).url} (${problems.join('; ')}) answered ${status}`).toBe(true);
        }),
        { numRuns: 40 },
      );
    }
    // Every Profile API operation but getProfileStatus (any transid is taken) takes something a request can get wrong; so do
    // listProfiles, exportProfiles, readChanges, createImport (its format) and the webhook operations with a body or an id; getImport and getImportRejects take any id.
    expect(checked).toBe(23);
  }, 240_000);

  it('calls "." and ".." invalid as path ids, which a URL drops (a generated delete once sent deviceId "."), and the server refuses them with a 4xx', async () => {
    const path = '/resources/v2/customerappprofile/{appid}/{customerId}/{deviceId}';
    for (const deviceId of ['.', '..']) {
      const r: DocumentedRequest = { method: 'delete', path, params: { appid: known.appid![0], customerId: 'known-1', deviceId }, unlisted: [] };
      expect(requestProblems(api, r), deviceId).not.toEqual([]);
      const status = await send(r, keys[0]);
      expect(status >= 400 && status < 500, `deviceId ${deviceId} answered ${status}`).toBe(true);
    }
  });

  describe('ids: 1 to 128 code points, no control characters, as the document says', () => {
    const astral = (n: number) => '\u{1F600}'.repeat(n);
    const idSchema = () => api.doc.paths['/resources/v2/customerprofile/{customerId}'].get.parameters!.find((p) => p.name === 'customerId')!.schema;

    it('the document takes 128 astral characters and not 129, nor a control character', () => {
      const validate = api.validator('test customerId', idSchema());
      expect(validate(astral(128))).toBe(true);
      expect(validate(astral(129))).toBe(false);
      expect(validate('a\u007f')).toBe(false);
      expect(validate('')).toBe(false);
    });

    it('the server takes 128 astral characters in a path, a query and a body, and refuses 129 with 7011', async () => {
      const key = keys[0];
      const get = (path: string) => request(t.server.url, 'GET', `/resources/v2${path}`, { key });
      expect((await get(`/customerprofile/${encodeURIComponent(astral(128))}`)).status).toBe(404);
      expect((await get(`/customerprofile?customerId=${encodeURIComponent(astral(128))}`)).status).toBe(200);
      const long = await get(`/customerprofile/${encodeURIComponent(astral(129))}`);
      expect([long.status, long.body.response.code]).toEqual([400, '7011']);
      const longQuery = await get(`/customerprofile?customerId=${encodeURIComponent(astral(129))}`);
      expect([longQuery.status, longQuery.body.response.code]).toEqual([400, '7011']);
      const write = (customerId: string) =>
        request(t.server.url, 'POST', '/resources/v2/customerprofile', { key, body: { Records: [{ customerId, Attributes: { name: 'A' } }] }, headers: { prefer: 'wait=10' } });
      const created = await write(astral(128));
      expect([created.status, created.body.code]).toEqual([200, '1000']);
      const read = await get(`/customerprofile/${encodeURIComponent(astral(128))}`);
      expect(read.status).toBe(200);
      expect(read.body.Records[0].Attributes[0]).toMatchObject({ Name: 'customerId', Value: astral(128) });
      const refused = await write(astral(129));
      expect([refused.status, refused.body.response.code]).toEqual([400, '7011']);
    });
  });
});

/** The check every test file runs on the answers its servers give (test/support/documented-answers.ts) finds what it must. */
describe('the answer check', () => {
  const transid = '3f1c2a4e-8b7d-4c1e-9a2b-5d6e7f8a9b0c';
  const json = 'application/json; charset=utf-8';
  const read = (extra: object = {}) => JSON.stringify({ Status: 0, Description: 'success', Records: [], code: '1000', transid, ...extra });
  const refusal = (code: string) => JSON.stringify({ response: { code, description: 'd', transid, errors: [{ reason: 'r' }] } });

  it('takes documented answers: a read, a refusal, a path no operation has, a method a path does not take', async () => {
    const api = await builtDocument();
    expect(api.answerProblem('GET', '/resources/v2/customerprofile/a?showinwardlinks=1', 200, json, read())).toBeNull();
    expect(api.answerProblem('GET', '/resources/v2/customerprofile/a', 404, json, refusal('7014'))).toBeNull();
    expect(api.answerProblem('GET', '/nowhere', 404, json, refusal('7903'))).toBeNull();
    expect(api.answerProblem('PATCH', '/resources/v2/customerprofile', 405, json, refusal('7904'))).toBeNull();
    expect(api.answerProblem('GET', '/metrics', 200, 'text/plain; version=0.0.4; charset=utf-8', '# HELP x\n')).toBeNull();
  });

  it('names the operation, the status and what is wrong', async () => {
    const api = await builtDocument();
    expect(api.answerProblem('GET', '/resources/v2/customerprofile/a', 200, json, read({ Extra: 1 }))).toMatch(
      /^GET \/resources\/v2\/customerprofile\/\{customerId\} \(getProfile\) answered 200 with a body its schema does not take \(data must NOT have additional properties\)/,
    );
    expect(api.answerProblem('GET', '/resources/v2/customerprofile/a', 200, json, read({ transid: 'nope' }))).toMatch(/data\/transid must match format "uuid"/);
    expect(api.answerProblem('GET', '/resources/v2/customerprofile/a', 200, json, read({ code: '9999' }))).toMatch(/data\/code must be equal to one of the allowed values/);
    expect(api.answerProblem('GET', '/resources/v2/customerprofile/a', 202, json, read())).toMatch(/answered 202, which the document does not list/);
    expect(api.answerProblem('GET', '/resources/v2/customerprofile/a', 200, 'text/html', read())).toMatch(/answered 200 as text\/html; the document gives application\/json/);
    expect(api.answerProblem('GET', '/resources/v2/customerprofile/a', 400, json, '{"response":')).toMatch(/a body that is not JSON/);
    expect(api.answerProblem('GET', '/nowhere', 200, json, '{}')).toMatch(/GET \/nowhere \(no operation\) answered 200/);
  });
});
