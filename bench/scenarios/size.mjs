// Scenario 4, size: N customers, each a master profile and one rt app profile, loaded through
// the API in 1,000-record batches; then the server's RSS, the store's size per customer, and
// read latency at that size (nothing else running).
import { statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { load, push } from '../lib/load.mjs';
import { metrics } from '../lib/processes.mjs';
import { sampleQueue, waitUntilApplied } from '../lib/queue.mjs';
import { masterRecord, rtRecord } from '../lib/records.mjs';

const BATCH = 1000;

/** Body `i` of the load: customers [i * 1000, (i + 1) * 1000) of `count`, built with `record`. */
const batchOf = (count, record) => (i) => {
  const from = i * BATCH;
  return JSON.stringify({ Records: Array.from({ length: Math.min(BATCH, count - from) }, (_, k) => record(from + k)) });
};

/** Bytes of the SQLite store: the files, and the profile tables (with their indexes) alone, from dbstat. */
function sqliteBytes(dataDir) {
  const file = join(dataDir, 'openprofiles.db');
  const files = statSync(file).size + (statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0);
  const db = new Database(file, { readonly: true });
  try {
    const rows = db.prepare("SELECT name, SUM(pgsize) AS bytes FROM dbstat GROUP BY name").all();
    const owner = new Map(db.prepare("SELECT name, tbl_name FROM sqlite_schema WHERE type IN ('table', 'index')").all().map((r) => [r.name, r.tbl_name]));
    const profiles = rows.filter((r) => ['master_profiles', 'app_profiles'].includes(owner.get(r.name) ?? r.name)).reduce((s, r) => s + r.bytes, 0);
    return { files, profiles };
  } finally {
    db.close();
  }
}

async function postgresBytes(databaseUrl) {
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    const { rows } = await c.query(
      "SELECT pg_database_size(current_database()) AS files, pg_total_relation_size('master_profiles') + pg_total_relation_size('app_profiles') AS profiles",
    );
    return { files: Number(rows[0].files), profiles: Number(rows[0].profiles) };
  } finally {
    await c.end();
  }
}

export async function size(svc, P, backend = 'sqlite') {
  const n = P.profiles;
  const batches = Math.ceil(n / BATCH);
  const sampler = sampleQueue(svc, 1000);
  const t0 = Date.now();
  await push(svc, 'POST', '/resources/v2/customerprofile', batches, batchOf(n, masterRecord));
  await push(svc, 'PUT', `/resources/v2/customerprofiles/${svc.appid}`, batches, batchOf(n, rtRecord));
  const appliedAt = await waitUntilApplied(svc);
  const loadSeconds = (appliedAt - t0) / 1000;
  const { maxRssMB } = await sampler.stop();
  const m = await metrics(svc.url);
  const bytes = backend === 'postgres' ? await postgresBytes(svc.store.databaseUrl) : sqliteBytes(svc.store.dataDir);
  const ids = Array.from({ length: 5000 }, () => Math.floor(Math.random() * n));
  const read = (path) => load({ url: svc.url, key: svc.key, method: 'GET', paths: ids.map(path), connections: 4, seconds: P.readSeconds });
  const reads = await read((c) => `/resources/v2/customerprofile/cust-${c}`);
  const appReads = await read((c) => `/resources/v2/customerappprofile/${svc.appid}/cust-${c}`);
  return {
    profiles: n,
    loadSeconds: Number(loadSeconds.toFixed(1)),
    loadRecordsPerSecond: Math.round((2 * n) / loadSeconds),
    rssMB: Math.round(m.openprofiles_process_resident_memory_bytes / 1048576),
    peakRssMBDuringLoad: maxRssMB,
    storeMB: Math.round(bytes.files / 1048576),
    bytesPerCustomer: Math.round(bytes.files / n),
    profileTableBytesPerCustomer: Math.round(bytes.profiles / n),
    getProfileP50: reads.p50,
    getProfileP99: reads.p99,
    getAppProfileP50: appReads.p50,
    getAppProfileP99: appReads.p99,
  };
}
