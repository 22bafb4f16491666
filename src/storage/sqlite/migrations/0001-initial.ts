/** The first schema: directory, profiles, and the write transaction queue. */
export default /* sql */ `
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO meta (key, value) VALUES ('config_version', 1);

CREATE TABLE tenants (
  id         INTEGER PRIMARY KEY,
  name       TEXT NOT NULL UNIQUE,
  settings   TEXT NOT NULL,
  allow_list TEXT NOT NULL DEFAULT '[]',
  created_at TEXT NOT NULL
);

CREATE TABLE profile_keys (
  key_id     TEXT PRIMARY KEY,
  tenant_id  INTEGER NOT NULL REFERENCES tenants (id),
  hash       TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL,
  revoked_at TEXT
);
CREATE INDEX profile_keys_tenant ON profile_keys (tenant_id);

CREATE TABLE apps (
  appid      TEXT PRIMARY KEY,
  tenant_id  INTEGER NOT NULL REFERENCES tenants (id),
  channel    TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX apps_tenant ON apps (tenant_id);

CREATE TABLE attribute_definitions (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant_id   INTEGER NOT NULL REFERENCES tenants (id),
  scope       TEXT NOT NULL,
  name        TEXT NOT NULL,
  type        TEXT NOT NULL,
  max_length  INTEGER,
  enum_values TEXT,
  UNIQUE (tenant_id, scope, name)
);

CREATE TABLE master_profiles (
  tenant_id   INTEGER NOT NULL,
  customer_id TEXT NOT NULL,
  attributes  TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, customer_id)
) WITHOUT ROWID;

CREATE TABLE app_profiles (
  tenant_id   INTEGER NOT NULL,
  appid       TEXT NOT NULL,
  customer_id TEXT NOT NULL,
  device_id   TEXT NOT NULL DEFAULT '',
  user_id     TEXT,
  attributes  TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, appid, customer_id, device_id)
) WITHOUT ROWID;
CREATE INDEX app_profiles_user ON app_profiles (tenant_id, appid, user_id) WHERE user_id IS NOT NULL;
CREATE INDEX app_profiles_customer ON app_profiles (tenant_id, customer_id);

CREATE TABLE write_transactions (
  seq             INTEGER PRIMARY KEY AUTOINCREMENT,
  transid         TEXT NOT NULL UNIQUE,
  tenant_id       INTEGER NOT NULL,
  operation       TEXT NOT NULL,
  appid           TEXT,
  records         TEXT NOT NULL,
  is_upsert       INTEGER NOT NULL,
  is_cascade      INTEGER NOT NULL,
  total_count     INTEGER NOT NULL,
  idempotency_key TEXT,
  request_hash    TEXT,
  state           TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'processing', 'done')),
  claimed_by      TEXT,
  lease_until     INTEGER,
  accepted_at     INTEGER NOT NULL,
  finished_at     INTEGER,
  success_count   INTEGER,
  failure_count   INTEGER,
  results         TEXT
);
CREATE INDEX write_transactions_pending ON write_transactions (seq) WHERE state <> 'done';
CREATE UNIQUE INDEX write_transactions_idempotency ON write_transactions (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX write_transactions_finished ON write_transactions (tenant_id, finished_at) WHERE state = 'done';
`;
