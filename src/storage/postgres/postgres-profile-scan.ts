import type pg from 'pg';
import type { AttributeDefinition } from '../../model/directory.js';
import type { AppProfileRow, MasterProfileRow } from '../../model/profile.js';
import { attributeIndexName, checkedAttributeName } from '../attribute-indexes.js';
import { type CustomerProfiles, type MasterPageQuery, NotFoundError, type SnapshotBatches } from '../ports.js';
import { type AppRecord, appProfilesByCustomer, type AttributeRow, type MasterRecord, toAppProfile, toAttribute, toMaster, toStoredMaster } from '../rows.js';
import { snapshotBatches } from '../snapshot-batches.js';
import { translatePostgresError } from './postgres-errors.js';
import type { Checkout, Queryable } from './postgres-pool.js';

const MASTER_COLUMNS = 'tenant_id, customer_id, attributes, created_at, updated_at';
const APP_COLUMNS = 'tenant_id, appid, customer_id, device_id, user_id, attributes, created_at, updated_at';
const BUMP = "UPDATE meta SET value = value + 1 WHERE key = 'config_version'";

/**
 * Attributes holding a NUL or a surrogate (`\u0000`, `\ud800` in the JSON text; the API stores
 * strings as sent, lone surrogates included): PostgreSQL's json operators refuse them, which would
 * refuse the row's write for its index. Such a row has no indexed values (a find does not match
 * it); everything else about it is stored as sent.
 */
const UNREADABLE_BY_JSON = "attributes ~ '\\\\u(0000|[dD][89a-fA-F])'";

/** An attribute's value as its index holds it (migration 0004 and `indexMasterAttribute` build the same expression). */
const valueOf = (name: string) => `(CASE WHEN ${UNREADABLE_BY_JSON} THEN NULL ELSE (attributes::json) ->> '${checkedAttributeName(name)}' END)`;
/** Whether the attribute holds a JSON string: finds match strings only (`->>` would give a number's text too). */
const isText = (name: string) => `(CASE WHEN ${UNREADABLE_BY_JSON} THEN false ELSE json_typeof((attributes::json) -> '${checkedAttributeName(name)}') = 'string' END)`;

/** The SQL of a page and its parameters. `customerId` is the primary key; other names, their index. */
function pageSql(tenantId: number, q: MasterPageQuery): { sql: string; params: unknown[] } {
  const params: unknown[] = [tenantId, q.after ?? ''];
  const where = ['tenant_id = $1', 'customer_id > $2'];
  if (q.updatedSince !== null) {
    params.push(q.updatedSince);
    where.push(`updated_at >= $${params.length}`);
  }
  for (const { name, values } of q.where) {
    // No indexed value holds a NUL (UNREADABLE_BY_JSON), and PostgreSQL's text refuses one as a parameter.
    params.push(values.filter((v) => !v.includes('\u0000')));
    if (name === 'customerId') where.push(`customer_id = ANY($${params.length}::text[])`);
    else where.push(`${valueOf(name)} = ANY($${params.length}::text[])`, isText(name));
  }
  params.push(q.limit);
  return { sql: `SELECT ${MASTER_COLUMNS} FROM master_profiles WHERE ${where.join(' AND ')} ORDER BY customer_id LIMIT $${params.length}`, params };
}

const APPS_OF = `SELECT ${APP_COLUMNS} FROM app_profiles WHERE tenant_id = $1 AND customer_id = ANY($2::text[]) ORDER BY customer_id, appid, device_id`;

/**
 * The customers of one snapshot, batch by batch (as on SQLite, `sqlite-profile-scan.ts`): every
 * master profile with its app profiles, then the customers with app profiles only, each whole.
 */
function customerBatches(c: Queryable, tenantId: number, batchSize: number): () => Promise<CustomerProfiles[]> {
  let phase: 'masters' | 'orphans' = 'masters';
  let after = '';
  return async function next(): Promise<CustomerProfiles[]> {
    if (phase === 'masters') {
      const { rows: masters } = await c.query<MasterRecord>(
        `SELECT ${MASTER_COLUMNS} FROM master_profiles WHERE tenant_id = $1 AND customer_id > $2 ORDER BY customer_id LIMIT $3`,
        [tenantId, after, batchSize],
      );
      if (masters.length > 0) {
        after = masters[masters.length - 1].customer_id;
        const apps = appProfilesByCustomer((await c.query<AppRecord>(APPS_OF, [tenantId, masters.map((m) => m.customer_id)])).rows);
        return masters.map((m) => ({ customerId: m.customer_id, master: toStoredMaster(m), apps: apps.get(m.customer_id) ?? [] }));
      }
      phase = 'orphans';
      after = '';
    }
    const { rows } = await c.query<AppRecord>(
      `SELECT ${APP_COLUMNS} FROM app_profiles a WHERE tenant_id = $1 AND customer_id > $2
         AND NOT EXISTS (SELECT 1 FROM master_profiles m WHERE m.tenant_id = a.tenant_id AND m.customer_id = a.customer_id)
       ORDER BY customer_id, appid, device_id LIMIT $3`,
      [tenantId, after, batchSize],
    );
    if (rows.length === 0) return [];
    let customers = appProfilesByCustomer(rows);
    if (rows.length === batchSize) {
      const last = rows[rows.length - 1].customer_id;
      if (customers.size === 1) customers = appProfilesByCustomer((await c.query<AppRecord>(APPS_OF, [tenantId, [last]])).rows);
      else customers.delete(last);
    }
    const batch = [...customers].map(([customerId, apps]) => ({ customerId, master: null, apps }));
    after = batch[batch.length - 1].customerId;
    return batch;
  };
}

/**
 * The `ProfileScan` role on PostgreSQL. Pages and finds go to the pool; a snapshot holds one pool
 * connection in a REPEATABLE READ READ ONLY database transaction, which reads one snapshot and
 * blocks no writer, and reads it in keyset batches.
 */
export class PostgresProfileScan {
  constructor(
    private readonly pool: Queryable,
    private readonly checkout: Checkout,
  ) {}

  async pageMasters(tenantId: number, query: MasterPageQuery): Promise<MasterProfileRow[]> {
    const { sql, params } = pageSql(tenantId, query);
    return (await this.pool.query<MasterRecord>(sql, params)).rows.map(toMaster);
  }

  async planOf(tenantId: number, query: MasterPageQuery): Promise<string[]> {
    const { sql, params } = pageSql(tenantId, query);
    const { rows } = await this.pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, params);
    return rows.map((r) => r['QUERY PLAN']);
  }

  async appProfilesOf(tenantId: number, customerIds: readonly string[]): Promise<AppProfileRow[]> {
    return (await this.pool.query<AppRecord>(APPS_OF, [tenantId, [...new Set(customerIds)]])).rows.map(toAppProfile);
  }

  snapshotCustomers(tenantId: number, { batchSize, isCounted = false }: { batchSize: number; isCounted?: boolean }): Promise<SnapshotBatches<CustomerProfiles>> {
    return this.snapshot(
      async (c) => {
        if (!isCounted) return null;
        const { rows } = await c.query<{ masters: string; orphans: string }>(
          `SELECT (SELECT count(*) FROM master_profiles WHERE tenant_id = $1) AS masters,
                  (SELECT count(DISTINCT customer_id) FROM app_profiles a WHERE tenant_id = $1
                     AND NOT EXISTS (SELECT 1 FROM master_profiles m WHERE m.tenant_id = a.tenant_id AND m.customer_id = a.customer_id)) AS orphans`,
          [tenantId],
        );
        return Number(rows[0].masters) + Number(rows[0].orphans);
      },
      (c) => customerBatches(c, tenantId, batchSize),
    );
  }

  snapshotApp(tenantId: number, appid: string, { batchSize, isCounted = false }: { batchSize: number; isCounted?: boolean }): Promise<SnapshotBatches<AppProfileRow>> {
    return this.snapshot(
      async (c) => (isCounted ? Number((await c.query<{ n: string }>('SELECT count(*) AS n FROM app_profiles WHERE tenant_id = $1 AND appid = $2', [tenantId, appid])).rows[0].n) : null),
      (c) => {
        let after = ['', ''];
        return async () => {
          const { rows } = await c.query<AppRecord>(
            `SELECT ${APP_COLUMNS} FROM app_profiles WHERE tenant_id = $1 AND appid = $2 AND (customer_id, device_id) > ($3, $4)
             ORDER BY customer_id, device_id LIMIT $5`,
            [tenantId, appid, after[0], after[1], batchSize],
          );
          if (rows.length > 0) after = [rows[rows.length - 1].customer_id, rows[rows.length - 1].device_id];
          return rows.map(toAppProfile);
        };
      },
    );
  }

  /** A pool connection in a REPEATABLE READ READ ONLY database transaction; its first query (`count`) fixes the snapshot. */
  private async snapshot<T>(count: (c: pg.PoolClient) => Promise<number | null>, batches: (c: pg.PoolClient) => () => Promise<T[]>): Promise<SnapshotBatches<T>> {
    const { client, release } = await this.checkout();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      // The first query of the database transaction takes its snapshot: now, not at the first batch.
      await client.query('SELECT 1');
      const total = await count(client);
      let isBroken = false;
      const end = async () => {
        try {
          await client.query('COMMIT');
        } catch (err) {
          isBroken = true;
          throw err;
        } finally {
          release(isBroken);
        }
      };
      return snapshotBatches(total, batches(client), end, translatePostgresError);
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      release(true);
      throw err;
    }
  }

  async indexMasterAttribute(tenantId: number, name: string): Promise<AttributeDefinition> {
    const { rows } = await this.pool.query<AttributeRow>("SELECT * FROM attribute_definitions WHERE tenant_id = $1 AND scope = 'master' AND name = $2", [tenantId, name]);
    if (rows.length === 0) throw new NotFoundError(`tenant ${tenantId} has no master attribute ${name}`);
    const index = attributeIndexName(name);
    // CONCURRENTLY builds without blocking writes, outside any database transaction; a build that
    // failed leaves an invalid index behind, which is dropped and built again.
    const { rows: found } = await this.pool.query<{ indisvalid: boolean }>(
      'SELECT i.indisvalid FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid WHERE c.relname = $1',
      [index.slice(1, -1)],
    );
    if (found.length > 0 && !found[0].indisvalid) await this.pool.query(`DROP INDEX CONCURRENTLY IF EXISTS ${index}`);
    if (found.length === 0 || !found[0].indisvalid) {
      await this.pool.query(`CREATE INDEX CONCURRENTLY IF NOT EXISTS ${index} ON master_profiles (tenant_id, ${valueOf(name)}, customer_id)`);
    }
    await this.pool.query(`WITH flagged AS (UPDATE attribute_definitions SET is_indexed = true WHERE id = $1) ${BUMP}`, [rows[0].id]);
    return toAttribute({ ...rows[0], is_indexed: true });
  }
}
