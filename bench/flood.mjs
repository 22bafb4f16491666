#!/usr/bin/env node
// One tenant floods; how much does another tenant's p99 rise? Tenant B makes steady reads and
// small writes alone, then again while tenant A floods 100-record writes from 50 connections.
// A is held to its rate limit (`--flood-rate`, requests/s; the default tenant limit is 1000).
// A's load generator runs in a process of its own (`--same-process`: in this one, so that A's
// responses and bodies share the event loop that times B's requests).
//
//   npm run build && node bench/flood.mjs [--seconds 20] [--flood-rate 200] [--rounds 1] [--same-process]
//     [--backend sqlite|postgres] [--worker-process | --no-apply | --other-server]
// `--rounds N`: N pairs of phases (alone, then during the flood) on the same server, one row per
// round and the median ratio: single runs on a shared 2-core machine differ by up to 2×. B's load
// runs 10 s unmeasured before the first round.
// `--worker-process`: the server runs with --no-worker and the queue is applied by an
// `openprofiles worker` process beside it (docs/scaling.md on PostgreSQL; on SQLite one worker,
// which applies the journal the server's committer thread writes, docs/architecture.md).
// `--no-apply`: the server runs with --no-worker and nothing applies the queue (its limits raised
// out of the way): B's p99 as it would be if applying cost nothing, the floor for any change to
// how the queue is applied.
// `--other-server`: A floods a second server (its own process and store) on the same machine, so
// nothing but the cores and the disk (and, with --backend postgres, the database server) is
// shared: the floor that no change inside one server can go below.
import { execFile, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { load } from './lib/load.mjs';
import { CLI, histogramQuantile, metrics, start, startService, stop } from './lib/processes.mjs';
import { floodLoad } from './lib/flooder.mjs';
import { waitUntilApplied } from './lib/queue.mjs';

const { values: opts } = parseArgs({ options: { seconds: { type: 'string', default: '20' }, 'flood-rate': { type: 'string', default: '200' }, 'same-process': { type: 'boolean', default: false }, backend: { type: 'string', default: 'sqlite' }, 'worker-process': { type: 'boolean', default: false }, 'no-apply': { type: 'boolean', default: false }, 'other-server': { type: 'boolean', default: false }, rounds: { type: 'string', default: '1' } } });
const SECONDS = Number(opts.seconds);
const ROUNDS = Number(opts.rounds);
const WARM_UP_SECONDS = 10;
if (!(Number.isInteger(ROUNDS) && ROUNDS >= 1)) throw new Error(`--rounds must be a positive integer, got ${opts.rounds}`);

if ([opts['worker-process'], opts['no-apply'], opts['other-server']].filter(Boolean).length > 1) throw new Error('--worker-process, --no-apply and --other-server exclude each other');
const svc = await startService({
  backend: opts.backend,
  serveArgs: opts['worker-process'] || opts['no-apply'] ? ['--no-worker'] : [],
  env: opts['no-apply'] ? { PROFILES_MAX_QUEUE_RECORDS: '1000000000', PROFILES_QUEUE_SOFT_LIMIT_RECORDS: '1000000000' } : {},
});
const { env } = svc;
const floodSvc = opts['other-server'] ? await startService({ backend: opts.backend }) : svc;
if (floodSvc !== svc) execFileSync(process.execPath, [CLI, 'tenant', 'update', String(floodSvc.tenantId), '--rate-limit', opts['flood-rate'], '--json'], { env: floodSvc.env });
const worker = opts['worker-process'] ? await start([CLI, 'worker', '--concurrency', opts.backend === 'postgres' ? '2' : '1', '--json'], env, '"workers"') : null;
const cli = (...args) => JSON.parse(execFileSync(process.execPath, [CLI, ...args, '--json'], { env }).toString().trim().split('\n').at(-1));
const victim = cli('tenant', 'create', 'victim');
cli('tenant', 'update', String(victim.id), '--upsert-on-update', 'true');
cli('tenant', 'update', String(svc.tenantId), '--rate-limit', opts['flood-rate']);
await new Promise((r) => setTimeout(r, 1000));

const victimLoad = (seconds = SECONDS) =>
  Promise.all([
    load({ url: svc.url, key: victim.key, method: 'GET', paths: ['/resources/v2/customerprofile/nobody'], connections: 1, seconds }),
    load({
      url: svc.url,
      key: victim.key,
      method: 'PUT',
      path: '/resources/v2/customerprofile',
      body: () => JSON.stringify({ Records: [{ customerId: 'v1', Attributes: { name: 'Victim' } }] }),
      connections: 1,
      seconds,
    }),
  ]);

const flooder = opts['same-process']
  ? () => floodLoad({ url: floodSvc.url, key: floodSvc.key, appid: floodSvc.appid, seconds: SECONDS })
  : async () => {
      const script = fileURLToPath(new URL('./lib/flooder.mjs', import.meta.url));
      const { stdout } = await promisify(execFile)(process.execPath, [script, floodSvc.url, floodSvc.key, floodSvc.appid, String(SECONDS)], { maxBuffer: 1 << 20 });
      return JSON.parse(stdout);
    };

// The server's own view of B's requests (its latency histogram, from the request's arrival to its
// answer; interpolated within a bucket): what is left of the client's p99 is TLS, the kernel and
// the two cores' scheduling.
const serverP99 = (before, after, method, route) => {
  const q = histogramQuantile(before, after, 'openprofiles_http_request_duration_seconds', 0.99, `route="${route}",method="${method}"`);
  return q === null ? null : Math.round(q * 1000);
};
const phase = async (run) => {
  const before = await metrics(svc.url);
  const [reads, writes, flood] = await run();
  const after = await metrics(svc.url);
  reads.serverP99 = serverP99(before, after, 'GET', '/resources/v2/customerprofile/:customerId');
  writes.serverP99 = serverP99(before, after, 'PUT', '/resources/v2/customerprofile');
  return [reads, writes, flood];
};
// B warms the server up first, unmeasured: a fresh server's first seconds (the JIT, the caches)
// would raise B's p99 alone and flatter the first round's ratio.
await victimLoad(WARM_UP_SECONDS);
const rounds = [];
for (let i = 0; i < ROUNDS; i++) {
  // Each alone phase starts with A's flood applied, so that it does not share the cores with it.
  // (With --no-apply nothing drains; the queue only grows.)
  if (i > 0 && !opts['no-apply']) await waitUntilApplied(floodSvc);
  const [aloneReads, aloneWrites] = await phase(victimLoad);
  const [floodReads, floodWrites, flood] = await phase(async () => [...(await Promise.all([victimLoad(), flooder()])).flat()]);
  rounds.push({ aloneReads, aloneWrites, floodReads, floodWrites, flood });
  if (ROUNDS > 1) console.error(`round ${i + 1} of ${ROUNDS}: B's PUT p99 ${aloneWrites.p99} → ${floodWrites.p99} ms`);
}
if (worker) await stop(worker);
await svc.stop();
if (floodSvc !== svc) await floodSvc.stop();

const answered = (result) => Object.values(result.statuses).reduce((a, b) => a + b, 0);
const ratio = (alone, during) => Number((during.p99 / Math.max(alone.p99, 1)).toFixed(2));
const row = (what, alone, during) => ({
  what,
  'p50 alone': alone.p50,
  'p99 alone': alone.p99,
  'p50 during flood': during.p50,
  'p99 during flood': during.p99,
  'p99 ratio': ratio(alone, during),
  'server p99 alone → during': `${alone.serverP99} → ${during.serverP99}`,
  'answered alone → during': `${answered(alone)} → ${answered(during)}`,
});
console.table(
  rounds.flatMap((r, i) => {
    const round = ROUNDS > 1 ? ` round ${i + 1}` : '';
    return [row(`victim's getProfile (ms)${round}`, r.aloneReads, r.floodReads), row(`victim's 1-record PUT (ms)${round}`, r.aloneWrites, r.floodWrites)];
  }),
);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
if (ROUNDS > 1) {
  console.table([
    { what: "victim's getProfile", 'median p99 ratio': median(rounds.map((r) => ratio(r.aloneReads, r.floodReads))) },
    { what: "victim's 1-record PUT", 'median p99 ratio': median(rounds.map((r) => ratio(r.aloneWrites, r.floodWrites))) },
  ]);
}
const accepted = rounds.reduce((n, r) => n + r.flood.ok, 0);
const refused = rounds.reduce((n, r) => n + (r.flood.statuses['429'] ?? 0), 0);
console.table([{ flooder: `${accepted} accepted (2xx), ${refused} refused with 7020 (429)`, 'rate limit': `${opts['flood-rate']}/s`, seconds: `${ROUNDS} × ${SECONDS}`, 'load generator': opts['same-process'] ? 'same process' : 'own process', backend: opts.backend, server: opts['other-server'] ? "another server's" : "B's", worker: opts['no-apply'] ? 'none (--no-apply)' : opts['worker-process'] ? 'own process' : 'in the server' }]);
