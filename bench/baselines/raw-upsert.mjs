// The storage ceiling: one table keyed by (tenant, app, customer) with a JSON attributes column,
// upserted in database transactions of 1,000 records: better-sqlite3 in this process (WAL,
// synchronous=FULL like the service), or pg with one multi-row statement per transaction.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { rtRecord } from '../lib/records.mjs';

const BATCH = 1000;

function records(count, space, sequentialFrom) {
  return Array.from({ length: count }, (_, i) => {
    const r = rtRecord(sequentialFrom === undefined ? Math.floor(Math.random() * space) : sequentialFrom + i);
    return [r.customerId, JSON.stringify(r.Attributes)];
  });
}

/** Inserts `rows` new records, then updates `updates` records spread over them; records/s of each. */
export function rawSqlite({ rows, updates }) {
  const dir = mkdtempSync(join(tmpdir(), 'openprofiles-raw-'));
  const db = new Database(join(dir, 'raw.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE profiles (tenant_id INTEGER, appid TEXT, customer_id TEXT, attributes TEXT, PRIMARY KEY (tenant_id, appid, customer_id)) WITHOUT ROWID');
  const upsert = db.prepare(
    'INSERT INTO profiles VALUES (1, ?, ?, ?) ON CONFLICT (tenant_id, appid, customer_id) DO UPDATE SET attributes = excluded.attributes',
  );
  const apply = db.transaction((batch) => {
    for (const [customerId, attributes] of batch) upsert.run('bench-rt', customerId, attributes);
  });
  const run = (list) => {
    const started = performance.now();
    for (let i = 0; i < list.length; i += BATCH) apply(list.slice(i, i + BATCH));
    return Math.round(list.length / ((performance.now() - started) / 1000));
  };
  const insertsPerSecond = run(records(rows, rows, 0));
  const updatesPerSecond = run(records(updates, rows));
  db.close();
  rmSync(dir, { recursive: true, force: true });
  return { insertsPerSecond, updatesPerSecond };
}

/** The same on PostgreSQL (database at `url`), one `INSERT … SELECT unnest … ON CONFLICT` per 1,000. */
export async function rawPostgres({ url, rows, updates }) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('CREATE TABLE raw_profiles (tenant_id int, appid text, customer_id text, attributes text, PRIMARY KEY (tenant_id, appid, customer_id))');
  const run = async (list) => {
    const started = performance.now();
    for (let i = 0; i < list.length; i += BATCH) {
      const batch = list.slice(i, i + BATCH);
      const unique = [...new Map(batch.map((r) => [r[0], r])).values()];
      await client.query('BEGIN');
      await client.query(
        `INSERT INTO raw_profiles SELECT 1, 'bench-rt', * FROM unnest($1::text[], $2::text[])
         ON CONFLICT (tenant_id, appid, customer_id) DO UPDATE SET attributes = excluded.attributes`,
        [unique.map((r) => r[0]), unique.map((r) => r[1])],
      );
      await client.query('COMMIT');
    }
    return Math.round(list.length / ((performance.now() - started) / 1000));
  };
  const insertsPerSecond = await run(records(rows, rows, 0));
  const updatesPerSecond = await run(records(updates, rows));
  await client.end();
  return { insertsPerSecond, updatesPerSecond };
}
