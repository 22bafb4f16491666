#!/usr/bin/env node
// node bench/drain.mjs [--records 200000] [--space 10000] [--batch 64] [--profile]   (after npm run build)
// The apply path alone: queues `records` hot rt updates through `serve --no-worker`, then drains
// that queue with one in-process worker (no HTTP, nothing else running) and prints records/s,
// next to the raw better-sqlite3 upsert of the same rows into the same tables, measured in the same run.
// --profile: a CPU profile of the drain alone (node:inspector), summarised by function.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { rawSameRowsSqlite } from './baselines/raw-same-rows.mjs';
import { summarize } from './lib/cpu-profile.mjs';
import { push } from './lib/load.mjs';
import { startService, stop } from './lib/processes.mjs';
import { loadBodies, rtBodies, rtRecord } from './lib/records.mjs';

const { values: opts } = parseArgs({ options: { records: { type: 'string', default: '200000' }, space: { type: 'string', default: '10000' }, batch: { type: 'string', default: '64' }, profile: { type: 'boolean' } } });
const records = Number(opts.records);
const space = Number(opts.space);
const { ApplierLoops } = await import('../dist/write/4-apply.js');
const { openStore } = await import('../dist/open-store.js');

const svc = await startService({ backend: 'sqlite', serveArgs: ['--no-worker'], env: { PROFILES_MAX_QUEUE_RECORDS: '1000000000', PROFILES_QUEUE_SOFT_LIMIT_RECORDS: '1000000000' } });
const path = `/resources/v2/customerprofiles/${svc.appid}`;
const preload = loadBodies(space, 1000, rtRecord);
await push(svc, 'PUT', path, preload.length, (i) => preload[i]);
const next = rtBodies({ space });
await push(svc, 'PUT', path, records / 100, () => next());
await stop(svc.child); // the store stays: the applier loop below drains it

const storage = openStore({ dataDir: svc.store.dataDir });
let applied = 0;
let done;
const finished = new Promise((resolve) => (done = resolve));
const pool = new ApplierLoops(storage, 1, {
  batchSize: Number(opts.batch),
  leaseMs: 30_000,
  idlePollMs: 50,
  logger: pino({ level: 'warn' }),
  onApplied: (a) => {
    for (const wt of a) applied += Object.values(wt.codeCounts).reduce((x, y) => x + y, 0);
    if (applied >= records + space) done();
  },
});
const session = opts.profile ? new Session() : null;
if (session) {
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
}
const t0 = performance.now();
await pool.start(() => {});
await finished;
const seconds = (performance.now() - t0) / 1000;
if (session) {
  const { profile } = await session.post('Profiler.stop');
  const file = join(tmpdir(), `drain-${Date.now()}.cpuprofile`);
  writeFileSync(file, JSON.stringify(profile));
  const summary = summarize(file, 30);
  console.log(`drain profile: ${file}`);
  console.table(summary.bySelf);
  console.table(summary.byTotal);
}
await pool.stop();
await storage.close();
await svc.store.dispose();
const raw = await rawSameRowsSqlite({ profiles: space, hot: space, updates: records });
console.table([
  { what: `apply, batch ${opts.batch}`, records: applied, seconds: Number(seconds.toFixed(2)), 'records/s': Math.round(applied / seconds) },
  { what: 'raw better-sqlite3, the same rows into the same tables', records, seconds: null, 'records/s': raw.hot },
]);
