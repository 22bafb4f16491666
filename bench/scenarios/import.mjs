// Bulk data in (#30): `openprofiles import` of N master profiles (NDJSON, server stopped: the CLI
// accepts the chunks into the journal and applies them itself) against raw baselines measured in
// the same run, each into a fresh store, parsed from the same file, 10,000 rows per database
// transaction: better-sqlite3 / pg inserting the same rows into the same table (master_profiles,
// with its indexes), and the same again with the change event each imported row writes (the same
// `profile.created` row in change_events, the body built as the apply builds it). The second is the
// same end state as the import, which the goal (≥ 0.6× raw) is measured against; the first is the
// issue's original baseline, kept for comparison. Neither writes a journal, per-record results or
// the import's own tables (chunks, rejects): those are the service's cost of resumability and
// ordering with API writes.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createReadStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import pg from 'pg';
import { CLI, freshStore } from '../lib/processes.mjs';

const customerId = (n) => `c${String(n).padStart(8, '0')}`;
const attributesOf = (n) => ({ name: `Customer ${n}`, email: `customer${n}@example.com`, msisdn: `+4477${String(n).padStart(9, '0')}`, sms: '1', rt: '0' });
const AT = '2026-12-07T10:00:00.000Z';

function writeFile(file, profiles) {
  const lines = [];
  for (let n = 0; n < profiles; n++) lines.push(JSON.stringify({ customerId: customerId(n), attributes: attributesOf(n), appProfiles: [], createdAt: AT, updatedAt: AT }));
  writeFileSync(file, `${lines.join('\n')}\n`);
}

const envOf = (store) => ({ ...process.env, PROFILES_DATA_DIR: store.dataDir, PROFILES_DATABASE_URL: store.databaseUrl, PROFILES_DEMO: 'false', PROFILES_LOG_LEVEL: 'error' });
const cli = (store, args) => execFileSync(process.execPath, [CLI, ...args], { env: envOf(store), encoding: 'utf8', maxBuffer: 64 << 20 });

/** The `profile.created` event of a created profile, as the apply writes it (docs/changes.md). */
function eventBody(d, now, transid) {
  const profile = { customerId: d.customerId, attributes: d.attributes, appProfiles: [], createdAt: d.createdAt, updatedAt: d.updatedAt };
  return JSON.stringify({ type: 'profile.created', occurredAt: new Date(now).toISOString(), customerId: d.customerId, appId: null, deviceId: null, transid, changed: Object.keys(d.attributes), profile });
}

/**
 * A raw baseline: each line parsed, its row inserted, 10,000 per database transaction; with
 * `events`, each row's change event too, in the same database transaction.
 */
async function rawInsert(store, tenantId, file, events) {
  const started = performance.now();
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  const chunk = [];
  if (store.databaseUrl) {
    const client = new pg.Client({ connectionString: store.databaseUrl });
    await client.connect();
    const flush = async () => {
      const now = Date.now();
      const transid = randomUUID();
      if (events) await client.query('BEGIN');
      // JSON text travels as one JSON array (as the apply sends attributes): in a text[] the driver
      // escapes every quote in JavaScript and the server parses the array literal, which made the
      // events' insert three times slower (2.5 against 1.0 s per 100,000).
      await client.query(
        `INSERT INTO master_profiles (tenant_id, customer_id, attributes, created_at, updated_at)
         SELECT $1, c, a::text, t, t FROM ROWS FROM (unnest($2::text[]), json_array_elements($3::json), unnest($4::bigint[])) AS k (c, a, t)`,
        [tenantId, chunk.map((d) => d.customerId), `[${chunk.map((d) => JSON.stringify(d.attributes)).join(',')}]`, chunk.map((d) => Date.parse(d.updatedAt))],
      );
      if (events) {
        await client.query(
          `INSERT INTO change_events (tenant_id, type, customer_id, occurred_at, body)
           SELECT $1, 'profile.created', c, $3, b FROM ROWS FROM (unnest($2::text[]), json_array_elements_text($4::json)) AS e (c, b)`,
          [tenantId, chunk.map((d) => d.customerId), now, JSON.stringify(chunk.map((d) => eventBody(d, now, transid)))],
        );
        await client.query('COMMIT');
      }
      chunk.length = 0;
    };
    try {
      for await (const line of lines) {
        chunk.push(JSON.parse(line));
        if (chunk.length === 10_000) await flush();
      }
      if (chunk.length) await flush();
    } finally {
      await client.end();
    }
  } else {
    const db = new Database(join(store.dataDir, 'openprofiles.db'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    const insert = db.prepare('INSERT INTO master_profiles (tenant_id, customer_id, attributes, created_at, updated_at) VALUES (?, ?, ?, ?, ?)');
    const insertEvent = db.prepare("INSERT INTO change_events (tenant_id, type, customer_id, occurred_at, body) VALUES (?, 'profile.created', ?, ?, ?)");
    const flush = db.transaction(() => {
      const now = Date.now();
      const transid = randomUUID();
      for (const d of chunk) {
        insert.run(tenantId, d.customerId, JSON.stringify(d.attributes), Date.parse(d.createdAt), Date.parse(d.updatedAt));
        if (events) insertEvent.run(tenantId, d.customerId, now, eventBody(d, now, transid));
      }
      chunk.length = 0;
    });
    try {
      for await (const line of lines) {
        chunk.push(JSON.parse(line));
        if (chunk.length === 10_000) flush();
      }
      if (chunk.length) flush();
    } finally {
      db.close();
    }
  }
  return (performance.now() - started) / 1000;
}

/** One backend: the import and the two raw baselines of `profiles` rows, each into a fresh store. */
export async function importBench({ backend, profiles, log }) {
  const ours = await freshStore(backend);
  const raw = await freshStore(backend);
  const rawEvents = await freshStore(backend);
  try {
    const file = join(ours.dataDir, 'profiles.ndjson');
    writeFile(file, profiles);
    cli(ours, ['tenant', 'create', 'bench', '--json']);
    log(`import (${backend}): ${profiles.toLocaleString('en-US')} master profiles, NDJSON, server stopped`);
    const started = performance.now();
    const summary = JSON.parse(cli(ours, ['import', file, '--tenant', 'bench', '--json']).trim().split('\n').at(-1));
    const importSeconds = (performance.now() - started) / 1000;
    if (summary.rows.applied !== profiles) throw new Error(`the import applied ${summary.rows.applied} of ${profiles} rows`);
    log(`raw insert (${backend}): the same rows into master_profiles`);
    const rawSeconds = await rawInsert(raw, JSON.parse(cli(raw, ['tenant', 'create', 'bench', '--json'])).id, file, false);
    log(`raw insert with events (${backend}): the same rows into master_profiles, and their change events`);
    const rawEventsSeconds = await rawInsert(rawEvents, JSON.parse(cli(rawEvents, ['tenant', 'create', 'bench', '--json'])).id, file, true);
    const perSecond = (seconds) => Math.round(profiles / seconds);
    /** Import rows/s over the baseline's. */
    const ratio = (baselineSeconds) => Number((baselineSeconds / importSeconds).toFixed(2));
    return {
      backend,
      profiles,
      importSeconds: Number(importSeconds.toFixed(1)),
      rowsPerSecond: perSecond(importSeconds),
      rawSeconds: Number(rawSeconds.toFixed(1)),
      rawRowsPerSecond: perSecond(rawSeconds),
      ratio: ratio(rawSeconds),
      rawEventsSeconds: Number(rawEventsSeconds.toFixed(1)),
      rawEventsRowsPerSecond: perSecond(rawEventsSeconds),
      eventsRatio: ratio(rawEventsSeconds),
    };
  } finally {
    await ours.dispose();
    await raw.dispose();
    await rawEvents.dispose();
  }
}

export const importTable = (runs) => [
  'Import: N master profiles (NDJSON) through the journal, against raw inserts of the same rows (× raw with events: the goal, ≥ 0.6)',
  runs.map((r) => ({
    backend: r.backend,
    rows: r.profiles,
    'import s': r.importSeconds,
    'rows/s': r.rowsPerSecond,
    'raw s': r.rawSeconds,
    'raw rows/s': r.rawRowsPerSecond,
    '× raw': r.ratio,
    'raw with events s': r.rawEventsSeconds,
    'raw with events rows/s': r.rawEventsRowsPerSecond,
    '× raw with events': r.eventsRatio,
  })),
];
