/**
 * Bulk imports (docs/bulk-data.md, "Import"): the import, its chunks (each one write transaction,
 * whose apply fills in `applied` and `skipped` in the same database transaction) and the rows
 * validation refused, by the file's line.
 */
export default /* sql */ `
CREATE TABLE imports (
  id          TEXT PRIMARY KEY,
  tenant_id   INTEGER NOT NULL,
  format      TEXT NOT NULL,
  appid       TEXT,
  source      TEXT NOT NULL,
  is_upload   INTEGER NOT NULL,
  file_hash   TEXT NOT NULL,
  line_count  INTEGER NOT NULL,
  started_at  INTEGER NOT NULL,
  state       TEXT NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'succeeded', 'partially_succeeded', 'failed')),
  finished_at INTEGER,
  error       TEXT,
  runner      TEXT,
  lease_until INTEGER
);
CREATE INDEX imports_tenant ON imports (tenant_id);
CREATE INDEX imports_running ON imports (state) WHERE state = 'running';

CREATE TABLE import_chunks (
  import_id   TEXT NOT NULL,
  chunk       INTEGER NOT NULL,
  tenant_id   INTEGER NOT NULL,
  transid     TEXT NOT NULL UNIQUE,
  rows        INTEGER NOT NULL,
  rejected    INTEGER NOT NULL,
  first_line  INTEGER NOT NULL,
  last_line   INTEGER NOT NULL,
  is_accepted INTEGER NOT NULL DEFAULT 0,
  applied     INTEGER,
  skipped     INTEGER,
  PRIMARY KEY (import_id, chunk)
) WITHOUT ROWID;

CREATE TABLE import_rejects (
  import_id TEXT NOT NULL,
  line      INTEGER NOT NULL,
  tenant_id INTEGER NOT NULL,
  code      TEXT NOT NULL,
  errors    TEXT NOT NULL,
  raw       TEXT NOT NULL,
  PRIMARY KEY (import_id, line)
) WITHOUT ROWID;
`;
