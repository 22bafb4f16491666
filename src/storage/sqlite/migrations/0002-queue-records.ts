/**
 * A write transaction's records move to a table of their own. SQLite rewrites a row whole,
 * overflow pages included, on every UPDATE: with the records in the queue row, the claim and the
 * finish wrote each write transaction's records (~10 KB per 100 records) again, and reading
 * `total_count` (stored after them) for the queue statistics walked their overflow pages. Now the
 * records are written once, when queued, and deleted when applied.
 */
export default /* sql */ `
CREATE TABLE write_transaction_records (
  seq     INTEGER PRIMARY KEY,
  records TEXT NOT NULL
);
INSERT INTO write_transaction_records (seq, records) SELECT seq, records FROM write_transactions WHERE state <> 'done';
ALTER TABLE write_transactions DROP COLUMN records;
`;
