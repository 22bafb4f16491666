import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/process.js';
import { masterProfiles, storeRows } from '../support/store-rows.js';
import { freshStoreEnv, serverBackend } from '../support/test-db.js';

/** `openprofiles import`, spawned, on the server backend's store (CI runs this file on both). */
describe(`openprofiles import (${serverBackend()})`, () => {
  let store: Awaited<ReturnType<typeof freshStoreEnv>>;
  const cli = (...args: string[]) => runCli(args, store.env);
  const file = (name: string, text: string) => {
    const path = join(store.dataDir, name);
    writeFileSync(path, text);
    return path;
  };
  let n = 0;
  const newTenant = async () => {
    const { json } = await cli('tenant', 'create', `imp${++n}`, '--json');
    return json as { id: number; name: string; key: string };
  };

  beforeAll(async () => {
    store = await freshStoreEnv();
  });
  afterAll(() => store.dispose());

  it('imports the good rows of a CSV and lists each bad one in the rejects file with its line and reason', async () => {
    const t = await newTenant();
    const long = 'x'.repeat(257);
    const csv = [
      '"customerId","name","email","loyalty"',
      '"c1","Joe","joe@example.com",',
      '"c2","Ann","not-an-email",',
      '"c3","Bob",,"gold"',
      '"c4","' + long + '",,',
      '"c5","Eve","eve@example.com"',
      '"c6","Multi',
      'line","m@example.com",',
      '"c7","Al","al@example.com",,"extra"',
      '',
      '"c8",,"c8@example.com",',
    ].join('\n');
    const path = file('people.csv', `${csv}\n`);
    const rejectsFile = join(store.dataDir, 'people.rejects.ndjson');
    const result = await cli('import', path, '--tenant', t.name, '--rejects', rejectsFile, '--json');
    expect(result.code, result.stderr).toBe(0);
    expect(result.json).toMatchObject({ status: 'partially_succeeded', rows: { total: 8, applied: 3, rejected: 5, skipped: 0 }, rejectsFile });
    expect(result.json.transids).toHaveLength(1);

    const rejects = readFileSync(rejectsFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(rejects.map((r) => [r.line, r.code])).toEqual([
      [3, '7011'],
      [4, '7011'],
      [5, '7011'],
      [6, '7011'],
      [9, '7011'],
    ]);
    expect(rejects[0].errors).toEqual([{ attribute: 'email', reason: 'expected an email address' }]);
    expect(rejects[0].raw).toBe('"c2","Ann","not-an-email",');
    expect(rejects[1].errors).toEqual([{ attribute: 'loyalty', reason: "not an attribute of this tenant's master profile schema" }]);
    expect(rejects[2].errors).toEqual([{ attribute: 'name', reason: 'longer than 256 characters (257)' }]);
    expect(rejects[3].errors).toEqual([{ reason: '3 cells; the header has 4 columns' }]);
    expect(rejects[4].errors).toEqual([{ reason: '5 cells; the header has 4 columns' }]);

    const profiles = await masterProfiles(store.env, t.id);
    expect(Object.fromEntries(profiles)).toEqual({
      c1: { name: 'Joe', email: 'joe@example.com' },
      c6: { name: 'Multi\nline', email: 'm@example.com' },
      c8: { email: 'c8@example.com' },
    });
  });

  it('imports profile documents with app profiles, a per-device channel included, keeping their timestamps', async () => {
    const t = await newTenant();
    const rt = `rt-${t.id}`;
    const fb = `fb-${t.id}`;
    await cli('app', 'create', String(t.id), '--channel', 'rt', '--appid', rt);
    await cli('app', 'create', String(t.id), '--channel', 'fb', '--appid', fb);
    const at = '2026-12-07T10:00:00.000Z';
    const docs = [
      {
        customerId: 'd1',
        attributes: { name: 'Joe', email: 'joe@example.com' },
        appProfiles: [
          { appId: fb, channel: 'fb', deviceId: null, attributes: { psid: 'p1' }, createdAt: at, updatedAt: at },
          { appId: rt, channel: 'rt', deviceId: 'ipad-1', attributes: { deviceId: 'ipad-1', os: 'iOS', userId: 'u1' }, createdAt: at, updatedAt: at },
          { appId: rt, channel: 'rt', deviceId: 'phone-2', attributes: { deviceId: 'phone-2', os: 'Android' }, createdAt: at, updatedAt: '2026-12-08T10:00:00.000Z' },
        ],
        createdAt: at,
        updatedAt: '2026-12-07T10:05:00.000Z',
      },
      { customerId: 'd2', attributes: null, appProfiles: [{ appId: rt, channel: 'rt', deviceId: 'tv', attributes: { deviceId: 'tv' }, createdAt: at, updatedAt: at }], createdAt: null, updatedAt: null },
      { customerId: 'd3', attributes: { name: 'No device' }, appProfiles: [{ appId: rt, channel: 'rt', deviceId: null, attributes: {} }] },
      { customerId: 'd4', attributes: {}, appProfiles: [{ appId: 'not-ours', channel: 'fb', deviceId: null, attributes: {} }] },
    ];
    const path = file('docs.ndjson', docs.map((d) => JSON.stringify(d)).join('\n') + '\n');
    const result = await cli('import', path, '--tenant', String(t.id), '--json');
    expect(result.code, result.stderr).toBe(0);
    expect(result.json).toMatchObject({ status: 'partially_succeeded', rows: { total: 4, applied: 2, rejected: 2, skipped: 0 } });
    const rejects = readFileSync(`${path}.rejects.ndjson`, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(rejects.map((r) => [r.line, r.code, r.errors[0].attribute])).toEqual([
      [3, '7003', 'deviceId'],
      [4, '7018', 'appId'],
    ]);

    const masters = await storeRows(store.env, 'SELECT customer_id, attributes, created_at, updated_at FROM master_profiles WHERE tenant_id = $1 ORDER BY customer_id', [t.id]);
    expect(masters.map((r) => [r.customer_id, JSON.parse(r.attributes), Number(r.created_at), Number(r.updated_at)])).toEqual([
      ['d1', { name: 'Joe', email: 'joe@example.com' }, Date.parse(at), Date.parse('2026-12-07T10:05:00.000Z')],
    ]);
    const apps = await storeRows(
      store.env,
      'SELECT appid, customer_id, device_id, user_id, attributes, updated_at FROM app_profiles WHERE tenant_id = $1 ORDER BY customer_id, appid, device_id',
      [t.id],
    );
    expect(apps.map((r) => [r.customer_id, r.appid, r.device_id, r.user_id, JSON.parse(r.attributes), Number(r.updated_at)])).toEqual([
      ['d1', fb, '', null, { psid: 'p1' }, Date.parse(at)],
      ['d1', rt, 'ipad-1', 'u1', { deviceId: 'ipad-1', os: 'iOS', userId: 'u1' }, Date.parse(at)],
      ['d1', rt, 'phone-2', null, { deviceId: 'phone-2', os: 'Android' }, Date.parse('2026-12-08T10:00:00.000Z')],
      ['d2', rt, 'tv', null, { deviceId: 'tv' }, Date.parse(at)],
    ]);
  });

  it('prints a plain progress line on stderr when it is not a terminal, a JSON summary with --json, and does nothing the second time', async () => {
    const t = await newTenant();
    const lines = Array.from({ length: 2500 }, (_, i) => JSON.stringify({ customerId: `p${i}`, attributes: { name: `P ${i}` } }));
    const path = file('progress.ndjson', `${lines.join('\n')}\n`);
    const first = await cli('import', path, '--tenant', t.name, '--json');
    expect(first.code, first.stderr).toBe(0);
    expect(first.json).toEqual({ id: expect.stringMatching(/^imp_[0-9a-f]{32}$/), status: 'succeeded', rows: { total: 2500, applied: 2500, rejected: 0, skipped: 0 }, transids: expect.any(Array) });
    expect(first.json.transids).toHaveLength(3);
    const progress = first.stderr.trim().split('\n');
    expect(progress.length).toBeGreaterThanOrEqual(1);
    for (const line of progress) expect(line).toMatch(new RegExp(`^import ${first.json.id}: \\d+ of about \\d+ rows done, \\d+ read, \\d+ rows/s, ETA (\\d+ s|unknown)$`));
    expect(progress.at(-1)).toMatch(/: 2500 of about 2500 rows done, 2500 read, /);
    expect((await masterProfiles(store.env, t.id)).size).toBe(2500);

    // The same file and arguments name the same import: it is finished, and nothing is applied again.
    const again = await cli('import', path, '--tenant', t.name, '--json');
    expect(again.json).toEqual(first.json);
    const chunks = await storeRows(store.env, 'SELECT COUNT(*) AS n FROM import_chunks WHERE import_id = $1', [first.json.id]);
    expect(Number(chunks[0].n)).toBe(3);
    const human = await cli('import', path, '--tenant', t.name);
    expect(human.stdout).toBe(`import ${first.json.id}: succeeded: 2500 rows, 2500 applied, 0 rejected, 0 skipped\n`);
  });

  it('refuses an unknown tenant and a bad --format with exit status 1', async () => {
    const path = file('x.ndjson', '{"customerId":"x","attributes":{}}\n');
    const unknown = await cli('import', path, '--tenant', 'nobody', '--json');
    expect(unknown.code).toBe(1);
    expect(unknown.json.error.message).toBe('no tenant with the name or id "nobody"');
    const t = await newTenant();
    const format = await cli('import', path, '--tenant', t.name, '--format', 'xml');
    expect(format.code).toBe(1);
    expect(format.stderr).toContain('--format is ndjson or csv, not "xml"');
  });

  it('fails an import whose CSV header has no customerId, saying why', async () => {
    const t = await newTenant();
    const path = file('nohead.csv', '"name"\n"Joe"\n');
    const result = await cli('import', path, '--tenant', t.name, '--json');
    expect(result.code).toBe(1);
    expect(result.json).toMatchObject({ status: 'failed', error: 'the CSV header has no customerId column (it has name)' });
  });
});
