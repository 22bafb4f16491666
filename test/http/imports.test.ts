import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestTenant } from '../support/server.js';
import { waitFor } from '../support/wait.js';

/** The import API: createImport, getImport, getImportRejects, tenant-scoped. */
describe('imports over HTTP', () => {
  let t: TestServer;
  let a: TestTenant;
  let b: TestTenant;
  beforeAll(async () => {
    t = await startTestServer();
    a = await t.tenant(['rt']);
    b = await t.tenant([]);
  });
  afterAll(() => t.close());

  const call = async (method: 'GET' | 'POST', url: string, key: string, body?: string, contentType?: string) => {
    const res = await t.server.app.inject({ method, url, headers: { key, ...(contentType && { 'content-type': contentType }) }, ...(body !== undefined && { payload: body }) });
    let json: any = null;
    try {
      json = JSON.parse(res.body);
    } catch {
      json = null;
    }
    return { status: res.statusCode, body: res.body, json, contentType: res.headers['content-type'] };
  };
  const finished = (id: string, key: string) =>
    waitFor(async () => {
      const res = await call('GET', `/openprofiles/v1/imports/${id}`, key);
      return res.json?.status !== 'running' && res;
    }, { timeoutMs: 20_000, description: `import ${id} to finish` });

  it('answers 202, then reports the import, its transids and its rejects; another tenant gets 404', async () => {
    const ndjson = [
      JSON.stringify({ customerId: 'h1', attributes: { name: 'Joe' }, appProfiles: [{ appId: a.apps.rt, channel: 'rt', deviceId: 'ipad', attributes: { deviceId: 'ipad', os: 'iOS' } }] }),
      JSON.stringify({ customerId: 'h2', attributes: { email: 'nope' } }),
      JSON.stringify({ customerId: 'h3', attributes: { name: 'Ann' } }),
    ].join('\n');
    const created = await call('POST', '/openprofiles/v1/imports', a.key, `${ndjson}\n`, 'application/x-ndjson');
    expect(created.status).toBe(202);
    expect(created.json).toEqual({ id: expect.stringMatching(/^imp_/), status: 'running' });
    const { id } = created.json;

    const done = await finished(id, a.key);
    expect(done.json).toEqual({ id, status: 'partially_succeeded', rows: { total: 3, applied: 2, rejected: 1, skipped: 0 }, transids: [expect.any(String)] });
    const status = await t.api('GET', `/profile/status/${done.json.transids[0]}`, { key: a.key });
    expect(status.body).toMatchObject({ code: '1000', TotalCount: 2, SuccessCount: 2 });
    const profile = await t.api('GET', '/customerappprofile/' + a.apps.rt + '/h1', { key: a.key });
    expect(profile.status).toBe(200);

    const rejects = await call('GET', `/openprofiles/v1/imports/${id}/rejects`, a.key);
    expect(rejects.status).toBe(200);
    expect(rejects.contentType).toBe('application/x-ndjson');
    expect(rejects.body.trim().split('\n').map((l) => JSON.parse(l))).toEqual([
      { line: 2, code: '7011', errors: [{ attribute: 'email', reason: 'expected an email address' }], raw: JSON.stringify({ customerId: 'h2', attributes: { email: 'nope' } }) },
    ]);

    // The upload is deleted once its import finished (the report and rejects are in the store).
    const uploads = () => readdirSync(join(t.dataDir, 'imports'));
    await waitFor(() => !uploads().some((f) => f.startsWith(id)), { timeoutMs: 10_000, description: `the upload of ${id} to be deleted` });

    // The same body again is the same import: nothing runs twice, and its file is not kept.
    const again = await call('POST', '/openprofiles/v1/imports', a.key, `${ndjson}\n`, 'application/x-ndjson');
    expect(again.json).toEqual({ id, status: 'partially_succeeded' });
    expect(uploads()).toEqual([]);

    for (const path of [`/openprofiles/v1/imports/${id}`, `/openprofiles/v1/imports/${id}/rejects`]) {
      const foreign = await call('GET', path, b.key);
      expect(foreign.status).toBe(404);
      expect(foreign.json.response.code).toBe('7920');
    }
    expect((await call('GET', `/openprofiles/v1/imports/${id}`, 'no-such-key')).status).toBe(401);
  });

  it('imports a CSV body, its format taken from the Content-Type', async () => {
    const csv = '"customerId","name","createdAt","updatedAt"\n"k1","Kay","2026-12-07T10:00:00.000Z","2026-12-07T11:00:00.000Z"\n"k2",,,\n';
    const created = await call('POST', '/openprofiles/v1/imports', a.key, csv, 'text/csv; charset=utf-8');
    expect(created.status).toBe(202);
    const done = await finished(created.json.id, a.key);
    expect(done.json).toMatchObject({ status: 'succeeded', rows: { total: 2, applied: 2, rejected: 0, skipped: 0 } });
    const read = await t.api('GET', '/customerprofile/k1', { key: a.key });
    expect(read.body.Records[0].Attributes).toEqual(expect.arrayContaining([expect.objectContaining({ Name: 'name', Value: 'Kay' })]));
    const empty = await call('GET', `/openprofiles/v1/imports/${created.json.id}/rejects`, a.key);
    expect(empty.status).toBe(200);
    expect(empty.body).toBe('');
  });

  it('refuses another media type (415, 7907), a format other than the body\'s (400, 7922), no body (400, 7922) and an unknown app (403, 7018)', async () => {
    const json = await call('POST', '/openprofiles/v1/imports', a.key, '{}', 'application/json');
    expect([json.status, json.json.response.code]).toEqual([415, '7907']);
    const mismatch = await call('POST', '/openprofiles/v1/imports?format=csv', a.key, '{}\n', 'application/x-ndjson');
    expect([mismatch.status, mismatch.json.response.code]).toEqual([400, '7922']);
    const none = await call('POST', '/openprofiles/v1/imports', a.key);
    expect([none.status, none.json.response.code]).toEqual([400, '7922']);
    const app = await call('POST', `/openprofiles/v1/imports?app=${b.id}-none`, a.key, '{}\n', 'application/x-ndjson');
    expect([app.status, app.json.response.code]).toEqual([403, '7018']);
  });
});
