#!/usr/bin/env node
// node bench/e2e.mjs [--workload hot|cold|insert] [--seconds 20] [--profiles 50000] [--backend sqlite|postgres] [--read-rate 200] [--node-options=--max-semi-space-size=32] [--node-args=--heap-growing-percent=20]
// (after npm run build): one end-to-end workload on a fresh store of `--profiles` customers, for
// comparing two versions of the code one after the other on the same machine state (run it from
// each checkout in turn). Prints records/s, and each busy server thread's CPU time per applied
// record (read from /proc on Linux: steadier than the rate on a noisy machine; on SQLite the
// busiest thread after the main one is the applying thread). --node-options: NODE_OPTIONS of the
// server process alone (V8 flags such as --max-semi-space-size), not of this load generator.
// --node-args: flags on the server's node command line, for those NODE_OPTIONS refuses (such as
// --heap-growing-percent); several are separated by spaces.
// --read-rate N: the getProfile and getAppProfile readers send at most N requests a second each
// (default: as fast as each one connection is answered, as `npm run bench` does), to tell what
// the reads cost the writes.
import { parseArgs } from 'node:util';
import { startService, threadCpu } from './lib/processes.mjs';
import { endToEnd } from './scenarios/end-to-end.mjs';
import { size } from './scenarios/size.mjs';

const { values: opts } = parseArgs({
  options: { workload: { type: 'string', default: 'hot' }, seconds: { type: 'string', default: '20' }, profiles: { type: 'string', default: '50000' }, backend: { type: 'string', default: 'sqlite' }, 'read-rate': { type: 'string', default: '0' }, 'node-options': { type: 'string', default: '' }, 'node-args': { type: 'string', default: '' } },
});

const P = { connections: 50, queueLimit: 200_000, e2eSeconds: Number(opts.seconds), readSeconds: 3, profiles: Number(opts.profiles), readRate: Number(opts['read-rate']) || undefined };
const svc = await startService({
  backend: opts.backend,
  nodeArgs: opts['node-args'].split(' ').filter(Boolean),
  env: {
    PROFILES_MAX_QUEUE_RECORDS: String(P.queueLimit),
    NODE_OPTIONS: opts['node-options'],
    ...(opts.backend === 'postgres' && { PROFILES_WORKER_CONCURRENCY: process.env.PROFILES_WORKER_CONCURRENCY ?? '2' }),
  },
});
try {
  await size(svc, P, opts.backend);
  const before = threadCpu(svc.child.pid);
  const e = await endToEnd(svc, P, opts.workload);
  const after = threadCpu(svc.child.pid);
  console.table([{ workload: e.workload, backend: opts.backend, 'records/s': e.recordsPerSecond, 'steady records/s': e.steadyRecordsPerSecond, 'accept p99 ms': e.acceptP99ms, 'max queue records': e.maxQueueDepthRecords, 'max RSS MB': e.maxRssMB, 'getProfile server p99 ms': e.getProfileServerP99ms, 'getProfile p99 ms': e.getProfileP99ms, 'getProfile reads/s': Math.round(e.getProfileReads / P.e2eSeconds) }]);
  const busy = [...after].map(([thread, s]) => ({ thread, 'CPU s': Number((s - (before.get(thread) ?? 0)).toFixed(1)) })).filter((t) => t['CPU s'] >= 0.5);
  console.table(busy.map((t) => ({ ...t, 'µs per applied record': Math.round((t['CPU s'] * 1e6) / e.appliedRecords) })));
} finally {
  await svc.stop();
}
