/**
 * Bulk imports (docs/bulk-data.md, "Import"): the import, its chunks (each one write transaction,
 * whose apply fills in `applied` and `skipped` in the same database transaction) and the rows
 * validation refused, by the file's line.
 */
export default /* sql */ `
CREATE TABLE imports (
  id          text PRIMARY KEY,
  tenant_id   integer NOT NULL,
  format      text NOT NULL,
  appid       text,
  source      text NOT NULL,
  is_upload   boolean NOT NULL,
  file_hash   text NOT NULL,
  line_count  bigint NOT NULL,
  started_at  bigint NOT NULL,
  state       text NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'succeeded', 'partially_succeeded', 'failed')),
  finished_at bigint,
  error       text,
  runner      text,
  lease_until bigint
);
CREATE INDEX imports_tenant ON imports (tenant_id);
CREATE INDEX imports_running ON imports (state) WHERE state = 'running';

CREATE TABLE import_chunks (
  import_id   text NOT NULL,
  chunk       integer NOT NULL,
  tenant_id   integer NOT NULL,
  transid     uuid NOT NULL UNIQUE,
  rows        integer NOT NULL,
  rejected    integer NOT NULL,
  first_line  bigint NOT NULL,
  last_line   bigint NOT NULL,
  is_accepted boolean NOT NULL DEFAULT false,
  applied     integer,
  skipped     integer,
  PRIMARY KEY (import_id, chunk)
);

CREATE TABLE import_rejects (
  import_id text NOT NULL,
  line      bigint NOT NULL,
  tenant_id integer NOT NULL,
  code      text NOT NULL,
  errors    text NOT NULL,
  raw       text NOT NULL,
  PRIMARY KEY (import_id, line)
);
`;
