/**
 * The change feed's outbox: one row per change the apply made, written in its database
 * transaction and stamped with that transaction's id (`xid`). Readers take only rows whose
 * transaction is older than every transaction still running (`pg_snapshot_xmin`), in (xid, id)
 * order, so a transaction that committed late is never skipped. `change_feed_purged` keeps, per
 * tenant, the last position retention deleted.
 */
export default /* sql */ `
CREATE TABLE change_events (
  id          bigserial PRIMARY KEY,
  xid         xid8 NOT NULL DEFAULT pg_current_xact_id(),
  tenant_id   integer NOT NULL,
  type        text NOT NULL,
  customer_id text NOT NULL,
  occurred_at bigint NOT NULL,
  body        text NOT NULL
);
CREATE INDEX change_events_feed ON change_events (tenant_id, xid, id);

CREATE TABLE change_feed_purged (
  tenant_id integer PRIMARY KEY,
  xid       xid8 NOT NULL,
  id        bigint NOT NULL
);
`;
