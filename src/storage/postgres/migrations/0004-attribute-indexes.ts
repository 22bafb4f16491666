/**
 * Finding master profiles by value (`ProfileScan`): attribute definitions say which master
 * attributes are indexed, and `email` and `msisdn` are indexed for every tenant. `attributes` is
 * text holding JSON: the index expressions are those `postgres-profile-scan.ts` queries with
 * (`valueOf`; a row whose JSON holds a NUL or a surrogate escape has no indexed value). Built inside the migration's database transaction, so writes to master profiles
 * wait for it once, on upgrade.
 */
export default /* sql */ `
ALTER TABLE attribute_definitions ADD COLUMN is_indexed boolean NOT NULL DEFAULT false;
UPDATE attribute_definitions SET is_indexed = true WHERE scope = 'master' AND name IN ('email', 'msisdn');
CREATE INDEX master_attr_email ON master_profiles (tenant_id, (CASE WHEN attributes ~ '\\\\u(0000|[dD][89a-fA-F])' THEN NULL ELSE (attributes::json) ->> 'email' END), customer_id);
CREATE INDEX master_attr_msisdn ON master_profiles (tenant_id, (CASE WHEN attributes ~ '\\\\u(0000|[dD][89a-fA-F])' THEN NULL ELSE (attributes::json) ->> 'msisdn' END), customer_id);
`;
