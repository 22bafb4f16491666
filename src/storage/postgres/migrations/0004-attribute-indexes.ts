/**
 * Finding master profiles by value (`ProfileScan`): attribute definitions say which master
 * attributes are indexed, and `email` and `msisdn` are indexed for every tenant. `attributes` is
 * text holding JSON: the index expressions are those `postgres-profile-scan.ts` queries with
 * (`valueOf`). Built inside the migration's database transaction, so writes to master profiles
 * wait for it once, on upgrade.
 */
export default /* sql */ `
ALTER TABLE attribute_definitions ADD COLUMN is_indexed boolean NOT NULL DEFAULT false;
UPDATE attribute_definitions SET is_indexed = true WHERE scope = 'master' AND name IN ('email', 'msisdn');
CREATE INDEX master_attr_email ON master_profiles (tenant_id, ((attributes::json) ->> 'email'), customer_id);
CREATE INDEX master_attr_msisdn ON master_profiles (tenant_id, ((attributes::json) ->> 'msisdn'), customer_id);
`;
