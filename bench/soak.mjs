#!/usr/bin/env node
// Soak: a paced load at 80 % of the end-to-end rate the service sustains, for --minutes (default
// 10). Every 30 s it samples the server's RSS and queue depth; at the end it reports them with
// every non-2xx answer and transport error. The rate is measured first (30 s at full speed).
//
//   npm run build && node bench/soak.mjs [--minutes 10]
import https from 'node:https';
import { parseArgs } from 'node:util';
import { metrics, startService } from './lib/processes.mjs';
import { rtBodies } from './lib/records.mjs';

const { values: opts } = parseArgs({ options: { minutes: { type: 'string', default: '10' } } });
const MINUTES = Number(opts.minutes);
const svc = await startService({ backend: 'sqlite', env: { PROFILES_MAX_QUEUE_RECORDS: '200000' } });
const agent = new https.Agent({ rejectUnauthorized: false, keepAlive: true, maxSockets: 32 });
const nextBody = rtBodies({ space: 10_000 });
const statuses = {};
let errors = 0;
const send = (body) =>
  new Promise((resolve) => {
    const req = https.request(`${svc.url}/resources/v2/customerprofiles/${svc.appid}`, { method: 'PUT', agent, headers: { key: svc.key, 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', () => resolve('error'));
    req.end(body);
  });
const applied = async () => Object.entries(await metrics(svc.url)).filter(([k]) => k.startsWith('openprofiles_records_applied_total')).reduce((s, [, v]) => s + v, 0);

/** Sends as fast as `clients` connections go until `until`, or paced at `perSecond` requests. */
async function drive(until, clients, perSecond, count) {
  const t0 = Date.now();
  let n = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (Date.now() < until) {
        const i = n++;
        if (perSecond) await new Promise((r) => setTimeout(r, Math.max(0, t0 + (i * 1000) / perSecond - Date.now())));
        if (Date.now() >= until) break;
        const status = await send(nextBody());
        if (count) {
          if (status === 'error') errors++;
          else statuses[status] = (statuses[status] ?? 0) + 1;
        }
      }
    }),
  );
}

const before = await applied();
const t0 = Date.now();
await drive(Date.now() + 30_000, 32, null, false);
while ((await metrics(svc.url)).openprofiles_queue_depth_records > 0) await new Promise((r) => setTimeout(r, 250));
const sustained = ((await applied()) - before) / ((Date.now() - t0) / 1000);
const target = Math.round((0.8 * sustained) / 100);
console.log(`sustained end to end: ${Math.round(sustained)} records/s; soaking at 80 %: ${target} requests/s (${target * 100} records/s) for ${MINUTES} min`);

const samples = [];
const sampler = setInterval(async () => {
  const m = await metrics(svc.url);
  samples.push({ minute: Number(((Date.now() - soakStart) / 60_000).toFixed(1)), rssMB: Math.round(m.openprofiles_process_resident_memory_bytes / 1048576), queueRecords: m.openprofiles_queue_depth_records });
}, 30_000);
const soakStart = Date.now();
await drive(soakStart + MINUTES * 60_000, 32, target, true);
clearInterval(sampler);
await svc.stop();
agent.destroy();
console.table(samples);
const rss = samples.map((s) => s.rssMB);
console.table([{ requests: Object.values(statuses).reduce((a, b) => a + b, 0), statuses: JSON.stringify(statuses), transportErrors: errors, rssMinMB: Math.min(...rss), rssMaxMB: Math.max(...rss), maxQueueRecords: Math.max(...samples.map((s) => s.queueRecords)) }]);
