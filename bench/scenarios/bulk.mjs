// Bulk data out (#30): export of N master profiles (the CLI, one consistent snapshot, NDJSON to a
// file) against a raw SELECT + JSON.stringify of the same rows in the same run, the export's peak
// RSS, and the latency of every page of a listing of all N (GET /openprofiles/v1/profiles,
// limit=1000, over HTTPS). The profiles are seeded with bulk SQL into the service's own tables.
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { CLI, freePort, freshStore, get, start, stop } from '../lib/processes.mjs';

const MAX_RSS = fileURLToPath(new URL('../lib/max-rss.mjs', import.meta.url));
const customerId = (n) => `c${String(n).padStart(8, '0')}`;
/** A profile of the size the API's examples have: name, email, msisdn and two channel flags. */
const attributesOf = (n) => ({ name: `Customer ${n}`, email: `customer${n}@example.com`, msisdn: `+4477${String(n).padStart(9, '0')}`, sms: '1', rt: '0' });
const SEEDED_AT = Date.UTC(2026, 11, 7, 10);

async function seed(store, tenantId, profiles) {
  const chunk = 10_000;
  if (store.databaseUrl) {
    const client = new pg.Client({ connectionString: store.databaseUrl });
    await client.connect();
    try {
      for (let from = 0; from < profiles; from += chunk) {
        const ns = Array.from({ length: Math.min(chunk, profiles - from) }, (_, i) => from + i);
        await client.query(
          'INSERT INTO master_profiles (tenant_id, customer_id, attributes, created_at, updated_at) SELECT $1, c, a, $4, $4 FROM unnest($2::text[], $3::text[]) AS k (c, a)',
          [tenantId, ns.map(customerId), ns.map((n) => JSON.stringify(attributesOf(n))), SEEDED_AT],
        );
      }
      await client.query('VACUUM ANALYZE master_profiles');
    } finally {
      await client.end();
    }
    return;
  }
  const db = new Database(join(store.dataDir, 'openprofiles.db'));
  try {
    const insert = db.prepare('INSERT INTO master_profiles (tenant_id, customer_id, attributes, created_at, updated_at) VALUES (?, ?, ?, ?, ?)');
    for (let from = 0; from < profiles; from += chunk) {
      db.transaction(() => {
        for (let n = from; n < Math.min(from + chunk, profiles); n++) insert.run(tenantId, customerId(n), JSON.stringify(attributesOf(n)), SEEDED_AT, SEEDED_AT);
      })();
    }
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
}

/** The raw baseline: one SELECT of the tenant's rows in customerId order, each row JSON.stringify'd to a line of a file. */
async function rawExport(store, tenantId, file) {
  const sql = 'SELECT customer_id, attributes, created_at, updated_at FROM master_profiles WHERE tenant_id = $1 ORDER BY customer_id';
  const fd = openSync(file, 'w');
  const started = performance.now();
  let rows = 0;
  let text = '';
  const line = (row) => {
    text += `${JSON.stringify(row)}\n`;
    if (++rows % 1000 === 0) {
      writeSync(fd, text);
      text = '';
    }
  };
  try {
    if (store.databaseUrl) {
      const client = new pg.Client({ connectionString: store.databaseUrl });
      await client.connect();
      try {
        for (const row of (await client.query(sql, [tenantId])).rows) line(row);
      } finally {
        await client.end();
      }
    } else {
      const db = new Database(join(store.dataDir, 'openprofiles.db'), { readonly: true });
      try {
        for (const row of db.prepare(sql.replace('$1', '?')).iterate(tenantId)) line(row);
      } finally {
        db.close();
      }
    }
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  const seconds = (performance.now() - started) / 1000;
  return { rows, seconds: Number(seconds.toFixed(2)), rowsPerSecond: Math.round(rows / seconds), bytes: statSync(file).size };
}

/** `openprofiles export` as an operator runs it, timed from spawn to exit, with its peak RSS. */
function cliExport(env, file) {
  const rssFile = `${file}.maxrss`;
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--import', MAX_RSS, CLI, 'export', '--tenant', 'bench', '--out', file, '--json'], { env: { ...env, MAX_RSS_FILE: rssFile }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.once('close', (code) => {
      if (code !== 0) return reject(new Error(`export exited ${code}: ${err}`));
      const seconds = (performance.now() - started) / 1000;
      const summary = JSON.parse(out.trim().split('\n').at(-1));
      const maxRssMB = Math.round(Number(readFileSync(rssFile, 'utf8')) / 1024);
      rmSync(rssFile, { force: true });
      resolve({ rows: summary.rows, seconds: Number(seconds.toFixed(2)), rowsPerSecond: Math.round(summary.rows / seconds), bytes: summary.bytes, maxRssMB });
    });
  });
}

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

/** Every page of the listing, in order, one request at a time over one keep-alive HTTPS connection. */
async function listAll(env, key, limit, maxPages) {
  const port = await freePort();
  const child = await start([CLI, 'serve', '--port', String(port), '--host', '127.0.0.1', '--json'], env, '"url"');
  const url = `https://127.0.0.1:${port}`;
  try {
    const ms = [];
    let rows = 0;
    let cursor = null;
    do {
      const started = performance.now();
      const res = await get(url, `/openprofiles/v1/profiles?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`, { key });
      ms.push(performance.now() - started);
      if (res.status !== 200) throw new Error(`listing answered ${res.status}: ${res.text.slice(0, 200)}`);
      const page = JSON.parse(res.text);
      rows += page.data.length;
      cursor = page.nextCursor;
    } while (cursor && ms.length < maxPages);
    const sorted = [...ms].sort((a, b) => a - b);
    const r = (v) => Number(v.toFixed(1));
    return { limit, pages: ms.length, rows, p50ms: r(quantile(sorted, 0.5)), p99ms: r(quantile(sorted, 0.99)), maxMs: r(sorted.at(-1)), firstPageMs: r(ms[0]), lastPageMs: r(ms.at(-1)) };
  } finally {
    await stop(child);
  }
}

/** The bulk scenario on one backend: seed, raw baseline, export, listing. */
export async function bulk({ backend, profiles, log, maxPages = Infinity }) {
  const store = await freshStore(backend);
  try {
    const env = { ...process.env, PROFILES_DATA_DIR: store.dataDir, PROFILES_DATABASE_URL: store.databaseUrl, PROFILES_DEMO: 'false', PROFILES_LOG_LEVEL: 'warn' };
    const cli = (...args) => JSON.parse(execFileSync(process.execPath, [CLI, ...args, '--json'], { env }).toString().trim().split('\n').at(-1));
    const tenant = cli('tenant', 'create', 'bench');
    cli('tenant', 'update', String(tenant.id), '--rate-limit', '10000000');
    log(`bulk (${backend}): seeding ${profiles.toLocaleString('en-US')} master profiles with bulk SQL`);
    const seedStarted = performance.now();
    await seed(store, tenant.id, profiles);
    const seedSeconds = Number(((performance.now() - seedStarted) / 1000).toFixed(1));
    log(`bulk (${backend}): raw SELECT + JSON.stringify of the same rows, then openprofiles export (NDJSON)`);
    const raw = await rawExport(store, tenant.id, join(store.dataDir, 'raw.ndjson'));
    rmSync(join(store.dataDir, 'raw.ndjson'), { force: true });
    const exported = await cliExport(env, join(store.dataDir, 'export.ndjson'));
    rmSync(join(store.dataDir, 'export.ndjson'), { force: true });
    log(`bulk (${backend}): listing every page (limit 1000)`);
    const listing = await listAll(env, tenant.key, 1000, maxPages);
    return { backend, profiles, seedSeconds, raw, export: exported, listing };
  } finally {
    await store.dispose();
  }
}

/** The scenario's tables: export against raw, and listing latency. */
export function bulkTables(runs) {
  const ratio = (a, b) => Number((a / b).toFixed(2));
  return [
    [
      `Bulk export: ${runs[0].profiles.toLocaleString('en-US')} master profiles, openprofiles export (NDJSON to a file, one snapshot; process start, migrate check and count included) against a raw SELECT + JSON.stringify of the same rows in the benchmark process`,
      runs.map((r) => ({
        store: r.backend,
        'seed s': r.seedSeconds,
        'raw s': r.raw.seconds,
        'raw rows/s': r.raw.rowsPerSecond,
        'export s': r.export.seconds,
        'export rows/s': r.export.rowsPerSecond,
        '× raw': ratio(r.export.rowsPerSecond, r.raw.rowsPerSecond),
        'export MB': Number((r.export.bytes / 1048576).toFixed(1)),
        'export max RSS MB': r.export.maxRssMB,
      })),
    ],
    [
      'Bulk listing: every page in order, GET /openprofiles/v1/profiles?limit=1000, one keep-alive HTTPS connection, client-side latency',
      runs.map((r) => ({
        store: r.backend,
        pages: r.listing.pages,
        rows: r.listing.rows,
        'p50 ms': r.listing.p50ms,
        'p99 ms': r.listing.p99ms,
        'max ms': r.listing.maxMs,
        'first page ms': r.listing.firstPageMs,
        'last page ms': r.listing.lastPageMs,
      })),
    ],
  ];
}
