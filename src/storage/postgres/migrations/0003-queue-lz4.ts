/**
 * A write transaction's records (a request body of ~45 KB for 100 records) are TOASTed, and
 * compressed on every enqueue: with PostgreSQL's default pglz that compression is the database's
 * largest CPU cost under write load on the benchmark's two cores (docs/performance.md). lz4 costs
 * a fraction of it. A server built without lz4 keeps pglz: the migration still succeeds.
 */
export default /* sql */ `
DO $$
BEGIN
  ALTER TABLE write_transactions ALTER COLUMN records SET COMPRESSION lz4, ALTER COLUMN results SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
  RAISE NOTICE 'lz4 is not available on this server: the queue keeps pglz';
END $$;
`;
