// Webhooks (#31), on SQLite, through the HTTP API only (endpoints under /openprofiles/v1/webhooks),
// delivering to a local HTTPS receiver in the benchmark's process (lib/webhook-receiver.mjs) that
// verifies every delivery with `standardwebhooks`:
// - delivery: N events waiting in the feed for one endpoint, delivered from the moment it is
//   enabled; events/s from the first delivery to the last, against a raw baseline of as many
//   signed POSTs of a real event body sent straight to the same receiver from a thread of the
//   benchmark (lib/raw-webhook-sender.mjs);
// - hot with an endpoint: the hot end-to-end workload (scenarios/end-to-end.mjs) on one store,
//   without an endpoint and with one subscribed to every event type, alternated; records/s of
//   each, their ratio, and whether delivery kept up (the backlog when the last write is applied,
//   and the time it then takes to drain).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { client, push } from '../lib/load.mjs';
import { metrics, startService, threadCpu } from '../lib/processes.mjs';
import { waitUntilApplied } from '../lib/queue.mjs';
import { loadBodies, masterRecord } from '../lib/records.mjs';
import { startReceiver } from '../lib/webhook-receiver.mjs';
import { endToEnd, HOT } from './end-to-end.mjs';
import { size } from './size.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const percentile = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : null);
const lagsOf = (receiver) => {
  const sorted = [...receiver.lags].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? null };
};
const written = (m) => m.openprofiles_change_events_written_total ?? 0;
const attemptsOf = (before, after) => {
  const out = {};
  for (const k of Object.keys(after).filter((k) => k.startsWith('openprofiles_webhook_attempts_total{'))) {
    const n = after[k] - (before[k] ?? 0);
    if (n) out[/outcome="([^"]+)"/.exec(k)[1]] = n;
  }
  return out;
};

/** The server's settings for a local receiver: loopback allowed, its self-signed certificate trusted. */
const hookEnv = (receiver) => ({ PROFILES_WEBHOOK_ALLOW_PRIVATE: 'true', PROFILES_WEBHOOK_CA_FILE: receiver.caFile });

/** Adds an endpoint for every event type through the API; the receiver verifies with its secret. */
async function addEndpoint(http, receiver) {
  const { status, text } = await http.request('POST', '/openprofiles/v1/webhooks', JSON.stringify({ url: `${receiver.url}/hooks` }));
  if (status !== 201) throw new Error(`webhook add: HTTP ${status} ${text.slice(0, 300)}`);
  const endpoint = JSON.parse(text);
  receiver.secret = endpoint.secret;
  return endpoint.id;
}

async function endpointOf(http, id) {
  const { status, text } = await http.request('GET', '/openprofiles/v1/webhooks');
  if (status !== 200) throw new Error(`webhook list: HTTP ${status}`);
  return JSON.parse(text).data.find((e) => e.id === id);
}

/** Runs the raw baseline in a worker thread; returns its events/s. */
function rawDelivery(receiver, secret, body, count, concurrency) {
  const worker = new Worker(new URL('../lib/raw-webhook-sender.mjs', import.meta.url), {
    workerData: { url: `${receiver.url}/hooks`, secret, body, count, concurrency, ca: readFileSync(receiver.caFile, 'utf8') },
  });
  return new Promise((resolve, reject) => {
    worker.once('message', ({ seconds }) => resolve(count / seconds));
    worker.once('error', reject);
  });
}

/**
 * Delivery: an endpoint is added and disabled (the receiver answers its first delivery 410 Gone);
 * N creates are applied (N events wait in the feed, behind its position); the receiver answers
 * 204 again and the endpoint is enabled: from there its deliverer takes the N events from the
 * feed and delivers them. events/s = N over the time from the first delivery to the last.
 */
export async function webhookDelivery({ events, concurrency = 16, nodeArgs = [], log }) {
  const dir = mkdtempSync(join(tmpdir(), 'openprofiles-bench-hooks-'));
  const receiver = await startReceiver(dir);
  // A short lease, so that the enabled endpoint is taken up within a second (its renewal tick is a third of it).
  const svc = await startService({
    backend: 'sqlite',
    nodeArgs,
    env: { ...hookEnv(receiver), PROFILES_WEBHOOK_LEASE_MS: '3000', PROFILES_WEBHOOK_CONCURRENCY: String(concurrency), PROFILES_MAX_QUEUE_RECORDS: '100000000', PROFILES_QUEUE_SOFT_LIMIT_RECORDS: '100000000' },
  });
  const http = client(svc, 2);
  try {
    const id = await addEndpoint(http, receiver);
    receiver.answer = 410;
    await http.request('POST', '/resources/v2/customerprofile', JSON.stringify({ Records: [masterRecord(events)] }));
    for (const deadline = Date.now() + 60_000; (await endpointOf(http, id)).isEnabled; await sleep(100)) {
      if (Date.now() > deadline) throw new Error('the endpoint was not disabled by a 410 within 60 s');
    }
    receiver.answer = 204;
    receiver.reset();
    log(`webhooks: the endpoint is disabled; ${events.toLocaleString('en-US')} creates`);
    const before = await metrics(svc.url);
    const bodies = loadBodies(events, 1000, masterRecord);
    await push(svc, 'POST', '/resources/v2/customerprofile', bodies.length, (i) => bodies[i]);
    await waitUntilApplied(svc);
    const waiting = written(await metrics(svc.url)) - written(before);
    log(`webhooks: ${waiting.toLocaleString('en-US')} events waiting; enabling the endpoint`);
    const enabledAt = Date.now();
    const { status } = await http.request('POST', `/openprofiles/v1/webhooks/${id}/enable`);
    if (status !== 200) throw new Error(`webhook enable: HTTP ${status}`);
    if (!(await receiver.until(waiting, 900_000))) throw new Error(`delivered ${receiver.delivered} of ${waiting} in 15 minutes`);
    const after = await metrics(svc.url);
    const delivery = {
      events: waiting,
      concurrency,
      eventsPerSecond: Math.round(waiting / ((receiver.lastAt - receiver.firstAt) / 1000)),
      firstAfterEnableSeconds: Number(((receiver.firstAt - enabledAt) / 1000).toFixed(1)),
      lastAfterEnableSeconds: Number(((receiver.lastAt - enabledAt) / 1000).toFixed(1)),
      duplicates: receiver.duplicates,
      unverified: receiver.unverified,
      attempts: attemptsOf(before, after),
    };
    log(`webhooks: raw baseline, ${waiting.toLocaleString('en-US')} signed POSTs, ${concurrency} in flight`);
    const body = receiver.sampleBody;
    receiver.reset();
    delivery.rawEventsPerSecond = Math.round(await rawDelivery(receiver, receiver.secret, body, waiting, concurrency));
    if (receiver.delivered !== waiting) throw new Error(`raw baseline: the receiver counted ${receiver.delivered} of ${waiting}`);
    delivery.rawUnverified = receiver.unverified;
    return delivery;
  } finally {
    http.close();
    await svc.stop();
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Hot end to end without and with one endpoint (every event type), on one SQLite store of 10,000
 * customers, alternated over `rounds` (without, with; then with, without; …). A run with the
 * endpoint adds it and waits for a first delivery before the load; once the last write is applied
 * it reads the backlog (events written during the run not yet delivered), waits up to `drainSeconds`
 * for it to drain, and removes the endpoint.
 */
export async function hotWithWebhook({ P, rounds = 1, drainSeconds = 60, log }) {
  const dir = mkdtempSync(join(tmpdir(), 'openprofiles-bench-hooks-'));
  const receiver = await startReceiver(dir);
  const svc = await startService({ backend: 'sqlite', env: { ...hookEnv(receiver), PROFILES_MAX_QUEUE_RECORDS: String(P.queueLimit) } });
  const http = client(svc, 2);
  const runs = [];
  try {
    log(`webhooks: loading ${HOT.toLocaleString('en-US')} customers for hot`);
    await size(svc, { ...P, profiles: HOT, readSeconds: 1 });
    /** The hot workload, and the CPU time the server (every thread) and this process (load, receiver) spent on it. */
    const measured = async () => {
      const loadAverage = Number(loadavg()[0].toFixed(1));
      const server = threadCpu(svc.child.pid);
      const bench = process.cpuUsage();
      const e = await endToEnd(svc, P, 'hot');
      const benchUs = process.cpuUsage(bench);
      const serverS = [...threadCpu(svc.child.pid)].reduce((sum, [thread, s]) => sum + s - (server.get(thread) ?? 0), 0);
      return {
        recordsPerSecond: e.recordsPerSecond,
        steadyRecordsPerSecond: e.steadyRecordsPerSecond,
        seconds: e.seconds,
        appliedRecords: e.appliedRecords,
        serverCpuUsPerRecord: Math.round((serverS * 1e6) / e.appliedRecords),
        benchCpuUsPerRecord: Math.round((benchUs.user + benchUs.system) / e.appliedRecords),
        loadAverage,
        e2e: e,
      };
    };
    for (let round = 0; round < rounds; round++) {
      for (const isHooked of round % 2 === 0 ? [false, true] : [true, false]) {
        log(`webhooks: end to end, hot, ${isHooked ? 'with one endpoint (every event type)' : 'no endpoint'}`);
        if (!isHooked) {
          runs.push({ endpoint: false, ...(await measured()) });
          continue;
        }
        const id = await addEndpoint(http, receiver);
        receiver.reset();
        // The endpoint is taken up at the deliverer's next lease renewal: wait for a first delivery.
        await http.request('POST', '/resources/v2/customerprofile', JSON.stringify({ Records: [masterRecord(HOT + round)] }));
        if (!(await receiver.until(1, 60_000))) throw new Error('no first delivery within 60 s');
        receiver.reset();
        const before = await metrics(svc.url);
        const run = await measured();
        const appliedAt = Date.now();
        const at = await metrics(svc.url);
        const events = written(at) - written(before);
        const deliveredDuringRun = receiver.delivered;
        const backlog = events - deliveredDuringRun;
        const drained = await receiver.until(events, drainSeconds * 1000);
        const drainedAt = Date.now();
        const after = await metrics(svc.url);
        const lag = lagsOf(receiver);
        runs.push({
          endpoint: true,
          ...run,
          events,
          deliveredDuringRun,
          deliveredPerSecondDuringRun: Math.round(deliveredDuringRun / run.seconds),
          backlogAtApplied: backlog,
          drainSeconds: drained ? Number(((drainedAt - appliedAt) / 1000).toFixed(1)) : null,
          leftAfterDrainWait: drained ? 0 : events - receiver.delivered,
          deliveredPerSecondOverall: Math.round(receiver.delivered / ((receiver.lastAt - receiver.firstAt) / 1000)),
          lagP50Ms: lag.p50,
          lagP99Ms: lag.p99,
          lagMaxMs: lag.max,
          duplicates: receiver.duplicates,
          unverified: receiver.unverified,
          attempts: attemptsOf(before, after),
        });
        const { status } = await http.request('DELETE', `/openprofiles/v1/webhooks/${id}`);
        if (status !== 204) throw new Error(`webhook remove: HTTP ${status}`);
      }
    }
    const mean = (isHooked) => {
      const of = runs.filter((r) => r.endpoint === isHooked);
      return Math.round(of.reduce((s, r) => s + r.recordsPerSecond, 0) / of.length);
    };
    return { rounds, drainSeconds, runs, withoutRecordsPerSecond: mean(false), withRecordsPerSecond: mean(true), ratio: Number((mean(true) / mean(false)).toFixed(2)) };
  } finally {
    http.close();
    await svc.stop();
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The tables of what ran (either may be null). */
export const webhookTables = (delivery, hot) => [
  delivery && [
    `Webhook delivery: ${delivery.events.toLocaleString('en-US')} events waiting in the feed, one endpoint enabled, ${delivery.concurrency} in flight, to a local HTTPS receiver verifying each with standardwebhooks; raw: as many signed POSTs sent straight to the same receiver`,
    [
      {
        events: delivery.events,
        'delivered events/s': delivery.eventsPerSecond,
        'raw events/s': delivery.rawEventsPerSecond,
        '× raw': Number((delivery.eventsPerSecond / delivery.rawEventsPerSecond).toFixed(2)),
        'first after enable s': delivery.firstAfterEnableSeconds,
        'last after enable s': delivery.lastAfterEnableSeconds,
        duplicates: delivery.duplicates,
        unverified: delivery.unverified + delivery.rawUnverified,
      },
    ],
  ],
  hot && [
    `Hot end to end (${HOT.toLocaleString('en-US')} customers) without and with one webhook endpoint for every event type, alternated on one SQLite store; with it: the backlog when the last write was applied, and its drain`,
    hot.runs.map((r) => ({
      endpoint: r.endpoint ? 'one, every type' : 'none',
      'records/s': r.recordsPerSecond,
      'steady records/s': r.steadyRecordsPerSecond,
      '× without (mean)': Number((r.recordsPerSecond / hot.withoutRecordsPerSecond).toFixed(2)),
      'server CPU µs/record': r.serverCpuUsPerRecord,
      'bench CPU µs/record': r.benchCpuUsPerRecord,
      'load average': r.loadAverage,
      events: r.events ?? null,
      'delivered in run': r.deliveredDuringRun ?? null,
      'delivered/s in run': r.deliveredPerSecondDuringRun ?? null,
      'backlog at applied': r.backlogAtApplied ?? null,
      'drain s': r.endpoint ? (r.drainSeconds ?? `not within ${hot.drainSeconds} s: ${r.leftAfterDrainWait.toLocaleString('en-US')} left`) : null,
      'lag p50 ms': r.lagP50Ms ?? null,
      'lag p99 ms': r.lagP99Ms ?? null,
    })),
  ],
].filter(Boolean);
