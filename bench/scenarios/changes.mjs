// Change events (#31), on one backend:
// - feed reading: N events written by the real server (creates of N master profiles, 1,000 per
//   request), then the whole feed read over HTTPS in pages of 1,000, against a raw SELECT of the
//   same rows in the same run;
// - event lag: writes at a constant 1,000 changes/s (10 requests of 100 records each second) for
//   `seconds`, while one reader follows the feed with wait=2; lag = when the reader has the event
//   minus its occurredAt (the apply's time);
// - idle: then, with nothing written, how long a long poll (wait=2) takes to answer its empty page.
import Database from 'better-sqlite3';
import pg from 'pg';
import { join } from 'node:path';
import { client, push } from '../lib/load.mjs';
import { startService } from '../lib/processes.mjs';
import { loadBodies, masterRecord } from '../lib/records.mjs';

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/** Reads the whole feed after `after`, page by page; returns the events read and the last cursor. */
async function readFeed(http, after, want) {
  let read = 0;
  let cursor = after;
  while (read < want) {
    const { status, text } = await http.request('GET', `/openprofiles/v1/changes?limit=1000${cursor ? `&after=${cursor}` : ''}`);
    if (status !== 200) throw new Error(`feed: HTTP ${status} ${text.slice(0, 200)}`);
    const page = JSON.parse(text);
    read += page.data.length;
    cursor = page.nextCursor;
    if (page.data.length === 0) break;
  }
  return { read, cursor };
}

/** The raw baseline: the same rows, one SELECT per 1,000 after the last seq, and the JSON of each page. */
async function rawRead(svc, count) {
  const started = performance.now();
  let read = 0;
  if (svc.store.databaseUrl) {
    const db = new pg.Client({ connectionString: svc.store.databaseUrl });
    await db.connect();
    try {
      for (let xid = '0', id = '0'; ; ) {
        const { rows } = await db.query(
          'SELECT e.xid::text AS x, e.id::text AS i, e.body FROM change_events e WHERE e.tenant_id = $1 AND (e.xid, e.id) > ($2::xid8, $3::bigint) ORDER BY e.xid, e.id LIMIT 1000',
          [svc.tenantId, xid, id],
        );
        if (rows.length === 0) break;
        JSON.stringify({ data: rows.map((r) => r.body) });
        read += rows.length;
        ({ x: xid, i: id } = rows.at(-1));
      }
    } finally {
      await db.end();
    }
  } else {
    const db = new Database(join(svc.store.dataDir, 'openprofiles.db'), { readonly: true });
    try {
      const page = db.prepare('SELECT seq, body FROM change_events WHERE tenant_id = ? AND seq > ? ORDER BY seq LIMIT 1000');
      for (let seq = 0; ; ) {
        const rows = page.all(svc.tenantId, seq);
        if (rows.length === 0) break;
        JSON.stringify({ data: rows.map((r) => r.body) });
        read += rows.length;
        seq = rows.at(-1).seq;
      }
    } finally {
      db.close();
    }
  }
  if (read < count) throw new Error(`raw read found ${read} of ${count} events`);
  return count / ((performance.now() - started) / 1000);
}

/** The long poll's `wait` when nothing happens, s. */
const IDLE_WAIT_S = 2;

export async function changes({ backend, events = 200_000, seconds = 30, log }) {
  const svc = await startService({ backend, env: { PROFILES_MAX_QUEUE_RECORDS: '100000000', PROFILES_QUEUE_SOFT_LIMIT_RECORDS: '100000000' } });
  const http = client(svc, 4);
  try {
    log(`changes (${backend}): ${events.toLocaleString('en-US')} creates, then the feed read in pages of 1,000`);
    const bodies = loadBodies(events, 1000, masterRecord);
    await push(svc, 'POST', '/resources/v2/customerprofile', bodies.length, (i) => bodies[i]);
    // Every event is in the feed once the last create is applied.
    for (;;) {
      const { read } = await readFeed(http, '', Infinity).catch(() => ({ read: 0 }));
      if (read >= events) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    if (svc.store.databaseUrl) {
      // What autovacuum does within its first minute on a new table: without statistics the planner
      // sorts every event after the cursor for each page instead of walking the index.
      const db = new pg.Client({ connectionString: svc.store.databaseUrl });
      await db.connect();
      await db.query('ANALYZE change_events');
      await db.end();
    }
    const started = performance.now();
    const { read } = await readFeed(http, '', events);
    const feedPerSecond = read / ((performance.now() - started) / 1000);
    const rawPerSecond = await rawRead(svc, events);

    log(`changes (${backend}): lag at 1,000 changes/s for ${seconds} s, one reader with wait=2`);
    let cursor = JSON.parse((await http.request('GET', '/openprofiles/v1/changes?after=now')).text).nextCursor;
    const lags = [];
    let isWriting = true;
    const reader = (async () => {
      const feed = client(svc, 1);
      try {
        for (;;) {
          const { status, text } = await feed.request('GET', `/openprofiles/v1/changes?limit=1000&wait=2&after=${cursor}`);
          if (status !== 200) throw new Error(`feed: HTTP ${status}`);
          const now = Date.now();
          const page = JSON.parse(text);
          for (const e of page.data) lags.push(now - Date.parse(e.occurredAt));
          cursor = page.nextCursor;
          if (!isWriting && page.data.length === 0) break;
        }
      } finally {
        feed.close();
      }
    })();
    const writer = client(svc, 4);
    const writes = [];
    let n = events;
    const t0 = performance.now();
    for (let tick = 0; tick < seconds * 10; tick++) {
      const due = t0 + tick * 100;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const body = JSON.stringify({ Records: Array.from({ length: 100 }, () => masterRecord(n++)) });
      writes.push(writer.request('POST', '/resources/v2/customerprofile', body));
    }
    for (const { status } of await Promise.all(writes)) if (status !== 202) throw new Error(`write: HTTP ${status}`);
    isWriting = false;
    await reader;
    writer.close();
    // Nothing happens now: how long a long poll takes to answer its empty page (#31: within wait + 1 s).
    const idleMs = [];
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      const { status, text } = await http.request('GET', `/openprofiles/v1/changes?wait=${IDLE_WAIT_S}&after=${cursor}`);
      if (status !== 200 || JSON.parse(text).data.length !== 0) throw new Error(`idle long poll: HTTP ${status}, ${text.slice(0, 200)}`);
      idleMs.push(Math.round(performance.now() - t));
    }
    lags.sort((a, b) => a - b);
    return {
      backend,
      events,
      feedEventsPerSecond: Math.round(feedPerSecond),
      rawEventsPerSecond: Math.round(rawPerSecond),
      lagEvents: lags.length,
      lagP50Ms: percentile(lags, 50),
      lagP99Ms: percentile(lags, 99),
      lagMaxMs: lags.at(-1),
      idleWaitSeconds: IDLE_WAIT_S,
      idleAnswerMaxMs: Math.max(...idleMs),
    };
  } finally {
    http.close();
    await svc.stop();
  }
}

export const changesTable = (runs) => [
  'Change feed: reading N events in pages of 1,000 (against a raw SELECT of the same rows), and event lag at 1,000 changes/s',
  runs.map((r) => ({
    backend: r.backend,
    events: r.events,
    'feed events/s': r.feedEventsPerSecond,
    'raw events/s': r.rawEventsPerSecond,
    'lag events': r.lagEvents,
    'lag p50 ms': r.lagP50Ms,
    'lag p99 ms': r.lagP99Ms,
    'lag max ms': r.lagMaxMs,
    [`idle wait=${r.idleWaitSeconds} answered after, max ms`]: r.idleAnswerMaxMs,
  })),
];
