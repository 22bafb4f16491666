import { type AppRecord, type MasterRecord, toAppProfile as toApp, toMaster } from '../rows.js';
import type { AppProfileRow, MasterProfileRow, ProfileChanges, ProfileKeys, ProfileSnapshot } from '../../model/profile.js';
import { appendEvents } from './postgres-changes.js';
import type { Queryable } from './postgres-pool.js';

const APP_ORDER = 'ORDER BY p.appid, p.customer_id, p.device_id';

type KeyColumn = 'tenant_id' | 'appid' | 'customer_id' | 'user_id';

/**
 * The app profiles whose `columns` equal one of `keys` (tuples in the same order, repeats allowed),
 * locked for the apply: a join on the distinct keys, which the indexes on those columns serve.
 */
async function lockedApps(c: Queryable, columns: readonly KeyColumn[], keys: ReadonlyArray<ReadonlyArray<number | string>>): Promise<AppRecord[]> {
  if (keys.length === 0) return [];
  const arrays = columns.map((_, i) => keys.map((k) => k[i]));
  const unnest = columns.map((col, i) => `$${i + 1}::${col === 'tenant_id' ? 'int' : 'text'}[]`).join(', ');
  const on = columns.map((col) => `p.${col} = k.${col}`).join(' AND ');
  const k = `(SELECT DISTINCT * FROM unnest(${unnest}) AS k (${columns.join(', ')})) AS k`;
  const { rows } = await c.query<AppRecord>(`SELECT p.* FROM app_profiles p JOIN ${k} ON ${on} FOR UPDATE OF p`, arrays);
  return rows;
}

/**
 * Every row's attributes as one JSON array, expanded by `json_array_elements` (whose elements'
 * text is what was sent). One native JSON.stringify: in a `text[]` parameter, the driver escapes
 * every quote of every row's JSON in JavaScript, which was the largest cost of the apply's writes.
 */
const attributesOf = (rows: ReadonlyArray<{ attributes: unknown }>) => JSON.stringify(rows.map((r) => r.attributes));

/** Profile reads (the `Profiles` role). */
export class PostgresProfiles {
  constructor(private readonly pool: Queryable) {}

  async getMasterProfiles(tenantId: number, customerIds: string[]): Promise<MasterProfileRow[]> {
    const { rows } = await this.pool.query<MasterRecord>('SELECT * FROM master_profiles WHERE tenant_id = $1 AND customer_id = ANY($2::text[])', [tenantId, customerIds]);
    return rows.map(toMaster);
  }

  async getAppProfiles(tenantId: number, appid: string, customerIds: string[]): Promise<AppProfileRow[]> {
    const { rows } = await this.pool.query<AppRecord>(
      `SELECT * FROM app_profiles p WHERE tenant_id = $1 AND appid = $2 AND customer_id = ANY($3::text[]) ${APP_ORDER}`,
      [tenantId, appid, customerIds],
    );
    return rows.map(toApp);
  }

  async findAppProfilesByUserId(tenantId: number, appid: string, userId: string): Promise<AppProfileRow[]> {
    const { rows } = await this.pool.query<AppRecord>(`SELECT * FROM app_profiles p WHERE tenant_id = $1 AND appid = $2 AND user_id = $3 ${APP_ORDER}`, [
      tenantId,
      appid,
      userId,
    ]);
    return rows.map(toApp);
  }

  async getAppProfilesOfCustomers(tenantId: number, customerIds: string[]): Promise<AppProfileRow[]> {
    const { rows } = await this.pool.query<AppRecord>(`SELECT * FROM app_profiles p WHERE tenant_id = $1 AND customer_id = ANY($2::text[]) ${APP_ORDER}`, [
      tenantId,
      customerIds,
    ]);
    return rows.map(toApp);
  }

}

/** Every row `keys` names, locked for the apply (FOR UPDATE), each once. */
export async function lockedSnapshot(c: Queryable, keys: ProfileKeys): Promise<ProfileSnapshot> {
  const masters = await c.query<MasterRecord>(
    `SELECT m.* FROM master_profiles m JOIN (SELECT DISTINCT * FROM unnest($1::int[], $2::text[]) AS k (tenant_id, customer_id)) AS k
       ON m.tenant_id = k.tenant_id AND m.customer_id = k.customer_id FOR UPDATE OF m`,
    [keys.masters.map((k) => k.tenantId), keys.masters.map((k) => k.customerId)],
  );
  // One indexed join per kind of key (an OR of the three would scan the whole table); a row two
  // kinds found is kept once.
  const apps = [
    ...(await lockedApps(c, ['tenant_id', 'appid', 'customer_id'], keys.appCustomers.map((k) => [k.tenantId, k.appid, k.customerId]))),
    ...(await lockedApps(c, ['tenant_id', 'appid', 'user_id'], keys.appUsers.map((k) => [k.tenantId, k.appid, k.userId]))),
    ...(await lockedApps(c, ['tenant_id', 'customer_id'], keys.customerApps.map((k) => [k.tenantId, k.customerId]))),
  ];
  const seenApps = new Set<string>();
  const uniqueApps = apps.filter((r) => {
    const k = JSON.stringify([r.tenant_id, r.appid, r.customer_id, r.device_id]);
    return !seenApps.has(k) && seenApps.add(k);
  });
  // Removing an app waits for the apply (REMOVAL_LOCK), so an app read here stays until it commits.
  const appids = await c.query<{ tenant_id: number; appid: string; channel: string }>(
    'SELECT a.tenant_id, a.appid, a.channel FROM apps a JOIN unnest($1::int[], $2::text[]) AS k (tenant_id, appid) ON a.appid = k.appid AND a.tenant_id = k.tenant_id',
    [keys.appids.map((k) => k.tenantId), keys.appids.map((k) => k.appid)],
  );
  return { masters: masters.rows.map(toMaster), apps: uniqueApps.map(toApp), appids: appids.rows.map((r) => ({ tenantId: r.tenant_id, appid: r.appid, channel: r.channel })) };
}

/** Stores the apply's changes and their events: arrays in, one statement per kind. */
export async function writeChanges(c: Queryable, changes: ProfileChanges): Promise<void> {
  const { masterDeletes: md, masterUpserts: mu, appDeletes: ad, appUpserts: au } = changes;
  if (md.length) {
    await c.query(
      'DELETE FROM master_profiles m USING unnest($1::int[], $2::text[]) AS k (tenant_id, customer_id) WHERE m.tenant_id = k.tenant_id AND m.customer_id = k.customer_id',
      [md.map((d) => d.tenantId), md.map((d) => d.customerId)],
    );
  }
  if (mu.length) {
    await c.query(
      `INSERT INTO master_profiles (tenant_id, customer_id, attributes, created_at, updated_at)
       SELECT tenant_id, customer_id, attributes::text, created_at, updated_at
       FROM ROWS FROM (unnest($1::int[]), unnest($2::text[]), json_array_elements($3::json), unnest($4::bigint[]), unnest($5::bigint[]))
         AS k (tenant_id, customer_id, attributes, created_at, updated_at)
       ON CONFLICT (tenant_id, customer_id) DO UPDATE SET attributes = excluded.attributes, created_at = excluded.created_at, updated_at = excluded.updated_at`,
      [mu.map((r) => r.tenantId), mu.map((r) => r.customerId), attributesOf(mu), mu.map((r) => r.createdAt), mu.map((r) => r.updatedAt)],
    );
  }
  if (ad.length) {
    await c.query(
      `DELETE FROM app_profiles p USING unnest($1::int[], $2::text[], $3::text[], $4::text[]) AS k (tenant_id, appid, customer_id, device_id)
       WHERE p.tenant_id = k.tenant_id AND p.appid = k.appid AND p.customer_id = k.customer_id AND p.device_id = k.device_id`,
      [ad.map((d) => d.tenantId), ad.map((d) => d.appid), ad.map((d) => d.customerId), ad.map((d) => d.deviceId)],
    );
  }
  if (au.length) {
    await c.query(
      `INSERT INTO app_profiles (tenant_id, appid, customer_id, device_id, user_id, attributes, created_at, updated_at)
       SELECT tenant_id, appid, customer_id, device_id, user_id, attributes::text, created_at, updated_at
       FROM ROWS FROM (unnest($1::int[]), unnest($2::text[]), unnest($3::text[]), unnest($4::text[]), unnest($5::text[]), json_array_elements($6::json),
                       unnest($7::bigint[]), unnest($8::bigint[]))
         AS k (tenant_id, appid, customer_id, device_id, user_id, attributes, created_at, updated_at)
       ON CONFLICT (tenant_id, appid, customer_id, device_id) DO UPDATE SET user_id = excluded.user_id, attributes = excluded.attributes,
         created_at = excluded.created_at, updated_at = excluded.updated_at`,
      [
        au.map((r) => r.tenantId),
        au.map((r) => r.appid),
        au.map((r) => r.customerId),
        au.map((r) => r.deviceId),
        au.map((r) => r.userId),
        attributesOf(au),
        au.map((r) => r.createdAt),
        au.map((r) => r.updatedAt),
      ],
    );
  }
  await appendEvents(c, changes.events);
}
