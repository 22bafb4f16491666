import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRawStore } from '../support/raw-store.js';
import { request, runCli, spawnServer, type ServerProcess } from '../support/process.js';
import { freshStoreEnv } from '../support/test-db.js';

/** A progress line as the export prints it on stderr when stderr is not a terminal. */
const PROGRESS = /^exported \d+( of \d+)? rows in \d+\.\d s \(\d+ rows\/s(, about \d+ s left)?\)$/;

describe('openprofiles export, spawned', () => {
  let store: Awaited<ReturnType<typeof freshStoreEnv>>;
  let server: ServerProcess | null = null;
  let tenantId: number;
  let key: string;
  const cli = (...args: string[]) => runCli(args, store.env);

  beforeAll(async () => {
    store = await freshStoreEnv();
    const { json } = await cli('tenant', 'create', 'exporting', '--json');
    tenantId = json.id ?? json.tenant.id;
    key = json.key;
    await cli('app', 'create', String(tenantId), '--channel', 'rt', '--appid', 'x-rt', '--json');
    // 20,000 master profiles, seeded in bulk; one with an app profile on a device, written through the API below.
    const raw = await openRawStore(store.env);
    try {
      await raw.seedMasters(tenantId, 0, 20_000, (n) => ({ customerId: `p${String(n).padStart(5, '0')}`, attributes: { name: `P${n}`, email: `p${n}@example.com` } }), 1_000_000);
    } finally {
      await raw.close();
    }
    server = await spawnServer(store.env);
    const written = await request(server.url, 'POST', '/resources/v2/customerappprofile/x-rt', {
      key,
      body: { Records: [{ customerId: 'p00001', Attributes: { deviceId: 'ipad-1', os: 'iOS' } }] },
      headers: { prefer: 'wait=10' },
    });
    expect(written.body.code).toBe('1000');
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    await store?.dispose();
  });

  it('exports while the server runs: the same bytes as the HTTP export, progress lines on stderr, a --json summary on stdout', async () => {
    const out = join(store.dataDir, 'export.ndjson');
    const res = await cli('export', '--tenant', 'exporting', '--out', out, '--json', '--progress-every', '0.05');
    expect(res.code, res.stderr).toBe(0);
    expect(res.json).toEqual({ tenant: { id: tenantId, name: 'exporting' }, format: 'ndjson', app: null, rows: 20_000, bytes: statSync(out).size, seconds: expect.any(Number), out });
    // Not a terminal: plain lines, no bar; the last one says it is done.
    const lines = res.stderr.trim().split('\n');
    for (const line of lines) expect(line).toMatch(PROGRESS);
    expect(lines.at(-1)).toMatch(/^exported 20000 of 20000 rows in /);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const text = readFileSync(out, 'utf8');
    expect(text.split('\n')).toHaveLength(20_001);
    expect(JSON.parse(text.split('\n')[1])).toMatchObject({ customerId: 'p00001', appProfiles: [{ appId: 'x-rt', channel: 'rt', deviceId: 'ipad-1', attributes: { deviceId: 'ipad-1', os: 'iOS' } }] });
    const overHttp = await request(server!.url, 'GET', '/openprofiles/v1/export', { key });
    expect(overHttp.status).toBe(200);
    expect(overHttp.text).toBe(text);
  }, 60_000);

  it("exports CSV, and one app's profiles to stdout, the summary then going to stderr", async () => {
    const out = join(store.dataDir, 'export.csv');
    const csv = await cli('export', '--tenant', String(tenantId), '--format', 'csv', '--out', out);
    expect(csv.code, csv.stderr).toBe(0);
    expect(csv.stdout).toMatch(/^exported 20000 profiles of exporting to .*export\.csv \(csv, \d+ bytes, [\d.]+ s\)\n$/);
    const rows = readFileSync(out, 'utf8').split('\n');
    expect(rows[0]).toMatch(/^"customerId","name","email","msisdn",/);
    expect(rows[1]).toMatch(/^"p00000","P0","p0@example\.com",,/);
    expect(rows).toHaveLength(20_002);

    const app = await cli('export', '--tenant', 'exporting', '--app', 'x-rt', '--out', '-', '--json');
    expect(app.code, app.stderr).toBe(0);
    expect(app.stdout).toMatch(/^\{"customerId":"p00001","appId":"x-rt","channel":"rt","deviceId":"ipad-1",[^\n]*\n$/);
    expect(JSON.parse(app.stderr.trim().split('\n').at(-1)!)).toMatchObject({ app: 'x-rt', rows: 1, out: '-' });
  }, 60_000);

  it('exports with the server stopped, the same bytes', async () => {
    const before = readFileSync(join(store.dataDir, 'export.ndjson'), 'utf8');
    await server!.stop();
    server = null;
    const out = join(store.dataDir, 'stopped.ndjson');
    const res = await cli('export', '--tenant', 'exporting', '--out', out, '--json');
    expect(res.code, res.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(before);
  }, 60_000);

  it('refuses an unknown tenant, app or format, and leaves no file behind', async () => {
    const out = join(store.dataDir, 'refused.ndjson');
    for (const args of [['--tenant', 'nobody'], ['--tenant', 'exporting', '--app', 'nope'], ['--tenant', 'exporting', '--format', 'xml']]) {
      const res = await cli('export', ...args, '--out', out);
      expect(res.code, args.join(' ')).toBe(1);
      expect(res.stderr).toMatch(/^openprofiles: (no tenant named|tenant exporting has no app|--format takes)/);
    }
    expect(() => statSync(out)).toThrow();
  });

  it('marks a master attribute indexed (attribute add --indexed), and attribute list says so', async () => {
    const added = await cli('attribute', 'add', String(tenantId), 'name', '--type', 'string', '--indexed', '--json');
    expect(added.code, added.stderr).toBe(0);
    expect(added.json.attribute).toMatchObject({ name: 'name', isIndexed: true });
    const listed = await cli('attribute', 'list', String(tenantId));
    expect(listed.stdout).toMatch(/\tname\tstring\tindexed\n/);
  });
});
