import type pg from 'pg';
import type { MigrationReport } from '../ports.js';
import initial from './migrations/0001-initial.js';
import queueVacuum from './migrations/0002-queue-vacuum.js';
import queueLz4 from './migrations/0003-queue-lz4.js';
import attributeIndexes from './migrations/0004-attribute-indexes.js';
import imports from './migrations/0005-imports.js';
import changeEvents from './migrations/0006-change-events.js';
import webhooks from './migrations/0007-webhooks.js';

/** Numbered, append-only migrations. Never edit a shipped one: add the next number. */
const MIGRATIONS: Array<[number, string]> = [
  [1, initial],
  [2, queueVacuum],
  [3, queueLz4],
  [4, attributeIndexes],
  [5, imports],
  [6, changeEvents],
  [7, webhooks],
];

/** Any constant: the advisory lock that lets one node migrate while the others wait. */
const MIGRATION_LOCK = 0x0b9e_f11e;

/** Applies pending migrations under an advisory lock, so several nodes may start at once. */
export async function migrate(client: pg.PoolClient): Promise<MigrationReport> {
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
  try {
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at text NOT NULL)');
    const applied: number[] = [];
    for (const [version, sql] of MIGRATIONS) {
      const { rowCount } = await client.query('SELECT 1 FROM schema_migrations WHERE version = $1', [version]);
      if (rowCount) continue;
      await client.query('BEGIN');
      try {
        await client.query(sql);
        await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [version, new Date().toISOString()]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      }
      applied.push(version);
    }
    const { rows } = await client.query<{ version: number }>('SELECT COALESCE(MAX(version), 0)::int AS version FROM schema_migrations');
    return { applied, version: rows[0].version };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
  }
}
