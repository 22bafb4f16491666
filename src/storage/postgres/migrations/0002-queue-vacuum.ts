/**
 * The queue table churns: every row is inserted, updated twice and deleted within the retention.
 * Vacuum it (and its TOAST table, which holds the record payloads) after a fixed number of dead
 * rows rather than a fraction of the table, without cost-based pauses, and leave room in each page
 * for the state updates to stay on the same page (HOT updates).
 */
export default /* sql */ `
ALTER TABLE write_transactions SET (
  fillfactor = 70,
  autovacuum_vacuum_scale_factor = 0,
  autovacuum_vacuum_threshold = 1000,
  autovacuum_vacuum_insert_scale_factor = 0,
  autovacuum_vacuum_insert_threshold = 1000,
  autovacuum_vacuum_cost_delay = 0,
  toast.autovacuum_vacuum_scale_factor = 0,
  toast.autovacuum_vacuum_threshold = 1000,
  toast.autovacuum_vacuum_cost_delay = 0
);
`;
