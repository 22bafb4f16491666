/**
 * Webhooks: endpoints (with each one's feed position, delivery state and deliverer's lease), the
 * deliveries each endpoint has taken from the feed and not yet finished, in line order (`seq`),
 * and the log of attempts (purged after 30 days).
 */
export default /* sql */ `
CREATE TABLE webhook_endpoints (
  id              TEXT PRIMARY KEY,
  tenant_id       INTEGER NOT NULL,
  url             TEXT NOT NULL,
  types           TEXT,
  secret          TEXT NOT NULL,
  created_at      INTEGER NOT NULL,
  disabled_at     INTEGER,
  disabled_reason TEXT,
  failing_since   INTEGER,
  position        TEXT NOT NULL,
  next_seq        INTEGER NOT NULL DEFAULT 1,
  pending         INTEGER NOT NULL DEFAULT 0,
  lease_owner     TEXT,
  lease_until     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id);

CREATE TABLE webhook_deliveries (
  endpoint_id     TEXT NOT NULL,
  seq             INTEGER NOT NULL,
  event_id        TEXT NOT NULL,
  position        TEXT NOT NULL,
  type            TEXT NOT NULL,
  customer_id     TEXT NOT NULL,
  occurred_at     INTEGER NOT NULL,
  body            TEXT NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  PRIMARY KEY (endpoint_id, seq)
) WITHOUT ROWID;
CREATE INDEX webhook_deliveries_line ON webhook_deliveries (endpoint_id, customer_id, seq);

CREATE TABLE webhook_attempts (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant_id    INTEGER NOT NULL,
  endpoint_id  TEXT NOT NULL,
  event_id     TEXT NOT NULL,
  attempt      INTEGER NOT NULL,
  attempted_at INTEGER NOT NULL,
  outcome      TEXT NOT NULL,
  status       INTEGER,
  duration_ms  INTEGER NOT NULL,
  response     TEXT NOT NULL
);
CREATE INDEX webhook_attempts_endpoint ON webhook_attempts (endpoint_id, id);
CREATE INDEX webhook_attempts_age ON webhook_attempts (tenant_id, attempted_at);
`;
