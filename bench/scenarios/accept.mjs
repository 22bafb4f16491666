// Scenario 1, accept: PUT 100-record batches at 50 connections, and its baseline, the HTTP
// ceiling (bare Fastify over HTTPS parsing the same bodies and answering a constant).
import { fileURLToPath } from 'node:url';
import { load } from '../lib/load.mjs';
import { freePort, metrics, start, startService, stop } from '../lib/processes.mjs';
import { rtBodies } from '../lib/records.mjs';

const BARE_FASTIFY = fileURLToPath(new URL('../baselines/bare-fastify.mjs', import.meta.url));
const RECORDS_PER_REQUEST = 100;

/**
 * Bodies built before the clock starts and cycled, so the load generator, which shares the two
 * cores with the server, spends its time sending. 500 bodies of 100 customers out of 1,000,000.
 */
function bodyPool() {
  const next = rtBodies({ space: 1_000_000 });
  const pool = Array.from({ length: 500 }, next);
  let i = 0;
  return () => pool[i++ % pool.length];
}

const withRecords = (r) => ({ ...r, recordsPerSecond: Math.round((r.ok * RECORDS_PER_REQUEST) / r.seconds) });

/** The HTTP ceiling: bare Fastify over HTTPS in its own process. */
export async function httpCeiling(P) {
  const port = await freePort();
  const child = await start([BARE_FASTIFY, String(port)], process.env, '"url"');
  try {
    const r = await load({ url: `https://127.0.0.1:${port}`, key: 'x', method: 'PUT', path: '/resources/v2/customerprofiles/bench-rt', body: bodyPool(), connections: P.connections, seconds: P.acceptSeconds });
    return withRecords(r);
  } finally {
    await stop(child);
  }
}

/**
 * Accept on a fresh store. `isApiOnly`: `serve --no-worker`, the acceptance path alone (the queue
 * grows; nothing competes for the event loop). Otherwise the default `serve`, whose worker
 * applies in the same process while requests are accepted.
 */
export async function accept(P, { backend = 'sqlite', isApiOnly }) {
  const svc = await startService({
    backend,
    serveArgs: isApiOnly ? ['--no-worker'] : [],
    // Queue limits the run cannot reach (hard and soft): this measures how fast writes are taken,
    // not how the queue holds them back; end to end measures that.
    env: { PROFILES_MAX_QUEUE_RECORDS: '1000000000', PROFILES_QUEUE_SOFT_LIMIT_RECORDS: '1000000000' },
  });
  try {
    const r = await load({ url: svc.url, key: svc.key, method: 'PUT', path: `/resources/v2/customerprofiles/${svc.appid}`, body: bodyPool(), connections: P.connections, seconds: P.acceptSeconds });
    const m = await metrics(svc.url);
    return { ...withRecords(r), queueDepthAtEnd: m.openprofiles_queue_depth_records };
  } finally {
    await svc.stop();
  }
}
