import type Database from 'better-sqlite3';
import { type AppRecord, type MasterRecord, toAppProfile as toApp, toMaster } from '../rows.js';
import type { AppProfileRow, MasterProfileRow, ProfileChanges, ProfileKeys, ProfileSnapshot } from '../../model/profile.js';
import type { SqliteChanges } from './sqlite-changes.js';

const APP_COLUMNS = 'tenant_id, appid, customer_id, device_id, user_id, attributes, created_at, updated_at';

// Row identities as map keys: ids may hold any character, so every part but the last is length-prefixed.
const masterKey = (tenantId: number, customerId: string) => `${tenantId}:${customerId}`;
const appKey = (tenantId: number, appid: string, customerId: string, deviceId: string) =>
  `${tenantId}:${appid.length}:${appid}${customerId.length}:${customerId}${deviceId}`;

/** The value under `key`, made by `make` when there is none. */
const entry = <K, V>(map: Map<K, V>, key: K, make: () => V): V => map.get(key) ?? map.set(key, make()).get(key)!;
/** Whether `key` was not in `seen` (it is now). */
const isNew = (seen: Set<string>, key: string): boolean => !seen.has(key) && seen.add(key) !== undefined;

/** The rows an apply's snapshot held, by key (see `SqliteProfiles.loaded`). */
export interface Loaded {
  masters: Set<string>;
  /** App rows and the userId each had. */
  appUsers: Map<string, string | null>;
}

/** The prepared statements of `SqliteProfiles`. */
const statementsOf = (db: Database.Database) => ({
  master: db.prepare<[number, string], MasterRecord>(
    'SELECT tenant_id, customer_id, attributes, created_at, updated_at FROM master_profiles WHERE tenant_id = ? AND customer_id = ?',
  ),
  appsOfCustomer: db.prepare<[number, string, string], AppRecord>(
    `SELECT ${APP_COLUMNS} FROM app_profiles WHERE tenant_id = ? AND appid = ? AND customer_id = ? ORDER BY device_id`,
  ),
  appsOfUser: db.prepare<[number, string, string], AppRecord>(
    `SELECT ${APP_COLUMNS} FROM app_profiles WHERE tenant_id = ? AND appid = ? AND user_id = ? ORDER BY customer_id, device_id`,
  ),
  appsOfCustomerAnyApp: db.prepare<[number, string], AppRecord>(
    `SELECT ${APP_COLUMNS} FROM app_profiles WHERE tenant_id = ? AND customer_id = ? ORDER BY appid, device_id`,
  ),
  // The apply's snapshot reads the rows of many customers in one statement (a JSON array of ids):
  // one call instead of one per customer halves the snapshot's cost.
  mastersIn: db.prepare<[number, string], MasterRecord>(
    'SELECT tenant_id, customer_id, attributes, created_at, updated_at FROM master_profiles WHERE tenant_id = ? AND customer_id IN (SELECT value FROM json_each(?))',
  ),
  appsOfCustomersIn: db.prepare<[number, string, string], AppRecord>(
    `SELECT ${APP_COLUMNS} FROM app_profiles WHERE tenant_id = ? AND appid = ? AND customer_id IN (SELECT value FROM json_each(?)) ORDER BY customer_id, device_id`,
  ),
  upsertMaster: db.prepare(
    `INSERT INTO master_profiles (tenant_id, customer_id, attributes, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (tenant_id, customer_id) DO UPDATE SET attributes = excluded.attributes, created_at = excluded.created_at, updated_at = excluded.updated_at`,
  ),
  // A row the snapshot loaded exists: UPDATE it, which costs a third of an upsert's conflict path.
  updateMaster: db.prepare('UPDATE master_profiles SET attributes = ?, created_at = ?, updated_at = ? WHERE tenant_id = ? AND customer_id = ?'),
  deleteMaster: db.prepare('DELETE FROM master_profiles WHERE tenant_id = ? AND customer_id = ?'),
  upsertApp: db.prepare(
    `INSERT INTO app_profiles (${APP_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (tenant_id, appid, customer_id, device_id) DO UPDATE SET user_id = excluded.user_id, attributes = excluded.attributes,
       created_at = excluded.created_at, updated_at = excluded.updated_at`,
  ),
  // Without user_id in the SET list, SQLite leaves the userId index alone.
  updateApp: db.prepare(
    'UPDATE app_profiles SET attributes = ?, created_at = ?, updated_at = ? WHERE tenant_id = ? AND appid = ? AND customer_id = ? AND device_id = ?',
  ),
  updateAppAndUser: db.prepare(
    'UPDATE app_profiles SET user_id = ?, attributes = ?, created_at = ?, updated_at = ? WHERE tenant_id = ? AND appid = ? AND customer_id = ? AND device_id = ?',
  ),
  deleteApp: db.prepare('DELETE FROM app_profiles WHERE tenant_id = ? AND appid = ? AND customer_id = ? AND device_id = ?'),
  channelOf: db.prepare<[string, number], string>('SELECT channel FROM apps WHERE appid = ? AND tenant_id = ?').pluck(),
});

/** Prepared statements over master_profiles and app_profiles. */
export class SqliteProfiles {
  private readonly s: ReturnType<typeof statementsOf>;

  constructor(
    db: Database.Database,
    /** Where `write` stores the events of the changes, in the same database transaction. */
    private readonly changes: SqliteChanges,
  ) {
    this.s = statementsOf(db);
  }

  getMasterProfiles(tenantId: number, customerIds: string[]): MasterProfileRow[] {
    const rows: MasterProfileRow[] = [];
    for (const id of new Set(customerIds)) {
      const r = this.s.master.get(tenantId, id);
      if (r) rows.push(toMaster(r));
    }
    return rows;
  }

  getAppProfiles(tenantId: number, appid: string, customerIds: string[]): AppProfileRow[] {
    return [...new Set(customerIds)].flatMap((id) => this.s.appsOfCustomer.all(tenantId, appid, id).map(toApp));
  }

  findAppProfilesByUserId(tenantId: number, appid: string, userId: string): AppProfileRow[] {
    return this.s.appsOfUser.all(tenantId, appid, userId).map(toApp);
  }

  getAppProfilesOfCustomers(tenantId: number, customerIds: string[]): AppProfileRow[] {
    return [...new Set(customerIds)].flatMap((id) => this.s.appsOfCustomerAnyApp.all(tenantId, id).map(toApp));
  }

  /**
   * Every row `keys` names, each once. App rows come in the order the per-customer reads gave them:
   * by key, then device.
   */
  snapshot(keys: ProfileKeys): ProfileSnapshot {
    const masters: MasterProfileRow[] = [];
    const customersByTenant = new Map<number, Set<string>>();
    for (const { tenantId, customerId } of keys.masters) entry(customersByTenant, tenantId, () => new Set()).add(customerId);
    for (const [tenantId, ids] of customersByTenant) for (const r of this.s.mastersIn.all(tenantId, JSON.stringify([...ids]))) masters.push(toMaster(r));

    const apps = new Map<string, AppProfileRow>();
    const add = (records: AppRecord[]) => {
      for (const r of records) apps.set(appKey(r.tenant_id, r.appid, r.customer_id, r.device_id), toApp(r));
    };
    // Customers' rows in each app: one read per (tenant, app), then handed out in key order.
    const customersByApp = new Map<string, { tenantId: number; appid: string; ids: Set<string> }>();
    for (const { tenantId, appid, customerId } of keys.appCustomers) {
      entry(customersByApp, `${tenantId}:${appid}`, () => ({ tenantId, appid, ids: new Set() })).ids.add(customerId);
    }
    const rowsOfCustomer = new Map<string, AppRecord[]>();
    for (const { tenantId, appid, ids } of customersByApp.values()) {
      for (const r of this.s.appsOfCustomersIn.all(tenantId, appid, JSON.stringify([...ids]))) {
        entry(rowsOfCustomer, appKey(tenantId, appid, r.customer_id, ''), () => []).push(r);
      }
    }
    for (const { tenantId, appid, customerId } of keys.appCustomers) {
      const k = appKey(tenantId, appid, customerId, '');
      const rows = rowsOfCustomer.get(k);
      if (!rows) continue;
      rowsOfCustomer.delete(k);
      add(rows);
    }
    // Each userId's, and each cascading customer's, rows are read once.
    const users = new Set<string>();
    for (const { tenantId, appid, userId } of keys.appUsers) {
      if (isNew(users, appKey(tenantId, appid, userId, ''))) add(this.s.appsOfUser.all(tenantId, appid, userId));
    }
    const customers = new Set<string>();
    for (const { tenantId, customerId } of keys.customerApps) {
      if (isNew(customers, masterKey(tenantId, customerId))) add(this.s.appsOfCustomerAnyApp.all(tenantId, customerId));
    }
    const appids = keys.appids.flatMap(({ tenantId, appid }) => {
      const channel = this.s.channelOf.get(appid, tenantId);
      return channel === undefined ? [] : [{ tenantId, appid, channel }];
    });
    return { masters, apps: [...apps.values()], appids };
  }

  /** Which rows a snapshot holds, and their userIds as loaded (taken before the batch is reduced). */
  static loaded(snapshot: ProfileSnapshot): Loaded {
    const loaded: Loaded = { masters: new Set(), appUsers: new Map() };
    for (const r of snapshot.masters) loaded.masters.add(masterKey(r.tenantId, r.customerId));
    for (const r of snapshot.apps) loaded.appUsers.set(appKey(r.tenantId, r.appid, r.customerId, r.deviceId), r.userId);
    return loaded;
  }

  /**
   * Writes the final state of each touched row, and the events of the changes. `loaded` is what the batch read in the same
   * database transaction: a row it holds exists, and is updated in place; any other is upserted.
   */
  write(changes: ProfileChanges, loaded: Loaded): void {
    const { masters: loadedMasters, appUsers: loadedUsers } = loaded;

    for (const d of changes.masterDeletes) this.s.deleteMaster.run(d.tenantId, d.customerId);
    for (const r of changes.masterUpserts) {
      const attributes = JSON.stringify(r.attributes);
      if (loadedMasters.has(masterKey(r.tenantId, r.customerId))) updated(this.s.updateMaster.run(attributes, r.createdAt, r.updatedAt, r.tenantId, r.customerId));
      else this.s.upsertMaster.run(r.tenantId, r.customerId, attributes, r.createdAt, r.updatedAt);
    }
    for (const d of changes.appDeletes) this.s.deleteApp.run(d.tenantId, d.appid, d.customerId, d.deviceId);
    for (const r of changes.appUpserts) {
      const attributes = JSON.stringify(r.attributes);
      const userId = loadedUsers.get(appKey(r.tenantId, r.appid, r.customerId, r.deviceId));
      if (userId === undefined) {
        this.s.upsertApp.run(r.tenantId, r.appid, r.customerId, r.deviceId, r.userId, attributes, r.createdAt, r.updatedAt);
      } else if (userId === r.userId) {
        updated(this.s.updateApp.run(attributes, r.createdAt, r.updatedAt, r.tenantId, r.appid, r.customerId, r.deviceId));
      } else {
        updated(this.s.updateAppAndUser.run(r.userId, attributes, r.createdAt, r.updatedAt, r.tenantId, r.appid, r.customerId, r.deviceId));
      }
    }
    this.changes.append(changes.events);
  }
}

/**
 * A row the snapshot loaded must still be there: the snapshot was read in the same database
 * transaction, and this connection is the only one that writes profiles, apart from an erase's deletes
 * (which cannot run inside that database transaction).
 */
function updated(result: Database.RunResult): void {
  if (result.changes !== 1) throw new Error(`an UPDATE of a loaded profile row changed ${result.changes} rows`);
}
