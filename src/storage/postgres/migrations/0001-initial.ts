/** The first schema: directory, profiles, and the write transaction queue. */
export default /* sql */ `
CREATE TABLE meta (
  key   text PRIMARY KEY,
  value bigint NOT NULL
);
INSERT INTO meta (key, value) VALUES ('config_version', 1);

CREATE TABLE tenants (
  id         serial PRIMARY KEY,
  name       text NOT NULL UNIQUE,
  settings   text NOT NULL,
  allow_list text NOT NULL DEFAULT '[]',
  created_at text NOT NULL
);

CREATE TABLE profile_keys (
  key_id     text PRIMARY KEY,
  tenant_id  integer NOT NULL REFERENCES tenants (id),
  hash       text NOT NULL UNIQUE,
  created_at text NOT NULL,
  revoked_at text
);
CREATE INDEX profile_keys_tenant ON profile_keys (tenant_id);

CREATE TABLE apps (
  appid      text PRIMARY KEY,
  tenant_id  integer NOT NULL REFERENCES tenants (id),
  channel    text NOT NULL,
  created_at text NOT NULL
);
CREATE INDEX apps_tenant ON apps (tenant_id);

CREATE TABLE attribute_definitions (
  id          serial PRIMARY KEY,
  tenant_id   integer NOT NULL REFERENCES tenants (id),
  scope       text NOT NULL,
  name        text NOT NULL,
  type        text NOT NULL,
  max_length  integer,
  enum_values text,
  UNIQUE (tenant_id, scope, name)
);

CREATE TABLE master_profiles (
  tenant_id   integer NOT NULL,
  customer_id text NOT NULL,
  attributes  text NOT NULL,
  created_at  bigint NOT NULL,
  updated_at  bigint NOT NULL,
  PRIMARY KEY (tenant_id, customer_id)
);

CREATE TABLE app_profiles (
  tenant_id   integer NOT NULL,
  appid       text NOT NULL,
  customer_id text NOT NULL,
  device_id   text NOT NULL DEFAULT '',
  user_id     text,
  attributes  text NOT NULL,
  created_at  bigint NOT NULL,
  updated_at  bigint NOT NULL,
  PRIMARY KEY (tenant_id, appid, customer_id, device_id)
);
CREATE INDEX app_profiles_user ON app_profiles (tenant_id, appid, user_id) WHERE user_id IS NOT NULL;
CREATE INDEX app_profiles_customer ON app_profiles (tenant_id, customer_id);

CREATE TABLE write_transactions (
  seq             bigserial PRIMARY KEY,
  transid         uuid NOT NULL UNIQUE,
  tenant_id       integer NOT NULL,
  operation       text NOT NULL,
  appid           text,
  records         text NOT NULL,
  is_upsert       boolean NOT NULL,
  is_cascade      boolean NOT NULL,
  total_count     integer NOT NULL,
  exclusive_keys  text[] NOT NULL,
  shared_keys     text[] NOT NULL,
  idempotency_key text,
  request_hash    text,
  state           text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'processing', 'done')),
  claimed_by      text,
  lease_until     bigint,
  accepted_at     bigint NOT NULL,
  finished_at     bigint,
  success_count   integer,
  failure_count   integer,
  results         text
);
CREATE INDEX write_transactions_pending ON write_transactions (seq) WHERE state <> 'done';
CREATE UNIQUE INDEX write_transactions_idempotency ON write_transactions (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX write_transactions_finished ON write_transactions (tenant_id, finished_at) WHERE state = 'done';
`;
