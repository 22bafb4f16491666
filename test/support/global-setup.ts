import pg from 'pg';
import { selectedBackends, TEST_DATABASE_URL } from './test-db.js';

/** Says which backends run, and fails at once (not test by test) when a selected PostgreSQL is down. */
export default async function setup(): Promise<void> {
  const backends = selectedBackends();
  if (!backends.includes('postgres')) {
    console.log('\nStorage backends: sqlite. The PostgreSQL suite was not selected (run with STORAGE_BACKENDS=sqlite,postgres to include it).\n');
    return;
  }
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(`STORAGE_BACKENDS selects postgres, but ${TEST_DATABASE_URL} does not answer (${(err as Error).message}); set PROFILES_TEST_DATABASE_URL`);
  } finally {
    await client.end().catch(() => undefined);
  }
  console.log(`\nStorage backends: ${backends.join(', ')} (PostgreSQL at ${TEST_DATABASE_URL}); server-level tests run on ${backends[0]}.\n`);
}
