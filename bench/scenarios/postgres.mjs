// The PostgreSQL run (part of `npm run bench` unless `--no-postgres`): the raw pg baseline of the same rows, accept, and end
// to end (hot, with reads) against fresh databases at PROFILES_TEST_DATABASE_URL.
import pg from 'pg';
import { rawSameRowsPostgres } from '../baselines/raw-same-rows.mjs';
import { freshStore, startService, TEST_DATABASE_URL } from '../lib/processes.mjs';
import { accept } from './accept.mjs';
import { endToEnd, HOT } from './end-to-end.mjs';
import { size } from './size.mjs';

/** Runs the PostgreSQL scenarios, or returns { skipped } saying why not. */
export async function postgresRun(P, log) {
  const probe = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 3000 });
  const isUp = await probe.connect().then(
    () => true,
    () => false,
  );
  await probe.end().catch(() => undefined);
  if (!isUp) return { skipped: `nothing answers at ${TEST_DATABASE_URL} (set PROFILES_TEST_DATABASE_URL)` };

  // The hot workload over the 10,000 customers loaded below, as the end-to-end run does.
  const updates = Math.min(P.rawUpdates, 200_000);
  log(`postgres: raw pg baseline, the hot workload's rows into the service's tables (${HOT.toLocaleString('en-US')} customers, ${updates.toLocaleString('en-US')} records)`);
  const store = await freshStore('postgres');
  const raw = await rawSameRowsPostgres({ url: store.databaseUrl, profiles: HOT, hot: HOT, updates });
  await store.dispose();
  log('postgres: accept (API only)');
  const acc = await accept(P, { backend: 'postgres', isApiOnly: true });
  const svc = await startService({ backend: 'postgres', env: { PROFILES_MAX_QUEUE_RECORDS: String(P.queueLimit), PROFILES_WORKER_CONCURRENCY: '2' } });
  try {
    // The hot workload reads customers 0…9,999: load those first.
    log('postgres: load 10,000 customers, then end to end, hot');
    await size(svc, { ...P, profiles: HOT, readSeconds: 1 }, 'postgres');
    return { raw, accept: acc, e2e: [await endToEnd(svc, P, 'hot')] };
  } finally {
    await svc.stop();
  }
}
