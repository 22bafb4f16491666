/**
 * Every enqueue TOASTs and compresses a body of ~45 KB per 100 records: lz4 costs the database far
 * less CPU than its default pglz (docs/performance-log.md). A server built without lz4 keeps pglz.
 */
export default /* sql */ `
DO $$
BEGIN
  ALTER TABLE write_transactions ALTER COLUMN records SET COMPRESSION lz4, ALTER COLUMN results SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
  RAISE NOTICE 'lz4 is not available on this server: the queue keeps pglz';
END $$;
`;
