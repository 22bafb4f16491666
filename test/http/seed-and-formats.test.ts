import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestTenant } from '../support/server.js';

/** The seed page's four request bodies, byte for byte, cut from the page itself. */
function seedBodies(): Record<string, string> {
  const page = readFileSync(new URL('../fixtures/seed-update-app-profile.txt', import.meta.url), 'utf8');
  const bodies: string[] = [];
  let depth = 0;
  let start = -1;
  const examples = page.slice(page.indexOf('##Request Examples'), page.indexOf('Request Body'));
  for (let i = 0; i < examples.length; i++) {
    if (examples[i] === '{' && depth++ === 0) start = i;
    else if (examples[i] === '}' && --depth === 0) bodies.push(examples.slice(start, i + 1));
  }
  expect(bodies).toHaveLength(4);
  return { fb: bodies[0], twitter: bodies[1], wechat: bodies[2], rt: bodies[3] };
}

const attrs = (record: any) => Object.fromEntries(record.Attributes.map((e: any) => [e.Name, e.Value]));

describe("the seed's four bodies on PUT /customerprofiles/{appid}", () => {
  let t: TestServer;
  let a: TestTenant;
  const bodies = seedBodies();

  beforeAll(async () => {
    t = await startTestServer();
    a = await t.tenant();
    await t.apply('POST', '/customerprofile', a.key, { Records: [{ customerId: '9876', Attributes: { name: 'Joe James' } }] });
  });
  afterAll(() => t.close());

  for (const channel of ['fb', 'twitter', 'wechat', 'rt']) {
    it(`${channel}: is accepted verbatim, applied, and reads back attribute for attribute`, async () => {
      const raw = bodies[channel];
      const created = await t.api('POST', `/customerappprofile/${a.apps[channel]}`, { key: a.key, body: raw, headers: { prefer: 'wait=10' } });
      expect(created.body, JSON.stringify(created.body)).toMatchObject({ code: '1000' });
      const put = await t.api('PUT', `/customerprofiles/${a.apps[channel]}`, { key: a.key, body: raw });
      expect(put.status).toBe(202);
      expect(put.body).toEqual({ response: { code: '1001', description: 'Queued', transid: expect.stringMatching(/^[0-9a-f-]{36}$/) } });
      const newer = await t.api('PUT', `/customerappprofile/${a.apps[channel]}`, { key: a.key, body: raw, headers: { prefer: 'wait=10' } });
      expect(newer.body).toMatchObject({ code: '1000', Results: [{ customerId: '9876', code: '1000' }] });
      const read = await t.api('GET', `/customerappprofile/${a.apps[channel]}/9876`, { key: a.key });
      expect(read.status).toBe(200);
      const sent = JSON.parse(raw).Records[0].Attributes;
      expect(attrs(read.body.Records[0])).toEqual({ customerId: '9876', ...sent });
      for (const e of read.body.Records[0].Attributes) expect(Number.isInteger(e.ID) && e.ID > 0, e.Name).toBe(true);
      expect(read.body.Records[0].OutwardLinks).toEqual([
        { ProfileID: a.id, ProfileName: expect.stringMatching(/_cpms_1$/), Records: [[expect.objectContaining({ Name: 'customerId', Value: '9876' }), expect.objectContaining({ Name: 'name', Value: 'Joe James' })]] },
      ]);
    });
  }
});

describe('the batch response format', () => {
  let t: TestServer;
  let a: TestTenant;

  beforeAll(async () => {
    t = await startTestServer();
    a = await t.tenant([]);
    await t.admin.updateSettings(a.id, { responseFormat: 'batch' });
    await t.refresh();
  });
  afterAll(() => t.close());

  it('acknowledges a write with counts and one QUEUED result per record', async () => {
    const body = { Records: [{ customerId: 'b1', Attributes: { name: 'x' } }, { customerId: 'b2', Attributes: {} }] };
    const res = await t.api('POST', '/customerprofile', { key: a.key, body });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({
      TotalCount: 2,
      SuccessCount: 2,
      FailureCount: 0,
      code: '1000',
      description: 'QUEUED',
      Results: [
        { customerId: 'b1', code: '1000', description: 'QUEUED' },
        { customerId: 'b2', code: '1000', description: 'QUEUED' },
      ],
      transid: expect.any(String),
    });
  });

  it('refuses a valid request that cannot be queued (7901 here) with a result per record, each named by its customerId', async () => {
    const headers = { 'idempotency-key': 'batch-7901' };
    expect((await t.api('POST', '/customerprofile', { key: a.key, body: { Records: [{ customerId: 'k1', Attributes: {} }] }, headers })).status).toBe(202);
    // Refused after validation, once the server has let go of the body: the results still name each record.
    const body = { Records: [{ customerId: 'k2', Attributes: { name: 'x' } }, { customerId: 42, Attributes: {} }] };
    const res = await t.api('POST', '/customerprofile', { key: a.key, body, headers });
    expect(res.status).toBe(422);
    const notQueued = { code: '7901', description: expect.any(String), errors: [{ reason: 'not queued: the request was refused as a whole' }] };
    expect(res.body).toMatchObject({
      code: '7901',
      TotalCount: 2,
      FailureCount: 2,
      Results: [
        { customerId: 'k2', ...notQueued },
        { customerId: '42', ...notQueued },
      ],
    });
  });

  it('refuses an invalid request with a code per record, naming the bad attribute', async () => {
    const body = { Records: [{ customerId: 'ok', Attributes: { name: 'x' } }, { customerId: 'bad', Attributes: { msisdn: 'abc' } }] };
    const res = await t.api('POST', '/customerprofile', { key: a.key, body });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: '7011', TotalCount: 2, SuccessCount: 0, FailureCount: 2 });
    expect(res.body.Results[1]).toMatchObject({ customerId: 'bad', code: '7011', errors: [{ attribute: 'msisdn' }] });
    expect(res.body.Results[0].code).toBe('7011');
    expect(res.body).not.toHaveProperty('response');
  });
});

describe('a master write, queued as its body', () => {
  let t: TestServer;
  let a: TestTenant;

  beforeAll(async () => {
    t = await startTestServer();
    a = await t.tenant();
  });
  afterAll(() => t.close());

  it('applies as it was validated: pretty-printed, a numeric customerId, its copy among lower-case attributes', async () => {
    const raw = '{\n  "Records": [\n    { "customerId": 4711, "attributes": { "customerId": "4711", "name": "Ann" } }\n  ]\n}\n';
    const created = await t.api('POST', '/customerprofile', { key: a.key, body: raw, headers: { prefer: 'wait=10' } });
    expect(created.body, JSON.stringify(created.body)).toMatchObject({ code: '1000', Results: [{ customerId: '4711', code: '1000' }] });
    const read = await t.api('GET', '/customerprofile/4711', { key: a.key });
    expect(read.status).toBe(200);
    expect(read.body.Records[0].Attributes.map((e: any) => [e.Name, e.Value])).toEqual([['customerId', '4711'], ['name', 'Ann']]);
  });
});
