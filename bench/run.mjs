#!/usr/bin/env node
// npm run bench [-- --quick] [-- --no-postgres]
// Runs every scenario against the real server over HTTPS on loopback, with the baselines measured
// in the same run, prints a table per scenario and writes bench/results/<date>-<mode>.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { rawSameRowsSqlite } from './baselines/raw-same-rows.mjs';
import { startService } from './lib/processes.mjs';
import { goals, printTable, ratio } from './lib/report.mjs';
import { accept, httpCeiling } from './scenarios/accept.mjs';
import { endToEnd, HOT } from './scenarios/end-to-end.mjs';
import { postgresRun } from './scenarios/postgres.mjs';
import { size } from './scenarios/size.mjs';
import { bulk, bulkTables } from './scenarios/bulk.mjs';
import { importBench, importTable } from './scenarios/import.mjs';
import { changes, changesTable } from './scenarios/changes.mjs';
import { hotWithWebhook, webhookDelivery, webhookTables } from './scenarios/webhooks.mjs';

const { values: opts } = parseArgs({ options: { quick: { type: 'boolean' }, 'no-postgres': { type: 'boolean' } } });
const QUICK = Boolean(opts.quick);
/** Sizes and durations; the quick mode runs the same scenarios, smaller and shorter. */
const P = {
  connections: 50,
  queueLimit: 200_000,
  ...(QUICK
    ? // 200,000 updates over the 50,000 rows (a 50,000-update pass is too short to time). Sized so
      // the whole quick run, PostgreSQL and the build included, stays within 2 minutes on 2 cores.
      { acceptSeconds: 5, e2eSeconds: 8, readSeconds: 3, profiles: 50_000, rawUpdates: 200_000, changesEvents: 10_000, changesSeconds: 5, webhookEvents: 5_000, webhookSeconds: 5, webhookRounds: 1, webhookDrainSeconds: 5 }
    : { acceptSeconds: 15, e2eSeconds: 60, readSeconds: 10, profiles: 1_000_000, rawUpdates: 1_000_000, changesEvents: 100_000, changesSeconds: 20, webhookEvents: 50_000, webhookSeconds: 20, webhookRounds: 2, webhookDrainSeconds: 30 }),
};
const started = Date.now();
const log = (msg) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${msg}`);
const results = {
  date: new Date().toISOString(),
  mode: QUICK ? 'quick' : 'full',
  command: `npm run bench${QUICK || opts['no-postgres'] ? ' --' : ''}${QUICK ? ' --quick' : ''}${opts['no-postgres'] ? ' --no-postgres' : ''}`,
  machine: { cores: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, loadAverageAtStart: loadavg().map((l) => Number(l.toFixed(2))) },
  server: { logLevel: 'warn', workerBatch: process.env.PROFILES_WORKER_BATCH ?? 'default' },
  parameters: P,
};

log(`mode ${results.mode}: ${P.profiles.toLocaleString('en-US')} profiles; accept ${P.acceptSeconds} s; end to end ${P.e2eSeconds} s per workload; load average ${results.machine.loadAverageAtStart.join(' ')}`);

log('baseline: bare Fastify over HTTPS (the HTTP ceiling)');
const ceiling = await httpCeiling(P);
log(`baseline: raw better-sqlite3, the workloads' rows into the service's tables: ${P.profiles.toLocaleString('en-US')} customers loaded, then ${P.rawUpdates.toLocaleString('en-US')} records per workload`);
const raw = await rawSameRowsSqlite({ profiles: P.profiles, hot: HOT, updates: P.rawUpdates });

log('accept: API only (serve --no-worker)');
const acceptApiOnly = await accept(P, { isApiOnly: true });
log('accept: serve, worker in process');
const acceptServe = await accept(P, { isApiOnly: false });

// One server for size and end to end: the workloads run over the customers the size scenario loads.
// The queue is bounded: past P.queueLimit records writes get 503 and the load waits.
const svc = await startService({ backend: 'sqlite', env: { PROFILES_MAX_QUEUE_RECORDS: String(P.queueLimit) } });
let sz;
const e2e = [];
try {
  log(`size: loading ${P.profiles.toLocaleString('en-US')} customers (master + rt app profile) in 1,000-record batches`);
  sz = await size(svc, P);
  for (const name of ['hot', 'cold', 'insert']) {
    log(`end to end: ${name}, with reads`);
    e2e.push(await endToEnd(svc, P, name));
  }
} finally {
  await svc.stop();
}

let postgres = null;
let postgresNote = 'not run: skipped with --no-postgres';
if (!opts['no-postgres']) {
  const run = await postgresRun(P, log);
  if (run.skipped) postgresNote = `not run: ${run.skipped}`;
  else postgres = run;
}
if (!postgres) log(`PostgreSQL: ${postgresNote}`);

// Bulk data out (#30): BULK_PROFILES master profiles (1,000,000 in the full run, 50,000 in the quick one).
const bulkProfiles = Number(process.env.BULK_PROFILES ?? (QUICK ? 50_000 : 1_000_000));
const bulkRuns = [];
for (const backend of postgres ? ['sqlite', 'postgres'] : ['sqlite']) bulkRuns.push(await bulk({ backend, profiles: bulkProfiles, log }));
results.bulk = bulkRuns;

// Bulk data in (#30): IMPORT_PROFILES master profiles through `openprofiles import` (as many as BULK_PROFILES by default).
const importProfiles = Number(process.env.IMPORT_PROFILES ?? bulkProfiles);
const importRuns = [];
for (const backend of postgres ? ['sqlite', 'postgres'] : ['sqlite']) importRuns.push(await importBench({ backend, profiles: importProfiles, log }));
results.import = importRuns;

// Change events (#31): the feed read and the event lag at 1,000 changes/s, on each store; webhook
// delivery, and hot end to end without and with one endpoint (SQLite).
const changesRuns = [];
for (const backend of postgres ? ['sqlite', 'postgres'] : ['sqlite']) changesRuns.push(await changes({ backend, events: P.changesEvents, seconds: P.changesSeconds, log }));
results.changes = changesRuns;
const webhookRun = await webhookDelivery({ events: P.webhookEvents, log });
const webhookHot = await hotWithWebhook({ P: { ...P, e2eSeconds: P.webhookSeconds }, rounds: P.webhookRounds, drainSeconds: P.webhookDrainSeconds, log });
results.webhooks = { delivery: webhookRun, hot: { ...webhookHot, runs: webhookHot.runs.map(({ e2e, ...r }) => r) } };

// ---------------------------------------------------------------------------------------------
// Report

const acceptRow = (what, r) => ({
  what,
  'req/s': r.requestsPerSecond,
  'records/s': r.recordsPerSecond,
  'p50 ms': r.p50,
  'p99 ms': r.p99,
  'max ms': r.max,
  'first answer max ms': r.firstMax,
  '× ceiling': ratio(r.recordsPerSecond, ceiling.recordsPerSecond),
});
printTable(`Accept: PUT 100-record batches, ${P.connections} connections, ${P.acceptSeconds} s`, [
  acceptRow('bare Fastify, HTTPS (HTTP ceiling)', ceiling),
  acceptRow('OpenProfiles, API only (--no-worker)', acceptApiOnly),
  acceptRow('OpenProfiles, serve (worker in process)', acceptServe),
  ...(postgres ? [acceptRow('OpenProfiles on PostgreSQL, API only', postgres.accept)] : []),
]);

const rawFor = (w, base) => base[w];
const throughputRow = (e, base) => ({
  workload: e.workload,
  's (to applied)': e.seconds,
  'accepted records': e.acceptedRecords,
  'applied records': e.appliedRecords,
  failed: e.failedRecords,
  '503s': e.refused503,
  'records/s': e.recordsPerSecond,
  'steady records/s': e.steadyRecordsPerSecond,
  'all connected after s': e.allConnectedAfterSeconds,
  'raw records/s': rawFor(e.workload, base),
  '× raw': ratio(e.recordsPerSecond, rawFor(e.workload, base)),
  'raw with events records/s': rawFor(e.workload, base.withEvents),
  '× raw with events': ratio(e.recordsPerSecond, rawFor(e.workload, base.withEvents)),
  'drain s': e.drainSeconds,
  'max queue records': e.maxQueueDepthRecords,
  'max queue age s': e.maxQueueAgeSeconds,
});
const latencyRow = (e) => ({
  workload: e.workload,
  'lag p50 ms': e.lagP50ms,
  'lag p99 ms': e.lagP99ms,
  'status lag p50 ms': e.statusLagP50ms,
  'status lag p99 ms': e.statusLagP99ms,
  'accept p50 ms': e.acceptP50ms,
  'accept p99 ms': e.acceptP99ms,
  'getProfile p50 ms': e.getProfileP50ms,
  'getProfile p99 ms': e.getProfileP99ms,
  'getProfile server p99 ms': e.getProfileServerP99ms,
  'getAppProfile p50 ms': e.getAppProfileP50ms,
  'getAppProfile p99 ms': e.getAppProfileP99ms,
  'getAppProfile server p99 ms': e.getAppProfileServerP99ms,
});
printTable(
  `End to end: accepted → applied, ${P.e2eSeconds} s of load per workload (hot: ${HOT.toLocaleString('en-US')} customers; cold: ${P.profiles.toLocaleString('en-US')}; insert: new), ${P.connections} connections; × the raw upsert of the same rows into the same tables, without and with their change events`,
  [...e2e.map((e) => throughputRow(e, raw)), ...(postgres ? postgres.e2e.map((e) => ({ ...throughputRow(e, postgres.raw), workload: `${e.workload} (PostgreSQL)` })) : [])],
);
printTable('End to end: apply lag (histogram; status API, client-observed) and latency of accepts and of reads under that load (1 connection each)', [
  ...e2e.map(latencyRow),
  ...(postgres ? postgres.e2e.map((e) => ({ ...latencyRow(e), workload: `${e.workload} (PostgreSQL)` })) : []),
]);
printTable('Size: customers loaded through the API (master + rt app profile each), then reads at that size (4 connections)', [
  {
    customers: sz.profiles,
    'load s': sz.loadSeconds,
    'records/s': sz.loadRecordsPerSecond,
    'RSS MB': sz.rssMB,
    'peak RSS MB (load)': sz.peakRssMBDuringLoad,
    'store MB': sz.storeMB,
    'bytes/customer': sz.bytesPerCustomer,
    'profile tables bytes/customer': sz.profileTableBytesPerCustomer,
    'getProfile p50 ms': sz.getProfileP50,
    'getProfile p99 ms': sz.getProfileP99,
    'getAppProfile p50 ms': sz.getAppProfileP50,
    'getAppProfile p99 ms': sz.getAppProfileP99,
  },
]);
printTable('Baselines, measured in this run', [
  { baseline: 'bare Fastify, HTTPS, same bodies', 'records/s': ceiling.recordsPerSecond, 'hot records/s': null, 'cold records/s': null, 'insert records/s': null, customers: null, 'records per workload': null },
  { baseline: 'raw better-sqlite3, same rows, same tables, db transactions of 1,000', 'records/s': null, 'hot records/s': raw.hot, 'cold records/s': raw.cold, 'insert records/s': raw.insert, customers: raw.rows, 'records per workload': raw.updates },
  { baseline: 'the same, with each change\'s event', 'records/s': null, 'hot records/s': raw.withEvents.hot, 'cold records/s': raw.withEvents.cold, 'insert records/s': raw.withEvents.insert, customers: raw.rows, 'records per workload': raw.updates },
  ...(postgres
    ? [
        { baseline: 'raw pg, same rows, same tables, one statement per 1,000', 'records/s': null, 'hot records/s': postgres.raw.hot, 'cold records/s': null, 'insert records/s': null, customers: postgres.raw.rows, 'records per workload': postgres.raw.updates },
        { baseline: 'the same, with each change\'s event', 'records/s': null, 'hot records/s': postgres.raw.withEvents.hot, 'cold records/s': null, 'insert records/s': null, customers: postgres.raw.rows, 'records per workload': postgres.raw.updates },
      ]
    : []),
]);
for (const [title, rows] of bulkTables(bulkRuns)) printTable(title, rows);
printTable(...importTable(importRuns));
printTable(...changesTable(changesRuns));
for (const [title, rows] of webhookTables(webhookRun, webhookHot)) printTable(title, rows);
const goalRows = goals({ P, ceiling, acceptApiOnly, raw, e2e, size: sz, postgres, changes: changesRuns, webhooks: { delivery: webhookRun, hot: webhookHot } });
printTable('Goals', goalRows);
if (!postgres) console.log(`\nPostgreSQL: ${postgresNote}`);

results.seconds = Math.round((Date.now() - started) / 1000);
Object.assign(results, { ceiling, raw, acceptApiOnly, acceptServe, size: sz, endToEnd: e2e, postgres: postgres ?? postgresNote, goals: goalRows });
// Not committed (bench/results/ is ignored): docs/benchmarks.md keeps the latest run's tables.
const file = new URL(`./results/${results.date.slice(0, 19).replace(/:/g, '-')}-${results.mode}.json`, import.meta.url);
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
log(`done in ${results.seconds} s; results in ${file.pathname}`);
