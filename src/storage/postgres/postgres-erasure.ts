import { type RowCountsRow, toRowCounts } from '../rows.js';
import type { RowCounts } from '../../model/directory.js';
import type { Queryable } from './postgres-pool.js';

/** The tenant's imports; their chunks and rejects are found through them (the primary keys' first column). */
const IMPORTS_OF_TENANT = 'SELECT id FROM imports WHERE tenant_id = $1';

/** The tenant's webhook endpoints; their deliveries are found through them. */
const ENDPOINTS_OF_TENANT = 'SELECT id FROM webhook_endpoints WHERE tenant_id = $1';

/**
 * Deletes of one kind of a tenant's rows, at most $2 each, in the order a chunk tries them. Write
 * transactions are found through the two partial indexes (queued and finished ones): the queue
 * has no index on the tenant alone, and a chunk must not scan the whole queue.
 */
const TENANT_CHUNKS: Array<[keyof RowCountsRow, string]> = [
  // An import's rejects and chunks go before the import, through which they are found.
  [
    'import_rejects',
    `DELETE FROM import_rejects WHERE (import_id, line) IN
       (SELECT import_id, line FROM import_rejects WHERE import_id IN (${IMPORTS_OF_TENANT}) LIMIT $2)`,
  ],
  [
    'import_chunks',
    `DELETE FROM import_chunks WHERE (import_id, chunk) IN
       (SELECT import_id, chunk FROM import_chunks WHERE import_id IN (${IMPORTS_OF_TENANT}) LIMIT $2)`,
  ],
  ['imports', `DELETE FROM imports WHERE id IN (${IMPORTS_OF_TENANT} LIMIT $2)`],
  // An endpoint's deliveries go before it, as they are found through it.
  ['webhook_attempts', 'DELETE FROM webhook_attempts WHERE id IN (SELECT id FROM webhook_attempts WHERE tenant_id = $1 LIMIT $2)'],
  [
    'webhook_deliveries',
    `DELETE FROM webhook_deliveries WHERE (endpoint_id, seq) IN
       (SELECT endpoint_id, seq FROM webhook_deliveries WHERE endpoint_id IN (${ENDPOINTS_OF_TENANT}) LIMIT $2)`,
  ],
  ['webhook_endpoints', `DELETE FROM webhook_endpoints WHERE id IN (${ENDPOINTS_OF_TENANT} LIMIT $2)`],
  ['write_transactions', "DELETE FROM write_transactions WHERE seq IN (SELECT seq FROM write_transactions WHERE state <> 'done' AND tenant_id = $1 LIMIT $2)"],
  ['write_transactions', "DELETE FROM write_transactions WHERE seq IN (SELECT seq FROM write_transactions WHERE tenant_id = $1 AND state = 'done' LIMIT $2)"],
  [
    'app_profiles',
    `DELETE FROM app_profiles WHERE tenant_id = $1 AND (appid, customer_id, device_id) IN
       (SELECT appid, customer_id, device_id FROM app_profiles WHERE tenant_id = $1 LIMIT $2)`,
  ],
  ['master_profiles', 'DELETE FROM master_profiles WHERE tenant_id = $1 AND customer_id IN (SELECT customer_id FROM master_profiles WHERE tenant_id = $1 LIMIT $2)'],
  ['change_events', 'DELETE FROM change_events WHERE id IN (SELECT id FROM change_events WHERE tenant_id = $1 LIMIT $2)'],
];

/**
 * Counts and chunked deletes of what a tenant or an app holds (the two steps of an erase in `storage/ports.ts`). Each
 * delete is one statement, so one database transaction of its own.
 */
export class PostgresErasure {
  constructor(private readonly pool: Queryable) {}

  async countTenantRows(tenantId: number): Promise<RowCounts> {
    const imports = await this.pool.query<RowCountsRow>(
      `SELECT (SELECT COUNT(*) FROM imports WHERE tenant_id = $1) AS imports,
              (SELECT COUNT(*) FROM import_chunks WHERE import_id IN (${IMPORTS_OF_TENANT})) AS import_chunks,
              (SELECT COUNT(*) FROM import_rejects WHERE import_id IN (${IMPORTS_OF_TENANT})) AS import_rejects,
              (SELECT COUNT(*) FROM webhook_endpoints WHERE tenant_id = $1) AS webhook_endpoints,
              (SELECT COUNT(*) FROM webhook_deliveries WHERE endpoint_id IN (${ENDPOINTS_OF_TENANT})) AS webhook_deliveries,
              (SELECT COUNT(*) FROM webhook_attempts WHERE tenant_id = $1) AS webhook_attempts`,
      [tenantId],
    );
    const { rows } = await this.pool.query<RowCountsRow>(
      `SELECT (SELECT COUNT(*) FROM profile_keys WHERE tenant_id = $1) AS profile_keys,
              (SELECT COUNT(*) FROM apps WHERE tenant_id = $1) AS apps,
              (SELECT COUNT(*) FROM attribute_definitions WHERE tenant_id = $1) AS attribute_definitions,
              (SELECT COUNT(*) FROM master_profiles WHERE tenant_id = $1) AS master_profiles,
              (SELECT COUNT(*) FROM app_profiles WHERE tenant_id = $1) AS app_profiles,
              (SELECT COUNT(*) FROM write_transactions WHERE state <> 'done' AND tenant_id = $1)
                + (SELECT COUNT(*) FROM write_transactions WHERE tenant_id = $1 AND state = 'done') AS write_transactions,
              (SELECT COUNT(*) FROM change_events WHERE tenant_id = $1) AS change_events`,
      [tenantId],
    );
    return toRowCounts({ ...rows[0], ...imports.rows[0] });
  }

  async countAppRows(tenantId: number, appid: string): Promise<RowCounts> {
    const { rows } = await this.pool.query<RowCountsRow>(
      `SELECT (SELECT COUNT(*) FROM apps WHERE appid = $2 AND tenant_id = $1) AS apps,
              (SELECT COUNT(*) FROM attribute_definitions WHERE tenant_id = $1 AND scope = $2) AS attribute_definitions,
              (SELECT COUNT(*) FROM app_profiles WHERE tenant_id = $1 AND appid = $2) AS app_profiles`,
      [tenantId, appid],
    );
    return toRowCounts(rows[0]);
  }

  /** Deletes up to `limit` rows of the first kind the tenant still has. */
  async eraseTenantRows(tenantId: number, limit: number): Promise<RowCounts> {
    for (const [kind, sql] of TENANT_CHUNKS) {
      const { rowCount } = await this.pool.query(sql, [tenantId, limit]);
      if (rowCount) return toRowCounts({ [kind]: rowCount });
    }
    return toRowCounts({});
  }

  async eraseAppRows(tenantId: number, appid: string, limit: number): Promise<RowCounts> {
    const { rowCount } = await this.pool.query(
      `DELETE FROM app_profiles WHERE tenant_id = $1 AND appid = $2 AND (customer_id, device_id) IN
         (SELECT customer_id, device_id FROM app_profiles WHERE tenant_id = $1 AND appid = $2 LIMIT $3)`,
      [tenantId, appid, limit],
    );
    return toRowCounts({ app_profiles: rowCount ?? 0 });
  }
}
