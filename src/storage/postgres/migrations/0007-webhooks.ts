/**
 * Webhooks: endpoints (with each one's feed position, delivery state and deliverer's lease), the
 * deliveries each endpoint has taken from the feed and not yet finished, in line order (`seq`),
 * and the log of attempts (purged after 30 days).
 */
export default /* sql */ `
CREATE TABLE webhook_endpoints (
  id              text PRIMARY KEY,
  tenant_id       integer NOT NULL,
  url             text NOT NULL,
  types           text[],
  secret          text NOT NULL,
  created_at      bigint NOT NULL,
  disabled_at     bigint,
  disabled_reason text,
  failing_since   bigint,
  position        text NOT NULL,
  next_seq        bigint NOT NULL DEFAULT 1,
  pending         integer NOT NULL DEFAULT 0,
  lease_owner     text,
  lease_until     bigint NOT NULL DEFAULT 0
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id);

CREATE TABLE webhook_deliveries (
  endpoint_id     text NOT NULL,
  seq             bigint NOT NULL,
  event_id        text NOT NULL,
  position        text NOT NULL,
  type            text NOT NULL,
  customer_id     text NOT NULL,
  occurred_at     bigint NOT NULL,
  body            text NOT NULL,
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at bigint NOT NULL,
  PRIMARY KEY (endpoint_id, seq)
);
CREATE INDEX webhook_deliveries_line ON webhook_deliveries (endpoint_id, customer_id, seq);

CREATE TABLE webhook_attempts (
  id           bigserial PRIMARY KEY,
  tenant_id    integer NOT NULL,
  endpoint_id  text NOT NULL,
  event_id     text NOT NULL,
  attempt      integer NOT NULL,
  attempted_at bigint NOT NULL,
  outcome      text NOT NULL,
  status       integer,
  duration_ms  integer NOT NULL,
  response     text NOT NULL
);
CREATE INDEX webhook_attempts_endpoint ON webhook_attempts (endpoint_id, id);
CREATE INDEX webhook_attempts_age ON webhook_attempts (tenant_id, attempted_at);
`;
