import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/process.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { freshStoreEnv, serverBackend } from '../support/test-db.js';

/**
 * export → import into an empty store → export gives the same bytes, NDJSON and CSV (master
 * profiles, and one app's), on the server backend (CI runs this file on both).
 */
describe(`export, import into an empty store, export again (${serverBackend()})`, () => {
  let source: TestServer;
  let sourceEnv: Record<string, string>;
  const empties: Array<Awaited<ReturnType<typeof freshStoreEnv>>> = [];
  const apps = { fb: 'trip-fb', rt: 'trip-rt', whatsapp: 'trip-wa' };
  const CUSTOM = [
    ['dob', 'date'],
    ['balance', 'number'],
    ['vip', 'boolean'],
  ];

  /** A tenant "trip" with the same apps and master schema as the source's, in a store of `env`. */
  const sameTenant = async (env: Record<string, string>) => {
    const { json } = await runCli(['tenant', 'create', 'trip', '--json'], env);
    for (const [channel, appid] of Object.entries(apps)) await runCli(['app', 'create', String(json.id), '--channel', channel, '--appid', appid], env);
    for (const [name, type] of CUSTOM) await runCli(['attribute', 'add', String(json.id), name, '--type', type], env);
  };

  beforeAll(async () => {
    source = await startTestServer();
    sourceEnv = { PROFILES_DATA_DIR: source.dataDir, PROFILES_DATABASE_URL: source.databaseUrl, PROFILES_DEMO: 'false' };
    await sameTenant(sourceEnv);
    await source.refresh();
    const { key } = await source.admin.createKey((await source.server.storage.directory.listTenants()).find((t) => t.name === 'trip')!.id);
    await source.refresh();
    const write = async (method: string, path: string, records: unknown[]) => {
      const res = await source.apply(method, path, key, { Records: records });
      expect(res.body.code, JSON.stringify(res.body)).toBe('1000');
    };
    await write('POST', '/customerprofile', [
      { customerId: 'c1', Attributes: { name: 'Joe "JJ", Jr.', email: 'joe@example.com', msisdn: '+447700900001', balance: 12.5, vip: true, dob: '1990-01-02', sms: '1' } },
      { customerId: 'c2', Attributes: { name: '' } },
      { customerId: 'c3', Attributes: { balance: '7', name: 'Multi\nline' } },
      { customerId: 'c5', Attributes: { name: 'to lose an attribute', email: 'c5@example.com' } },
    ]);
    await write('PUT', '/customerprofile', [{ customerId: 'c5', Attributes: { email: null } }]);
    await write('POST', `/customerappprofile/${apps.fb}`, [{ customerId: 'c1', Attributes: { psid: 'p1', name: 'Joe' } }]);
    await write('POST', `/customerappprofile/${apps.rt}`, [
      { customerId: 'c1', Attributes: { deviceId: 'ipad-1', os: 'iOS', userId: 'u1' } },
      { customerId: 'c1', Attributes: { deviceId: 'phone, 2', os: 'Android' } },
      { customerId: 'c4', Attributes: { deviceId: 'tv', score: 5 } },
    ]);
    await write('POST', `/customerappprofile/${apps.whatsapp}`, [{ customerId: 'c4', Attributes: { custom: 'x', score: 3 } }]);
  }, 120_000);
  afterAll(async () => {
    await source.close();
    for (const e of empties) await e.dispose();
  });

  const exported = async (env: Record<string, string>, dir: string, name: string, format: string, app?: string) => {
    const out = join(dir, name);
    const res = await runCli(['export', '--tenant', 'trip', '--format', format, '--out', out, ...(app ? ['--app', app] : []), '--json'], env);
    expect(res.code, res.stderr).toBe(0);
    return readFileSync(out, 'utf8');
  };

  it('gives the same NDJSON, byte for byte', async () => {
    const first = await exported(sourceEnv, source.dataDir, 'first.ndjson', 'ndjson');
    expect(first.split('\n')).toHaveLength(6);
    expect(first).toContain('"customerId":"c4","attributes":null');
    const empty = await freshStoreEnv();
    empties.push(empty);
    await sameTenant(empty.env);
    const imported = await runCli(['import', join(source.dataDir, 'first.ndjson'), '--tenant', 'trip', '--json'], empty.env);
    expect(imported.json).toMatchObject({ status: 'succeeded', rows: { total: 5, applied: 5, rejected: 0, skipped: 0 } });
    expect(await exported(empty.env, empty.dataDir, 'second.ndjson', 'ndjson')).toBe(first);
  });

  it('gives the same CSV of master profiles and of an app, byte for byte', async () => {
    const masters = await exported(sourceEnv, source.dataDir, 'first.csv', 'csv');
    const devices = await exported(sourceEnv, source.dataDir, 'first-rt.csv', 'csv', apps.rt);
    expect(masters.split('\n')).toHaveLength(7);
    expect(devices.split('\n')).toHaveLength(5);
    const empty = await freshStoreEnv();
    empties.push(empty);
    await sameTenant(empty.env);
    const m = await runCli(['import', join(source.dataDir, 'first.csv'), '--tenant', 'trip', '--json'], empty.env);
    expect(m.json).toMatchObject({ status: 'succeeded', rows: { total: 4, applied: 4 } });
    const d = await runCli(['import', join(source.dataDir, 'first-rt.csv'), '--tenant', 'trip', '--app', apps.rt, '--json'], empty.env);
    expect(d.json).toMatchObject({ status: 'succeeded', rows: { total: 3, applied: 3 } });
    expect(await exported(empty.env, empty.dataDir, 'second.csv', 'csv')).toBe(masters);
    expect(await exported(empty.env, empty.dataDir, 'second-rt.csv', 'csv', apps.rt)).toBe(devices);
  });
});
