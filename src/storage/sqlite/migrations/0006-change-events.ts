/**
 * The change feed's outbox: one row per change the apply made, written in its database
 * transaction. `seq` is never reused (AUTOINCREMENT), so a position stays valid after purges;
 * `change_feed_purged` keeps, per tenant, the last position retention deleted.
 */
export default /* sql */ `
CREATE TABLE change_events (
  seq         INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant_id   INTEGER NOT NULL,
  type        TEXT NOT NULL,
  customer_id TEXT NOT NULL,
  occurred_at INTEGER NOT NULL,
  body        TEXT NOT NULL
);
CREATE INDEX change_events_feed ON change_events (tenant_id, seq);

CREATE TABLE change_feed_purged (
  tenant_id INTEGER PRIMARY KEY,
  seq       INTEGER NOT NULL
);
`;
