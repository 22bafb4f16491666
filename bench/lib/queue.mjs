// Watching the service's queue from outside: through /metrics and the status API only.
import { client } from './load.mjs';
import { metrics } from './processes.mjs';
import { rtBodies } from './records.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** A status-API body (or a `Prefer: wait` answer) of an applied write transaction: any code but 7600 (in progress). */
const isApplied = (status, text) => status === 200 && JSON.parse(text).code !== '7600';
/** How often the service refreshes its queue-depth gauge (QUEUE_REFRESH_MS in src/main.ts), plus a margin. */
const GAUGE_REFRESH_MS = 1100;

/**
 * Waits until everything accepted so far is applied, and returns when that was seen.
 * A one-record write sent now, with `Prefer: wait`, answers once it is applied; on SQLite one
 * worker applies in acceptance order, so everything before it is applied too. Then the
 * queue-depth gauge must read 0 after a refresh that began later (stragglers, other backends).
 */
export async function waitUntilApplied(svc) {
  const http = client(svc, 1);
  const body = rtBodies({ size: 1, sequentialFrom: 900_000_000 + Math.floor(Math.random() * 1e8) })();
  let appliedAt;
  try {
    for (;;) {
      const { status, text } = await http.request('PUT', `/resources/v2/customerprofiles/${svc.appid}`, body, { prefer: 'wait=30' });
      if (isApplied(status, text)) {
        appliedAt = Date.now();
        break;
      }
      if (status !== 200 && status !== 503) throw new Error(`sentinel write: HTTP ${status} ${text.slice(0, 200)}`);
      await sleep(200);
    }
  } finally {
    http.close();
  }
  for (;;) {
    await sleep(GAUGE_REFRESH_MS);
    if ((await metrics(svc.url)).openprofiles_queue_depth_records === 0) return appliedAt;
  }
}

/**
 * Samples the queue gauges, the applied-records counter and the server's RSS every `everyMs`
 * until `stop()`, which returns the largest depth (records), the oldest-item age (s), the largest
 * RSS (MB) and the samples.
 */
export function sampleQueue(svc, everyMs = 250) {
  const samples = [];
  let running = true;
  const started = Date.now();
  const loop = (async () => {
    while (running) {
      try {
        const m = await metrics(svc.url);
        samples.push({
          at: Date.now(),
          t: Number(((Date.now() - started) / 1000).toFixed(2)),
          appliedRecords: Object.keys(m)
            .filter((k) => k.startsWith('openprofiles_records_applied_total'))
            .reduce((sum, k) => sum + m[k], 0),
          depthRecords: m.openprofiles_queue_depth_records,
          oldestAgeSeconds: m.openprofiles_queue_oldest_age_seconds,
          rssMB: Math.round(m.openprofiles_process_resident_memory_bytes / 1048576),
        });
      } catch {
        // a missed sample only: the next one follows
      }
      await sleep(everyMs);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      const max = (k) => samples.reduce((m, s) => Math.max(m, s[k] ?? 0), 0);
      return {
        maxDepthRecords: max('depthRecords'),
        maxOldestAgeSeconds: Number(max('oldestAgeSeconds').toFixed(2)),
        maxRssMB: max('rssMB'),
        samples,
      };
    },
  };
}

/**
 * Follows sampled transids through the status API: each is read until `done`; the time from its
 * 202 to the first read that saw it applied is its client-observed lag (it includes the status
 * read itself, so it is an upper bound of the true lag).
 */
export async function followTransids(svc) {
  const pending = [];
  const lags = [];
  let running = true;
  const http = client(svc, 4);
  await http.warm();
  const loop = (async () => {
    while (running || pending.length > 0) {
      const batch = pending.splice(0, pending.length);
      const left = [];
      await Promise.all(
        batch.map(async (p) => {
          const { status, text } = await http.request('GET', `/resources/v2/profile/status/${p.transid}`).catch(() => ({ status: 0, text: '' }));
          if (isApplied(status, text)) lags.push(Date.now() - p.at);
          else left.push(p);
        }),
      );
      pending.unshift(...left);
      await sleep(50);
    }
  })();
  return {
    add(transid, at) {
      pending.push({ transid, at });
    },
    async stop() {
      running = false;
      await loop;
      http.close();
      lags.sort((a, b) => a - b);
      const q = (x) => (lags.length ? lags[Math.min(lags.length - 1, Math.floor(x * lags.length))] : null);
      return { samples: lags.length, p50: q(0.5), p99: q(0.99) };
    },
  };
}
