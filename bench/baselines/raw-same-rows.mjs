// The storage ceiling for the end-to-end workloads: the rows those workloads end up writing,
// upserted straight into the service's own tables (made by its own migrations, indexes included),
// in database transactions of 1,000, with nothing else running. What the service adds on top (HTTP,
// validation, the queue, merging with the stored row, results) is the gap between an end-to-end
// figure and this one.
//
// Each workload runs twice: the profile rows alone (the original baseline), and with each change's
// event too (`withEvents`), an `app_profile.*` row in change_events in the same database
// transaction, its body built in the apply's shape (docs/changes.md). The second is the same end
// state as the service's, which writes an event for every change. The raw code reads no rows, so
// its events name the workload's changed attribute (`last_opened`) and take the write's time as
// `createdAt`; their bodies have the size of the service's.
//
// A workload's userId never changes, so an update sets only the attributes and updated_at: SQLite
// rewrites the index entries of every column in a SET list, changed or not (with user_id there,
// hot updates ran at about a third of the speed).
//
// SQLite: better-sqlite3 in this process, with the pragmas of the service's applying connection
// (WAL, synchronous=NORMAL as its applies commit, the same page cache and checkpoint interval).
// PostgreSQL: pg, one multi-row `INSERT … SELECT unnest … ON CONFLICT` per 1,000, as the adapter writes.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { masterRecord, rtRecord } from '../lib/records.mjs';

const BATCH = 1000;
const TENANT = 1;
const APPID = 'bench-rt';
/** The service's default page cache for the applying connection (PROFILES_SQLITE_CACHE_MIB). */
const CACHE_MIB = 16;

/** An app-profile row as the service stores an rt record of customer `c` (attributes as JSON text). */
function appRow(r, now) {
  return [r.customerId, r.Attributes.deviceId, r.Attributes.userId, JSON.stringify(r.Attributes), now];
}

/** The change event of an rt app profile's write at `at` (ISO text), its body as the apply builds it. */
function appEvent(r, at, transid, isCreate) {
  const type = isCreate ? 'app_profile.created' : 'app_profile.updated';
  const profile = { customerId: r.customerId, appId: APPID, channel: 'rt', deviceId: r.Attributes.deviceId, attributes: r.Attributes, createdAt: at, updatedAt: at };
  const changed = isCreate ? Object.keys(r.Attributes) : ['last_opened'];
  return { type, customerId: r.customerId, body: { type, occurredAt: at, customerId: r.customerId, appId: APPID, deviceId: r.Attributes.deviceId, transid, changed, profile } };
}

/** Customer numbers of a workload: uniform over [0, space) (hot, cold), or new ones from `from` (insert). */
function customers(count, { space, from }) {
  return Array.from({ length: count }, (_, i) => (from === undefined ? Math.floor(Math.random() * space) : from + i));
}

const perSecond = (count, startedMs) => Math.round(count / ((performance.now() - startedMs) / 1000));

/**
 * Loads `profiles` customers (a master and an rt app profile each, as the size scenario does), then
 * times each workload: `updates` upserts over the first `hot` customers (hot), over all (cold), and
 * `updates` new customers (insert); then the three again with their events (`withEvents`). Returns
 * records/s per workload.
 */
export async function rawSameRowsSqlite({ profiles, hot, updates }) {
  const { openEmbeddedStore } = await import('../../dist/open-store.js');
  const dir = mkdtempSync(join(tmpdir(), 'openprofiles-raw-'));
  const schema = openEmbeddedStore({ dataDir: dir });
  await schema.migrate();
  await schema.close();
  const db = new Database(join(dir, 'openprofiles.db'));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('wal_autocheckpoint = 10000');
    db.pragma('temp_store = MEMORY');
    db.pragma(`cache_size = -${CACHE_MIB * 1024}`);
    const upsertApp = db.prepare(
      `INSERT INTO app_profiles (tenant_id, appid, customer_id, device_id, user_id, attributes, created_at, updated_at) VALUES (${TENANT}, '${APPID}', ?, ?, ?, ?, ?, ?)
       ON CONFLICT (tenant_id, appid, customer_id, device_id) DO UPDATE SET attributes = excluded.attributes, updated_at = excluded.updated_at`,
    );
    const insertMaster = db.prepare(`INSERT INTO master_profiles (tenant_id, customer_id, attributes, created_at, updated_at) VALUES (${TENANT}, ?, ?, ?, ?)`);
    const insertEvent = db.prepare(`INSERT INTO change_events (tenant_id, type, customer_id, occurred_at, body) VALUES (${TENANT}, ?, ?, ?, ?)`);
    const writeApps = db.transaction((list, events) => {
      const now = Date.now();
      // Formatted once per database transaction, as the apply's `isoOf` caches its time.
      const at = new Date(now).toISOString();
      const transid = events && randomUUID();
      for (const c of list) {
        const r = rtRecord(c);
        const [customerId, deviceId, userId, attributes] = appRow(r, now);
        upsertApp.run(customerId, deviceId, userId, attributes, now, now);
        if (events) {
          const e = appEvent(r, at, transid, events === 'created');
          insertEvent.run(e.type, e.customerId, now, JSON.stringify(e.body));
        }
      }
    });
    const writeMasters = db.transaction((list) => {
      const now = Date.now();
      for (const c of list) {
        const r = masterRecord(c);
        insertMaster.run(r.customerId, JSON.stringify(r.Attributes), now, now);
      }
    });
    /** `events`: false, or the type of the workload's changes ('created', 'updated'). */
    const run = (write, list, events = false) => {
      const started = performance.now();
      for (let i = 0; i < list.length; i += BATCH) write(list.slice(i, i + BATCH), events);
      return perSecond(list.length, started);
    };
    run(writeMasters, customers(profiles, { from: 0 }));
    run(writeApps, customers(profiles, { from: 0 }));
    const workloads = (events, insertFrom) => ({
      hot: run(writeApps, customers(updates, { space: hot }), events && 'updated'),
      cold: run(writeApps, customers(updates, { space: profiles }), events && 'updated'),
      insert: run(writeApps, customers(updates, { from: insertFrom }), events && 'created'),
    });
    return { rows: profiles, updates, ...workloads(false, 10 * profiles), withEvents: workloads(true, 20 * profiles) };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The same on PostgreSQL, on a fresh database at `url` migrated by the service. */
export async function rawSameRowsPostgres({ url, profiles, hot, updates }) {
  const { openStore } = await import('../../dist/open-store.js');
  const schema = openStore({ databaseUrl: url, poolSize: 1 });
  await schema.migrate();
  await schema.close();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const writeApps = async (list, events) => {
      const now = Date.now();
      // One statement may not touch a row twice: the last write of each customer in the chunk wins.
      const records = list.map((c) => rtRecord(c));
      const rows = [...new Map(list.map((c, i) => [c, appRow(records[i], now)])).values()];
      if (events) {
        // One event per write, the bodies as one JSON array (as the adapter sends them).
        const transid = randomUUID();
        const at = new Date(now).toISOString();
        const written = records.map((r) => appEvent(r, at, transid, events === 'created'));
        await client.query(
          `INSERT INTO change_events (tenant_id, type, customer_id, occurred_at, body)
           SELECT ${TENANT}, t, c, $3, b::text FROM ROWS FROM (unnest($1::text[]), unnest($2::text[]), json_array_elements($4::json)) AS e (t, c, b)`,
          [written.map((e) => e.type), written.map((e) => e.customerId), now, JSON.stringify(written.map((e) => e.body))],
        );
      }
      await client.query(
        `INSERT INTO app_profiles (tenant_id, appid, customer_id, device_id, user_id, attributes, created_at, updated_at)
         SELECT ${TENANT}, '${APPID}', customer_id, device_id, user_id, attributes, created_at, created_at
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[]) AS k (customer_id, device_id, user_id, attributes, created_at)
         ON CONFLICT (tenant_id, appid, customer_id, device_id) DO UPDATE SET attributes = excluded.attributes, updated_at = excluded.updated_at`,
        [0, 1, 2, 3, 4].map((k) => rows.map((r) => r[k])),
      );
    };
    const writeMasters = async (list) => {
      const now = Date.now();
      const rows = list.map((c) => masterRecord(c));
      await client.query(
        `INSERT INTO master_profiles (tenant_id, customer_id, attributes, created_at, updated_at)
         SELECT ${TENANT}, customer_id, attributes, $3::bigint, $3::bigint FROM unnest($1::text[], $2::text[]) AS k (customer_id, attributes)`,
        [rows.map((r) => r.customerId), rows.map((r) => JSON.stringify(r.Attributes)), now],
      );
    };
    const run = async (write, list, events = false) => {
      const started = performance.now();
      for (let i = 0; i < list.length; i += BATCH) {
        await client.query('BEGIN');
        await write(list.slice(i, i + BATCH), events);
        await client.query('COMMIT');
      }
      return perSecond(list.length, started);
    };
    await run(writeMasters, customers(profiles, { from: 0 }));
    await run(writeApps, customers(profiles, { from: 0 }));
    const hotRate = await run(writeApps, customers(updates, { space: hot }));
    return { rows: profiles, updates, hot: hotRate, withEvents: { hot: await run(writeApps, customers(updates, { space: hot }), 'updated') } };
  } finally {
    await client.end();
  }
}
