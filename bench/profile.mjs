#!/usr/bin/env node
// node bench/profile.mjs [--seconds 20] [--only accept,hot,cold,insert] [--backend sqlite|postgres] [--preload 200000]   (after npm run build)
// Runs the server under `node --cpu-prof` through one bench scenario at a time and prints where
// its main thread spent the time: the functions with the most self time, and the most total
// time. The .cpuprofile files stay in a temp directory (open them in Chrome DevTools).
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { summarize } from './lib/cpu-profile.mjs';
import { load, push } from './lib/load.mjs';
import { startService } from './lib/processes.mjs';
import { waitUntilApplied } from './lib/queue.mjs';
import { loadBodies, rtBodies, rtRecord } from './lib/records.mjs';

const { values: opts } = parseArgs({
  options: { seconds: { type: 'string', default: '20' }, only: { type: 'string', default: 'accept,hot,cold,insert' }, top: { type: 'string', default: '25' }, backend: { type: 'string', default: 'sqlite' }, preload: { type: 'string', default: '200000' } },
});
const seconds = Number(opts.seconds);
/** Customers loaded before cold (the benchmark's cold runs over 1,000,000). */
const PRELOAD = Number(opts.preload);
const HOT = 10_000;

/** What each profiled run does: the server's flags, what is loaded first, and the timed load. */
const RUNS = {
  accept: { serveArgs: ['--no-worker'], preload: 0, body: rtBodies({ space: 1_000_000 }) },
  hot: { serveArgs: [], preload: HOT, body: rtBodies({ space: HOT }) },
  cold: { serveArgs: [], preload: PRELOAD, body: rtBodies({ space: PRELOAD }) },
  insert: { serveArgs: [], preload: 0, body: rtBodies({ sequentialFrom: 10_000_000 }) },
};

const report = { date: new Date().toISOString(), seconds, runs: {} };
for (const name of opts.only.split(',')) {
  const run = RUNS[name];
  const dir = mkdtempSync(join(tmpdir(), `openprofiles-profile-${name}-`));
  const svc = await startService({
    backend: opts.backend,
    serveArgs: run.serveArgs,
    nodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir],
    env: {
      ...(name === 'accept' ? { PROFILES_MAX_QUEUE_RECORDS: '1000000000', PROFILES_QUEUE_SOFT_LIMIT_RECORDS: '1000000000' } : { PROFILES_MAX_QUEUE_RECORDS: '200000' }),
      // As the benchmark's PostgreSQL run: two workers in the server process.
      ...(opts.backend === 'postgres' && { PROFILES_WORKER_CONCURRENCY: '2' }),
    },
  });
  try {
    if (run.preload) {
      const bodies = loadBodies(run.preload, 1000, rtRecord);
      await push(svc, 'PUT', `/resources/v2/customerprofiles/${svc.appid}`, bodies.length, (i) => bodies[i]);
      await waitUntilApplied(svc);
    }
    const r = await load({ url: svc.url, key: svc.key, method: 'PUT', path: `/resources/v2/customerprofiles/${svc.appid}`, body: run.body, connections: 50, seconds });
    if (name !== 'accept') await waitUntilApplied(svc);
    console.log(`\n${name}: ${r.requestsPerSecond} req/s, ${Math.round((r.ok * 100) / seconds)} records/s accepted, p99 ${r.p99} ms (profiled: slower than unprofiled)`);
  } finally {
    await svc.stop();
  }
  // One profile per thread: CPU.<date>.<pid>.<thread id>.<seq>.cpuprofile; thread 0 is the main thread.
  report.runs[name] = {};
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort()) {
    const thread = Number(f.split('.').at(-3)) === 0 ? 'main thread' : `thread ${f.split('.').at(-3)}`;
    const file = join(dir, f);
    const summary = summarize(file, Number(opts.top));
    report.runs[name][thread] = { file, ...summary };
    console.log(`${name}, ${thread}: ${summary.seconds} s sampled, idle ${summary.idlePct} %; ${file}`);
    console.table(summary.bySelf);
    console.table(summary.byTotal);
  }
}
const out = new URL(`./results/profile-${report.date.slice(0, 19).replace(/:/g, '-')}.json`, import.meta.url);
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
console.log(`summaries in ${out.pathname}`);
