#!/usr/bin/env node
// npm run bench [-- --quick] [-- --no-postgres]
// Runs every scenario against the real server over HTTPS on loopback, with the baselines measured
// in the same run, prints a table per scenario and writes bench/results/<date>.json.
import { statSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { load } from './lib/load.mjs';
import { freePort, freshStore, histogramQuantile, metrics, start, startService, stop, TEST_DATABASE_URL } from './lib/processes.mjs';
import { bodies, masterRecord, rtRecord } from './lib/records.mjs';
import { rawPostgres, rawSqlite } from './baselines/raw-upsert.mjs';

const { values: opts } = parseArgs({ options: { quick: { type: 'boolean' }, 'no-postgres': { type: 'boolean' } } });
const QUICK = Boolean(opts.quick);
const P = QUICK
  ? { acceptSeconds: 5, e2eSeconds: 10, readSeconds: 4, profiles: 50_000, connections: 50 }
  : { acceptSeconds: 15, e2eSeconds: 60, readSeconds: 10, profiles: 1_000_000, connections: 50 };
const HOT = 10_000;
const results = { date: new Date().toISOString(), mode: QUICK ? 'quick' : 'full', machine: { cores: (await import('node:os')).cpus().length, node: process.version }, scenarios: {} };
const started = Date.now();
const log = (msg) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${msg}`);
const table = (title, rows) => {
  console.log(`\n${title}`);
  console.table(rows);
};
const ratio = (a, b) => (b ? Number((a / b).toFixed(2)) : null);
const path = (appid) => `/resources/v2/customerprofiles/${appid}`;

// ---------------------------------------------------------------------------------------------
// Baselines

async function httpCeiling() {
  const port = await freePort();
  const child = await start([new URL('./baselines/bare-fastify.mjs', import.meta.url).pathname, String(port)], process.env, '"url"');
  try {
    const r = await load({ url: `https://127.0.0.1:${port}`, key: 'x', method: 'PUT', path: path('bench-rt'), bodies: bodies({ count: 200, space: 1_000_000 }), connections: P.connections, seconds: P.acceptSeconds });
    return { ...r, recordsPerSecond: Math.round((r.ok * 100) / r.seconds) };
  } finally {
    await stop(child);
  }
}

// ---------------------------------------------------------------------------------------------
// Scenarios

/** 1. Accept: PUT 100-record batches, 50 connections, API only (no worker competing for CPU). */
async function accept(backend) {
  const svc = await startService({ backend, serveArgs: ['--no-worker'], env: { PROFILES_MAX_QUEUE_RECORDS: '1000000000' } });
  try {
    const r = await load({ url: svc.url, key: svc.key, method: 'PUT', path: path(svc.appid), bodies: bodies({ count: 500, space: 1_000_000 }), connections: P.connections, seconds: P.acceptSeconds });
    return { ...r, recordsPerSecond: Math.round((r.ok * 100) / r.seconds) };
  } finally {
    await svc.stop();
  }
}

/** Sends `batches` through `parallel` connections, as fast as accepted (503 = queue full: wait, resend). */
async function push(svc, method, urlPath, batches, parallel = 8) {
  const agent = new https.Agent({ rejectUnauthorized: false, keepAlive: true, maxSockets: parallel });
  const send = (body) =>
    new Promise((resolve, reject) => {
      const req = https.request(`${svc.url}${urlPath}`, { method, agent, headers: { key: svc.key, 'content-type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      });
      req.on('error', reject);
      req.end(body);
    });
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < batches.length) {
        const body = batches[next++];
        for (;;) {
          const status = await send(body);
          if (status === 202) break;
          if (status !== 503 && status !== 429) throw new Error(`load: HTTP ${status}`);
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    }),
  );
  agent.destroy();
}

async function drained(svc) {
  for (;;) {
    const m = await metrics(svc.url);
    if (m.openprofiles_queue_depth_records === 0) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** 4. Size: N master + N app profiles, loaded through the API in 1,000-record batches. */
async function size(svc, backend) {
  const t0 = Date.now();
  const masters = [];
  const apps = [];
  for (let c = 0; c < P.profiles; c += 1000) {
    const n = Math.min(1000, P.profiles - c);
    masters.push(JSON.stringify({ Records: Array.from({ length: n }, (_, i) => masterRecord(c + i)) }));
    apps.push(JSON.stringify({ Records: Array.from({ length: n }, (_, i) => rtRecord(c + i)) }));
  }
  await push(svc, 'POST', '/resources/v2/customerprofile', masters);
  await push(svc, 'PUT', path(svc.appid), apps);
  await drained(svc);
  const loadSeconds = (Date.now() - t0) / 1000;
  const m = await metrics(svc.url);
  let bytes;
  if (backend === 'postgres') {
    const c = new pg.Client({ connectionString: svc.store.databaseUrl });
    await c.connect();
    bytes = Number((await c.query('SELECT pg_database_size(current_database()) AS b')).rows[0].b);
    await c.end();
  } else {
    const file = join(svc.store.dataDir, 'openprofiles.db');
    bytes = statSync(file).size + (statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0);
  }
  const ids = Array.from({ length: 5000 }, () => Math.floor(Math.random() * P.profiles));
  const reads = await load({ url: svc.url, key: svc.key, method: 'GET', paths: ids.map((c) => `/resources/v2/customerprofile/cust-${c}`), connections: 4, seconds: P.readSeconds });
  const appReads = await load({ url: svc.url, key: svc.key, method: 'GET', paths: ids.map((c) => `/resources/v2/customerappprofile/${svc.appid}/cust-${c}`), connections: 4, seconds: P.readSeconds });
  return {
    profiles: P.profiles,
    loadSeconds: Number(loadSeconds.toFixed(1)),
    loadRecordsPerSecond: Math.round((2 * P.profiles) / loadSeconds),
    rssMB: Math.round(m.openprofiles_process_resident_memory_bytes / 1048576),
    databaseMB: Math.round(bytes / 1048576),
    bytesPerProfile: Math.round(bytes / P.profiles),
    getProfileP50: reads.p50,
    getProfileP99: reads.p99,
    getAppProfileP50: appReads.p50,
    getAppProfileP99: appReads.p99,
  };
}

/** 2. End to end, sustained: records/s from accept to applied, queue bound, lag; 3. reads during it. */
async function endToEnd(svc, workload, withReads) {
  const spec = { hot: { space: HOT }, cold: { space: P.profiles }, insert: { sequentialFrom: P.profiles * 2 } }[workload];
  const list = bodies({ count: workload === 'insert' ? Math.ceil((P.e2eSeconds * 60_000) / 100) : 2000, ...spec });
  const before = await metrics(svc.url);
  let maxDepth = 0;
  const sampler = setInterval(async () => {
    try {
      maxDepth = Math.max(maxDepth, (await metrics(svc.url)).openprofiles_queue_depth_records);
    } catch {
      // a missed sample only: the next one comes in a second
    }
  }, 1000);
  const t0 = Date.now();
  const ids = Array.from({ length: 5000 }, () => Math.floor(Math.random() * HOT));
  const [writes, reads, appReads] = await Promise.all([
    load({ url: svc.url, key: svc.key, method: 'PUT', path: path(svc.appid), bodies: list, connections: P.connections, seconds: P.e2eSeconds }),
    withReads ? load({ url: svc.url, key: svc.key, method: 'GET', paths: ids.map((c) => `/resources/v2/customerprofile/cust-${c}`), connections: 1, seconds: P.e2eSeconds }) : null,
    withReads ? load({ url: svc.url, key: svc.key, method: 'GET', paths: ids.map((c) => `/resources/v2/customerappprofile/${svc.appid}/cust-${c}`), connections: 1, seconds: P.e2eSeconds }) : null,
  ]);
  const loadEnded = Date.now();
  await drained(svc);
  clearInterval(sampler);
  const elapsed = (Date.now() - t0) / 1000;
  const after = await metrics(svc.url);
  const applied = Object.keys(after)
    .filter((k) => k.startsWith('openprofiles_records_applied_total'))
    .reduce((sum, k) => sum + after[k] - (before[k] ?? 0), 0);
  return {
    workload,
    acceptedRecords: writes.ok * 100,
    refused503: writes.statuses['503'] ?? 0,
    appliedRecords: applied,
    endToEndRecordsPerSecond: Math.round(applied / elapsed),
    drainSeconds: Number(((Date.now() - loadEnded) / 1000).toFixed(1)),
    maxQueueDepthRecords: maxDepth,
    lagP50ms: Math.round(histogramQuantile(before, after, 'openprofiles_apply_lag_seconds', 0.5) * 1000),
    lagP99ms: Math.round(histogramQuantile(before, after, 'openprofiles_apply_lag_seconds', 0.99) * 1000),
    acceptP99ms: writes.p99,
    ...(reads && { getProfileP50: reads.p50, getProfileP99: reads.p99, getAppProfileP50: appReads.p50, getAppProfileP99: appReads.p99 }),
  };
}

async function backendRun(backend) {
  log(`${backend}: accept`);
  const acc = await accept(backend);
  // A bounded queue: when the worker falls behind, writes get 503 and the load generator's
  // connections wait, so "records/s" below is what the service sustains, not what it buffers.
  const svc = await startService({ backend, env: { PROFILES_MAX_QUEUE_RECORDS: '200000' } });
  try {
    log(`${backend}: size (${P.profiles.toLocaleString()} profiles)`);
    const sz = await size(svc, backend);
    const e2e = [];
    for (const workload of ['hot', 'cold', 'insert']) {
      log(`${backend}: end to end, ${workload}`);
      e2e.push(await endToEnd(svc, workload, workload === 'hot'));
    }
    return { accept: acc, size: sz, endToEnd: e2e };
  } finally {
    await svc.stop();
  }
}

// ---------------------------------------------------------------------------------------------

log(`mode ${results.mode}: ${P.profiles.toLocaleString()} profiles, accept ${P.acceptSeconds} s, end to end ${P.e2eSeconds} s per workload`);
log('baseline: bare Fastify (HTTP ceiling)');
const ceiling = await httpCeiling();
log(`baseline: raw better-sqlite3 upsert (${P.profiles.toLocaleString()} rows)`);
const rawLite = rawSqlite({ rows: P.profiles, updates: P.profiles });
const sqlite = await backendRun('sqlite');
results.scenarios.sqlite = { ceiling, raw: rawLite, ...sqlite };

let postgres = null;
let rawPg = null;
if (opts['no-postgres']) log('PostgreSQL: not run (--no-postgres)');
else {
  const probe = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 3000 });
  const isUp = await probe.connect().then(() => true, () => false);
  await probe.end().catch(() => undefined);
  if (!isUp) log(`PostgreSQL: not run (nothing answers at ${TEST_DATABASE_URL}; set PROFILES_TEST_DATABASE_URL)`);
  else {
    log('baseline: raw PostgreSQL upsert');
    const store = await freshStore('postgres');
    rawPg = await rawPostgres({ url: store.databaseUrl, rows: Math.min(P.profiles, 200_000), updates: Math.min(P.profiles, 200_000) });
    await store.dispose();
    log('postgres: accept');
    const acc = await accept('postgres');
    const svc = await startService({ backend: 'postgres', env: { PROFILES_MAX_QUEUE_RECORDS: '200000', PROFILES_WORKER_CONCURRENCY: '2' } });
    try {
      log('postgres: end to end, hot');
      postgres = { accept: acc, endToEnd: [await endToEnd(svc, 'hot', true)] };
    } finally {
      await svc.stop();
    }
    results.scenarios.postgres = { raw: rawPg, ...postgres };
  }
}

// ---------------------------------------------------------------------------------------------
// Report

table('Accept: PUT 100-record batches, 50 connections (API only)', [
  { what: 'bare Fastify (HTTP ceiling)', 'req/s': ceiling.requestsPerSecond, 'records/s': ceiling.recordsPerSecond, 'p50 ms': ceiling.p50, 'p99 ms': ceiling.p99, 'max ms': ceiling.max, ratio: 1 },
  { what: 'OpenProfiles, SQLite', 'req/s': sqlite.accept.requestsPerSecond, 'records/s': sqlite.accept.recordsPerSecond, 'p50 ms': sqlite.accept.p50, 'p99 ms': sqlite.accept.p99, 'max ms': sqlite.accept.max, ratio: ratio(sqlite.accept.recordsPerSecond, ceiling.recordsPerSecond) },
  ...(postgres ? [{ what: 'OpenProfiles, PostgreSQL', 'req/s': postgres.accept.requestsPerSecond, 'records/s': postgres.accept.recordsPerSecond, 'p50 ms': postgres.accept.p50, 'p99 ms': postgres.accept.p99, 'max ms': postgres.accept.max, ratio: ratio(postgres.accept.recordsPerSecond, ceiling.recordsPerSecond) }] : []),
]);
const rawFor = (w, raw) => (w === 'insert' ? raw.insertsPerSecond : raw.updatesPerSecond);
table(`End to end (accept → applied), ${P.e2eSeconds} s per workload, SQLite; ratio to raw better-sqlite3 upsert`, sqlite.endToEnd.map((e) => ({ ...e, rawRecordsPerSecond: rawFor(e.workload, rawLite), ratio: ratio(e.endToEndRecordsPerSecond, rawFor(e.workload, rawLite)) })));
if (postgres) table('End to end, PostgreSQL; ratio to raw pg upsert', postgres.endToEnd.map((e) => ({ ...e, rawRecordsPerSecond: rawPg.updatesPerSecond, ratio: ratio(e.endToEndRecordsPerSecond, rawPg.updatesPerSecond) })));
table('Size (SQLite)', [sqlite.size]);
table('Baselines', [
  { what: 'raw better-sqlite3 upsert', 'inserts/s': rawLite.insertsPerSecond, 'updates/s': rawLite.updatesPerSecond, rows: P.profiles },
  ...(rawPg ? [{ what: 'raw pg upsert', 'inserts/s': rawPg.insertsPerSecond, 'updates/s': rawPg.updatesPerSecond, rows: Math.min(P.profiles, 200_000) }] : []),
]);

const hot = sqlite.endToEnd.find((e) => e.workload === 'hot');
const goal = (name, isMet, figure) => ({ goal: name, met: isMet ? 'met' : 'NOT met', figure });
const goals = [
  goal('accept ≥ 50% of the HTTP ceiling (records/s)', sqlite.accept.recordsPerSecond >= 0.5 * ceiling.recordsPerSecond, `${ratio(sqlite.accept.recordsPerSecond, ceiling.recordsPerSecond)}×`),
  goal('end to end, hot ≥ 100,000 records/s, queue bounded', hot.endToEndRecordsPerSecond >= 100_000, `${hot.endToEndRecordsPerSecond} records/s, max queue ${hot.maxQueueDepthRecords}`),
  ...['cold', 'insert'].map((w) => {
    const e = sqlite.endToEnd.find((x) => x.workload === w);
    return goal(`end to end, ${w} ≥ 1.0× raw upsert`, e.endToEndRecordsPerSecond >= rawFor(w, rawLite), `${ratio(e.endToEndRecordsPerSecond, rawFor(w, rawLite))}×`);
  }),
  goal('accept p99 ≤ 25 ms at 50 connections', sqlite.accept.p99 <= 25, `${sqlite.accept.p99} ms`),
  goal('getProfile p99 ≤ 5 ms during end to end', hot.getProfileP99 <= 5, `${hot.getProfileP99} ms`),
  goal('RSS ≤ 300 MB with the loaded profiles', sqlite.size.rssMB <= 300, `${sqlite.size.rssMB} MB at ${P.profiles.toLocaleString()} profiles`),
  postgres
    ? goal('PostgreSQL end to end, hot ≥ 50,000 records/s', postgres.endToEnd[0].endToEndRecordsPerSecond >= 50_000, `${postgres.endToEnd[0].endToEndRecordsPerSecond} records/s`)
    : { goal: 'PostgreSQL end to end, hot ≥ 50,000 records/s', met: 'not run', figure: '' },
];
table('Goals', goals);
results.goals = goals;
results.seconds = Math.round((Date.now() - started) / 1000);
const file = new URL(`./results/${results.date.slice(0, 19).replace(/:/g, '-')}-${results.mode}.json`, import.meta.url);
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
log(`done in ${results.seconds} s; results in ${file.pathname}`);
