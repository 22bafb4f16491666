import type Database from 'better-sqlite3';
import { type RowCountsRow, toRowCounts } from '../rows.js';
import type { RowCounts } from '../../model/directory.js';

/**
 * A tenant's write transactions, found through the partial indexes: `write_transactions` has no
 * index on the tenant alone, and a chunk must not scan the whole table. (Its queued ones, before
 * the journal or carried by a backup, are moved to the journal when the store is opened.)
 */
const FINISHED_OF_TENANT = "SELECT seq FROM write_transactions WHERE tenant_id = @tenantId AND state = 'done' LIMIT @limit";

/** The tenant's imports; their chunks and rejects are found through them (the primary keys' first column). */
const IMPORTS_OF_TENANT = 'SELECT id FROM imports WHERE tenant_id = @tenantId';

/** The tenant's webhook endpoints; their deliveries are found through them. */
const ENDPOINTS_OF_TENANT = 'SELECT id FROM webhook_endpoints WHERE tenant_id = @tenantId';

/** Counts and chunked deletes of what a tenant or an app holds (the two steps of an erase in `storage/ports.ts`). */
export class SqliteErasure {
  private readonly countTenant;
  private readonly countApp;
  private readonly countImports;
  /** Those in the journal not yet applied; an applied one is counted in the store. */
  private readonly countQueued: (tenantId: number) => number;
  /** Deletes of one kind of row, at most `limit` each, in the order a chunk tries them. */
  private readonly tenantChunks: Array<(params: { tenantId: number; limit: number }) => RowCountsRow>;
  private readonly appProfilesChunk;
  private readonly atomically: <T>(fn: () => T) => T;

  constructor(db: Database.Database, journal: Database.Database) {
    const appliedSeq = db.prepare<[], number>('SELECT applied_seq FROM journal_state').pluck();
    const countQueued = journal.prepare<[number, number], number>('SELECT COUNT(*) FROM journal WHERE tenant_id = ? AND seq > ?').pluck();
    this.countQueued = (tenantId) => countQueued.get(tenantId, appliedSeq.get()!)!;
    // The applier drops a removed tenant's write transactions too; this finishes an erase without it.
    const queued = journal.prepare(
      'DELETE FROM journal WHERE tenant_id = @tenantId AND transid IN (SELECT transid FROM journal WHERE tenant_id = @tenantId LIMIT @limit)',
    );
    this.countTenant = db.prepare<{ tenantId: number }, RowCountsRow>(
      `SELECT (SELECT COUNT(*) FROM profile_keys WHERE tenant_id = @tenantId) AS profile_keys,
              (SELECT COUNT(*) FROM apps WHERE tenant_id = @tenantId) AS apps,
              (SELECT COUNT(*) FROM attribute_definitions WHERE tenant_id = @tenantId) AS attribute_definitions,
              (SELECT COUNT(*) FROM master_profiles WHERE tenant_id = @tenantId) AS master_profiles,
              (SELECT COUNT(*) FROM app_profiles WHERE tenant_id = @tenantId) AS app_profiles,
              (SELECT COUNT(*) FROM write_transactions WHERE tenant_id = @tenantId AND state = 'done') AS write_transactions,
              (SELECT COUNT(*) FROM change_events WHERE tenant_id = @tenantId) AS change_events`,
    );
    this.countApp = db.prepare<{ tenantId: number; appid: string }, RowCountsRow>(
      `SELECT (SELECT COUNT(*) FROM apps WHERE appid = @appid AND tenant_id = @tenantId) AS apps,
              (SELECT COUNT(*) FROM attribute_definitions WHERE tenant_id = @tenantId AND scope = @appid) AS attribute_definitions,
              (SELECT COUNT(*) FROM app_profiles WHERE tenant_id = @tenantId AND appid = @appid) AS app_profiles`,
    );
    this.countImports = db.prepare<{ tenantId: number }, RowCountsRow>(
      `SELECT (SELECT COUNT(*) FROM imports WHERE tenant_id = @tenantId) AS imports,
              (SELECT COUNT(*) FROM import_chunks WHERE import_id IN (${IMPORTS_OF_TENANT})) AS import_chunks,
              (SELECT COUNT(*) FROM import_rejects WHERE import_id IN (${IMPORTS_OF_TENANT})) AS import_rejects,
              (SELECT COUNT(*) FROM webhook_endpoints WHERE tenant_id = @tenantId) AS webhook_endpoints,
              (SELECT COUNT(*) FROM webhook_deliveries WHERE endpoint_id IN (${ENDPOINTS_OF_TENANT})) AS webhook_deliveries,
              (SELECT COUNT(*) FROM webhook_attempts WHERE tenant_id = @tenantId) AS webhook_attempts`,
    );
    // An import's rejects and chunks go before the import, through which they are found.
    const importRejects = db.prepare(
      `DELETE FROM import_rejects WHERE (import_id, line) IN
         (SELECT import_id, line FROM import_rejects WHERE import_id IN (${IMPORTS_OF_TENANT}) LIMIT @limit)`,
    );
    const importChunks = db.prepare(
      `DELETE FROM import_chunks WHERE (import_id, chunk) IN
         (SELECT import_id, chunk FROM import_chunks WHERE import_id IN (${IMPORTS_OF_TENANT}) LIMIT @limit)`,
    );
    const imports = db.prepare(`DELETE FROM imports WHERE id IN (${IMPORTS_OF_TENANT} LIMIT @limit)`);
    // An endpoint's deliveries go before it, as they are found through it.
    const attempts = db.prepare('DELETE FROM webhook_attempts WHERE id IN (SELECT id FROM webhook_attempts WHERE tenant_id = @tenantId LIMIT @limit)');
    const deliveries = db.prepare(
      `DELETE FROM webhook_deliveries WHERE (endpoint_id, seq) IN
         (SELECT endpoint_id, seq FROM webhook_deliveries WHERE endpoint_id IN (${ENDPOINTS_OF_TENANT}) LIMIT @limit)`,
    );
    const endpoints = db.prepare(`DELETE FROM webhook_endpoints WHERE id IN (${ENDPOINTS_OF_TENANT} LIMIT @limit)`);
    const finished = db.prepare(`DELETE FROM write_transactions WHERE seq IN (${FINISHED_OF_TENANT})`);
    const appProfiles = db.prepare(
      `DELETE FROM app_profiles WHERE tenant_id = @tenantId AND (appid, customer_id, device_id) IN
         (SELECT appid, customer_id, device_id FROM app_profiles WHERE tenant_id = @tenantId LIMIT @limit)`,
    );
    const masters = db.prepare(
      `DELETE FROM master_profiles WHERE tenant_id = @tenantId AND customer_id IN
         (SELECT customer_id FROM master_profiles WHERE tenant_id = @tenantId LIMIT @limit)`,
    );
    const events = db.prepare('DELETE FROM change_events WHERE seq IN (SELECT seq FROM change_events WHERE tenant_id = @tenantId LIMIT @limit)');
    this.tenantChunks = [
      (p) => ({ import_rejects: importRejects.run(p).changes }),
      (p) => ({ import_chunks: importChunks.run(p).changes }),
      (p) => ({ imports: imports.run(p).changes }),
      (p) => ({ webhook_attempts: attempts.run(p).changes }),
      (p) => ({ webhook_deliveries: deliveries.run(p).changes }),
      (p) => ({ webhook_endpoints: endpoints.run(p).changes }),
      (p) => ({ write_transactions: queued.run(p).changes }),
      (p) => ({ write_transactions: finished.run(p).changes }),
      (p) => ({ app_profiles: appProfiles.run(p).changes }),
      (p) => ({ master_profiles: masters.run(p).changes }),
      (p) => ({ change_events: events.run(p).changes }),
    ];
    this.appProfilesChunk = db.prepare<{ tenantId: number; appid: string; limit: number }>(
      `DELETE FROM app_profiles WHERE tenant_id = @tenantId AND appid = @appid AND (customer_id, device_id) IN
         (SELECT customer_id, device_id FROM app_profiles WHERE tenant_id = @tenantId AND appid = @appid LIMIT @limit)`,
    );
    this.atomically = <T>(fn: () => T): T => db.transaction(fn).immediate();
  }

  countTenantRows(tenantId: number): RowCounts {
    const counts = toRowCounts({ ...this.countTenant.get({ tenantId })!, ...this.countImports.get({ tenantId })! });
    return { ...counts, writeTransactions: counts.writeTransactions + this.countQueued(tenantId) };
  }

  countAppRows(tenantId: number, appid: string): RowCounts {
    return toRowCounts(this.countApp.get({ tenantId, appid })!);
  }

  /** Deletes up to `limit` rows of the first kind the tenant still has, in one database transaction. */
  eraseTenantRows(tenantId: number, limit: number): RowCounts {
    return this.atomically(() => {
      for (const chunk of this.tenantChunks) {
        const erased = toRowCounts(chunk({ tenantId, limit }));
        if (Object.values(erased).some((n) => n > 0)) return erased;
      }
      return toRowCounts({});
    });
  }

  eraseAppRows(tenantId: number, appid: string, limit: number): RowCounts {
    return this.atomically(() => toRowCounts({ app_profiles: this.appProfilesChunk.run({ tenantId, appid, limit }).changes }));
  }
}
