import type Database from 'better-sqlite3';
import type { MigrationReport } from '../ports.js';
import initial from './migrations/0001-initial.js';
import queueRecords from './migrations/0002-queue-records.js';
import journal from './migrations/0003-journal.js';
import attributeIndexes from './migrations/0004-attribute-indexes.js';
import imports from './migrations/0005-imports.js';
import changeEvents from './migrations/0006-change-events.js';
import webhooks from './migrations/0007-webhooks.js';

/** Numbered, append-only migrations. Never edit a shipped one: add the next number. */
const MIGRATIONS: Array<[number, string]> = [
  [1, initial],
  [2, queueRecords],
  [3, journal],
  [4, attributeIndexes],
  [5, imports],
  [6, changeEvents],
  [7, webhooks],
];

/** Every migration's number, in order. */
export const MIGRATION_VERSIONS = MIGRATIONS.map(([version]) => version);

/**
 * Applies pending migrations, each in its own database transaction. `BEGIN IMMEDIATE` takes the
 * write lock first, so two processes starting at once apply each migration once.
 */
export function migrate(db: Database.Database): MigrationReport {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
  const isApplied = db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?');
  const record = db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)');
  const applied: number[] = [];
  for (const [version, sql] of MIGRATIONS) {
    db.exec('BEGIN IMMEDIATE');
    try {
      // Checked under the write lock: another process may have applied it while we waited.
      if (!isApplied.get(version)) {
        db.exec(sql);
        record.run(version, new Date().toISOString());
        applied.push(version);
      }
      db.exec('COMMIT');
    } catch (err) {
      // SQLite rolls back by itself after some errors (SQLITE_FULL, SQLITE_IOERR); a second
      // ROLLBACK would then hide the original error.
      if (db.inTransaction) db.exec('ROLLBACK');
      throw err;
    }
  }
  const { version } = db.prepare('SELECT COALESCE(MAX(version), 0) AS version FROM schema_migrations').get() as { version: number };
  return { applied, version };
}
