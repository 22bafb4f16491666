import type Database from 'better-sqlite3';
import type { AttributeDefinition } from '../../model/directory.js';
import type { AppProfileRow, MasterProfileRow } from '../../model/profile.js';
import { attributeIndexName, checkedAttributeName } from '../attribute-indexes.js';
import { type CustomerProfiles, type MasterPageQuery, NotFoundError, type SnapshotBatches } from '../ports.js';
import { type AppRecord, appProfilesByCustomer, type AttributeRow, type MasterRecord, toAppProfile, toAttribute, toMaster, toStoredMaster } from '../rows.js';
import { snapshotBatches } from '../snapshot-batches.js';
import { translateSqliteError } from './sqlite-errors.js';

const MASTER_COLUMNS = 'tenant_id, customer_id, attributes, created_at, updated_at';
const APP_COLUMNS = 'tenant_id, appid, customer_id, device_id, user_id, attributes, created_at, updated_at';

/** An attribute's value as its index holds it (migration 0004 and `indexMasterAttribute` build the same expression). */
const valueOf = (name: string) => `json_extract(attributes, '$."${checkedAttributeName(name)}"')`;
/** Whether the attribute holds a JSON string: finds match strings only, as on PostgreSQL. */
const isText = (name: string) => `json_type(attributes, '$."${checkedAttributeName(name)}"') = 'text'`;

/** The SQL of a page and its parameters. `customerId` is the primary key; other names, their index. */
function pageSql(tenantId: number, q: MasterPageQuery): { sql: string; params: unknown[] } {
  const where = ['tenant_id = ?', 'customer_id > ?'];
  const params: unknown[] = [tenantId, q.after ?? ''];
  if (q.updatedSince !== null) {
    where.push('updated_at >= ?');
    params.push(q.updatedSince);
  }
  for (const { name, values } of q.where) {
    if (name === 'customerId') where.push('customer_id IN (SELECT value FROM json_each(?))');
    else where.push(`${valueOf(name)} IN (SELECT value FROM json_each(?))`, isText(name));
    params.push(JSON.stringify(values));
  }
  params.push(q.limit);
  // Named, because without statistics (no ANALYZE) SQLite prefers the primary key, which gives the
  // ORDER BY for free, and would scan the tenant's every profile to find a few.
  const indexed = q.where.find((w) => w.name !== 'customerId');
  const from = indexed ? `master_profiles INDEXED BY ${attributeIndexName(indexed.name)}` : 'master_profiles';
  return { sql: `SELECT ${MASTER_COLUMNS} FROM ${from} WHERE ${where.join(' AND ')} ORDER BY customer_id LIMIT ?`, params };
}

/** The prepared statements of `SqliteProfileScan` on one connection. */
const statementsOf = (db: Database.Database) => ({
  mastersAfter: db.prepare<[number, string, number], MasterRecord>(
    `SELECT ${MASTER_COLUMNS} FROM master_profiles WHERE tenant_id = ? AND customer_id > ? ORDER BY customer_id LIMIT ?`,
  ),
  appsOf: db.prepare<[number, string], AppRecord>(
    `SELECT ${APP_COLUMNS} FROM app_profiles WHERE tenant_id = ? AND customer_id IN (SELECT value FROM json_each(?)) ORDER BY customer_id, appid, device_id`,
  ),
  /** App profiles of customers without a master profile, after a customerId. */
  orphanAppsAfter: db.prepare<[number, string, number], AppRecord>(
    `SELECT ${APP_COLUMNS} FROM app_profiles a WHERE tenant_id = ? AND customer_id > ?
       AND NOT EXISTS (SELECT 1 FROM master_profiles m WHERE m.tenant_id = a.tenant_id AND m.customer_id = a.customer_id)
     ORDER BY customer_id, appid, device_id LIMIT ?`,
  ),
  appsOfCustomer: db.prepare<[number, string], AppRecord>(`SELECT ${APP_COLUMNS} FROM app_profiles WHERE tenant_id = ? AND customer_id = ? ORDER BY appid, device_id`),
  appAfter: db.prepare<[number, string, string, string, number], AppRecord>(
    `SELECT ${APP_COLUMNS} FROM app_profiles WHERE tenant_id = ? AND appid = ? AND (customer_id, device_id) > (?, ?) ORDER BY customer_id, device_id LIMIT ?`,
  ),
  countMasters: db.prepare<[number], number>('SELECT count(*) FROM master_profiles WHERE tenant_id = ?').pluck(),
  countOrphans: db.prepare<[number], number>(
    `SELECT count(DISTINCT customer_id) FROM app_profiles a WHERE tenant_id = ?
       AND NOT EXISTS (SELECT 1 FROM master_profiles m WHERE m.tenant_id = a.tenant_id AND m.customer_id = a.customer_id)`,
  ).pluck(),
  countApp: db.prepare<[number, string], number>('SELECT count(*) FROM app_profiles WHERE tenant_id = ? AND appid = ?').pluck(),
});

/**
 * The customers of one snapshot, batch by batch: every master profile with its app profiles, then
 * the customers with app profiles only. A batch of those holds whole customers: when the rows of
 * a full batch end inside a customer, that customer waits for the next batch, which reads it whole.
 */
function customerBatches(s: ReturnType<typeof statementsOf>, tenantId: number, batchSize: number): () => CustomerProfiles[] {
  let phase: 'masters' | 'orphans' = 'masters';
  let after = '';
  return function next(): CustomerProfiles[] {
    if (phase === 'masters') {
      const masters = s.mastersAfter.all(tenantId, after, batchSize);
      if (masters.length > 0) {
        after = masters[masters.length - 1].customer_id;
        const apps = appProfilesByCustomer(s.appsOf.all(tenantId, JSON.stringify(masters.map((m) => m.customer_id))));
        return masters.map((m) => ({ customerId: m.customer_id, master: toStoredMaster(m), apps: apps.get(m.customer_id) ?? [] }));
      }
      phase = 'orphans';
      after = '';
    }
    const rows = s.orphanAppsAfter.all(tenantId, after, batchSize);
    if (rows.length === 0) return [];
    let customers = appProfilesByCustomer(rows);
    if (rows.length === batchSize) {
      const last = rows[rows.length - 1].customer_id;
      if (customers.size === 1) customers = appProfilesByCustomer(s.appsOfCustomer.all(tenantId, last));
      else customers.delete(last);
    }
    const batch = [...customers].map(([customerId, apps]) => ({ customerId, master: null, apps }));
    after = batch[batch.length - 1].customerId;
    return batch;
  };
}

/**
 * The `ProfileScan` role on SQLite. Pages and finds run on the store's connection; a snapshot opens
 * a connection of its own (`openReader`), in one read transaction: in WAL mode it reads the
 * database as it was when it began and blocks no writer, in this process or another (the WAL
 * only grows past its checkpoint size until the snapshot ends).
 */
export class SqliteProfileScan {
  private readonly s: ReturnType<typeof statementsOf>;
  /** Prepared page statements, by SQL text (one per shape of query). */
  private readonly pages = new Map<string, Database.Statement<unknown[], MasterRecord>>();

  constructor(
    private readonly db: Database.Database,
    private readonly openReader: () => Database.Database,
  ) {
    this.s = statementsOf(db);
  }

  private page(sql: string): Database.Statement<unknown[], MasterRecord> {
    let statement = this.pages.get(sql);
    if (!statement) this.pages.set(sql, (statement = this.db.prepare<unknown[], MasterRecord>(sql)));
    return statement;
  }

  pageMasters(tenantId: number, query: MasterPageQuery): MasterProfileRow[] {
    const { sql, params } = pageSql(tenantId, query);
    return this.page(sql).all(...params).map(toMaster);
  }

  planOf(tenantId: number, query: MasterPageQuery): string[] {
    const { sql, params } = pageSql(tenantId, query);
    return (this.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>).map((r) => r.detail);
  }

  appProfilesOf(tenantId: number, customerIds: readonly string[]): AppProfileRow[] {
    return this.s.appsOf.all(tenantId, JSON.stringify([...new Set(customerIds)])).map(toAppProfile);
  }

  snapshotCustomers(tenantId: number, { batchSize, isCounted = false }: { batchSize: number; isCounted?: boolean }): SnapshotBatches<CustomerProfiles> {
    return this.snapshot((s) => (isCounted ? s.countMasters.get(tenantId)! + s.countOrphans.get(tenantId)! : null), (s) => customerBatches(s, tenantId, batchSize));
  }

  snapshotApp(tenantId: number, appid: string, { batchSize, isCounted = false }: { batchSize: number; isCounted?: boolean }): SnapshotBatches<AppProfileRow> {
    return this.snapshot(
      (s) => (isCounted ? s.countApp.get(tenantId, appid)! : null),
      (s) => {
        let after = ['', ''];
        return () => {
          const rows = s.appAfter.all(tenantId, appid, after[0], after[1], batchSize);
          if (rows.length > 0) after = [rows[rows.length - 1].customer_id, rows[rows.length - 1].device_id];
          return rows.map(toAppProfile);
        };
      },
    );
  }

  /** Opens a reader in a read transaction; its first read (`count`) fixes the snapshot. */
  private snapshot<T>(count: (s: ReturnType<typeof statementsOf>) => number | null, batches: (s: ReturnType<typeof statementsOf>) => () => T[]): SnapshotBatches<T> {
    const reader = this.openReader();
    try {
      reader.pragma('query_only = ON');
      reader.exec('BEGIN');
      const s = statementsOf(reader);
      // A read of the database starts the snapshot now, not at the first batch.
      reader.prepare('SELECT 1 FROM master_profiles LIMIT 1').get();
      const total = count(s);
      const end = () => {
        if (reader.inTransaction) reader.exec('COMMIT');
        reader.close();
      };
      return snapshotBatches(total, batches(s), end, translateSqliteError);
    } catch (err) {
      reader.close();
      throw err;
    }
  }

  indexMasterAttribute(tenantId: number, name: string): AttributeDefinition {
    const def = this.db.prepare<[number, string], AttributeRow>("SELECT * FROM attribute_definitions WHERE tenant_id = ? AND scope = 'master' AND name = ?").get(tenantId, name);
    if (!def) throw new NotFoundError(`tenant ${tenantId} has no master attribute ${name}`);
    // Its own statement, before the flag: a server never finds by an attribute whose index is not there yet.
    this.db.exec(`CREATE INDEX IF NOT EXISTS ${attributeIndexName(name)} ON master_profiles (tenant_id, ${valueOf(name)}, customer_id)`);
    return this.db
      .transaction(() => {
        this.db.prepare("UPDATE attribute_definitions SET is_indexed = 1 WHERE id = ?").run(def.id);
        this.db.prepare("UPDATE meta SET value = value + 1 WHERE key = 'config_version'").run();
        return toAttribute({ ...def, is_indexed: 1 });
      })
      .immediate();
  }
}
