/**
 * Finding master profiles by value (`ProfileScan`): attribute definitions say which master
 * attributes are indexed, and `email` and `msisdn` are indexed for every tenant. The expressions
 * are the ones `sqlite-profile-scan.ts` queries with (`valueOf`), character for character: SQLite
 * uses an index on an expression only for the same expression.
 */
export default /* sql */ `
ALTER TABLE attribute_definitions ADD COLUMN is_indexed INTEGER NOT NULL DEFAULT 0;
UPDATE attribute_definitions SET is_indexed = 1 WHERE scope = 'master' AND name IN ('email', 'msisdn');
CREATE INDEX master_attr_email ON master_profiles (tenant_id, json_extract(attributes, '$."email"'), customer_id);
CREATE INDEX master_attr_msisdn ON master_profiles (tenant_id, json_extract(attributes, '$."msisdn"'), customer_id);
`;
