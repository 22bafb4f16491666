// Scenario 2, end to end: a sustained write load, 50 connections, and how many records per
// second go from accepted to applied; with scenario 3, reads under that load.
import { load } from '../lib/load.mjs';
import { histogramQuantile, metrics } from '../lib/processes.mjs';
import { followTransids, sampleQueue, waitUntilApplied } from '../lib/queue.mjs';
import { rtBodies } from '../lib/records.mjs';

/** Active customers of the hot workload. */
export const HOT = 10_000;
const RECORDS_PER_REQUEST = 100;

/**
 * The workloads, over customers 0…N-1 that the size scenario loaded:
 * hot: app-profile updates (a device reporting last_opened) over 10,000 active customers;
 * cold: the same updates spread uniformly over all N; insert: createAppProfile of new customers.
 */
function workload(name, P, appid) {
  const update = { method: 'PUT', path: `/resources/v2/customerprofiles/${appid}` };
  switch (name) {
    case 'hot':
      return { ...update, body: rtBodies({ space: HOT }), readSpace: HOT };
    case 'cold':
      return { ...update, body: rtBodies({ space: P.profiles }), readSpace: P.profiles };
    case 'insert':
      return { method: 'POST', path: `/resources/v2/customerappprofile/${appid}`, body: rtBodies({ sequentialFrom: 10 * P.profiles }), readSpace: P.profiles };
    default:
      throw new Error(`no workload ${name}`);
  }
}

const sum = (m, prefix) => Object.keys(m).filter((k) => k.startsWith(prefix)).reduce((s, k) => s + m[k], 0);
const ms = (seconds) => (seconds === null ? null : Math.round(seconds * 1000));

/**
 * Runs `name` for P.e2eSeconds with one getProfile and one getAppProfile connection reading
 * customers of the same workload, then waits until everything accepted is applied.
 *
 * records/s = records applied (openprofiles_records_applied_total) / time from the first request
 * to the moment the status API reported the last write applied. Steady records/s: the same
 * counter's rate from when the last writer connection got its first answer to the end of the
 * load (the server takes on new connections one per event-loop turn, so at the start fewer than
 * 50 connections may be writing). Queue depth and RSS are sampled
 * from /metrics 4 times a second; lag is from openprofiles_apply_lag_seconds (server side) and
 * from following one transid a second through the status API (client side).
 */
export async function endToEnd(svc, P, name) {
  const w = workload(name, P, svc.appid);
  const ids = Array.from({ length: 5000 }, () => Math.floor(Math.random() * w.readSpace));
  // One connection each, as fast as it is answered (the benchmark), or at most P.readRate a second (bench/e2e.mjs --read-rate).
  const read = (path) => load({ url: svc.url, key: svc.key, method: 'GET', paths: ids.map(path), connections: 1, seconds: P.e2eSeconds, overallRate: P.readRate });
  const before = await metrics(svc.url);
  const sampler = sampleQueue(svc);
  const follow = await followTransids(svc);
  const t0 = Date.now();
  const [writes, reads, appReads] = await Promise.all([
    load({ url: svc.url, key: svc.key, method: w.method, path: w.path, body: w.body, connections: P.connections, seconds: P.e2eSeconds, onAccepted: (t, at) => follow.add(t, at), sampleEveryMs: 1000 }),
    read((c) => `/resources/v2/customerprofile/cust-${c}`),
    read((c) => `/resources/v2/customerappprofile/${svc.appid}/cust-${c}`),
  ]);
  const loadEnded = Date.now();
  const appliedAt = await waitUntilApplied(svc);
  const [queue, statusLag] = await Promise.all([sampler.stop(), follow.stop()]);
  const after = await metrics(svc.url);
  const seconds = (appliedAt - t0) / 1000;
  // Steady state: from when every writer connection had its first answer to the end of the load.
  const inWindow = queue.samples.filter((s) => writes.allConnectedAt !== null && s.at >= writes.allConnectedAt && s.at <= loadEnded);
  const steadyRate =
    inWindow.length >= 2 && inWindow.at(-1).at - inWindow[0].at >= 2000
      ? Math.round((inWindow.at(-1).appliedRecords - inWindow[0].appliedRecords) / ((inWindow.at(-1).at - inWindow[0].at) / 1000))
      : null;
  // The one-record write that marked the end is not part of the load.
  const applied = sum(after, 'openprofiles_records_applied_total') - sum(before, 'openprofiles_records_applied_total') - 1;
  const failed = applied + 1 - ((after['openprofiles_records_applied_total{code="1000"}'] ?? 0) - (before['openprofiles_records_applied_total{code="1000"}'] ?? 0));
  const serverP99 = (route) => ms(histogramQuantile(before, after, `openprofiles_http_request_duration_seconds`, 0.99, `route="${route}",method="GET"`));
  return {
    workload: name,
    seconds: Number(seconds.toFixed(1)),
    acceptedRecords: writes.ok * RECORDS_PER_REQUEST,
    refused503: writes.statuses['503'] ?? 0,
    appliedRecords: applied,
    failedRecords: failed,
    recordsPerSecond: Math.round(applied / seconds),
    steadyRecordsPerSecond: steadyRate,
    allConnectedAfterSeconds: writes.allConnectedAt === null ? null : Number(((writes.allConnectedAt - t0) / 1000).toFixed(1)),
    drainSeconds: Number(((appliedAt - loadEnded) / 1000).toFixed(1)),
    maxQueueDepthRecords: queue.maxDepthRecords,
    maxQueueAgeSeconds: queue.maxOldestAgeSeconds,
    maxRssMB: queue.maxRssMB,
    lagP50ms: ms(histogramQuantile(before, after, 'openprofiles_apply_lag_seconds', 0.5)),
    lagP99ms: ms(histogramQuantile(before, after, 'openprofiles_apply_lag_seconds', 0.99)),
    statusLagP50ms: statusLag.p50,
    statusLagP99ms: statusLag.p99,
    statusSamples: statusLag.samples,
    acceptP50ms: writes.p50,
    acceptP99ms: writes.p99,
    acceptAllP99ms: writes.allP99,
    acceptFirstMaxMs: writes.firstMax,
    getProfileP50ms: reads.p50,
    getProfileP99ms: reads.p99,
    getProfileAllP99ms: reads.allP99,
    getProfileReads: reads.ok,
    getProfileServerP99ms: serverP99('/resources/v2/customerprofile/:customerId'),
    getAppProfileP50ms: appReads.p50,
    getAppProfileP99ms: appReads.p99,
    getAppProfileAllP99ms: appReads.allP99,
    getAppProfileServerP99ms: serverP99('/resources/v2/customerappprofile/:appid/:customerId'),
    depthSamples: queue.samples,
  };
}
