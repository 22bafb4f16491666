import type Database from 'better-sqlite3';
import { type AppRecord, type MasterRecord, toAppProfile as toApp, toMaster } from '../rows.js';
import type { AppProfileRow, MasterProfileRow, ProfileChanges, ProfileKeys, ProfileSnapshot } from '../storage.js';

const APP_COLUMNS = 'tenant_id, appid, customer_id, device_id, user_id, attributes, created_at, updated_at';

/** Prepared statements over master_profiles and app_profiles. */
export class SqliteProfiles {
  private readonly master;
  private readonly appsOfCustomer;
  private readonly appsOfUser;
  private readonly appsOfCustomerAnyApp;
  private readonly upsertMaster;
  private readonly deleteMaster;
  private readonly upsertApp;
  private readonly deleteApp;

  constructor(db: Database.Database) {
    this.master = db.prepare<[number, string], MasterRecord>(
      'SELECT tenant_id, customer_id, attributes, created_at, updated_at FROM master_profiles WHERE tenant_id = ? AND customer_id = ?',
    );
    this.appsOfCustomer = db.prepare<[number, string, string], AppRecord>(
      `SELECT ${APP_COLUMNS} FROM app_profiles WHERE tenant_id = ? AND appid = ? AND customer_id = ? ORDER BY device_id`,
    );
    this.appsOfUser = db.prepare<[number, string, string], AppRecord>(
      `SELECT ${APP_COLUMNS} FROM app_profiles WHERE tenant_id = ? AND appid = ? AND user_id = ? ORDER BY customer_id, device_id`,
    );
    this.appsOfCustomerAnyApp = db.prepare<[number, string], AppRecord>(
      `SELECT ${APP_COLUMNS} FROM app_profiles WHERE tenant_id = ? AND customer_id = ? ORDER BY appid, device_id`,
    );
    this.upsertMaster = db.prepare(
      `INSERT INTO master_profiles (tenant_id, customer_id, attributes, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (tenant_id, customer_id) DO UPDATE SET attributes = excluded.attributes, created_at = excluded.created_at, updated_at = excluded.updated_at`,
    );
    this.deleteMaster = db.prepare('DELETE FROM master_profiles WHERE tenant_id = ? AND customer_id = ?');
    this.upsertApp = db.prepare(
      `INSERT INTO app_profiles (${APP_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (tenant_id, appid, customer_id, device_id) DO UPDATE SET user_id = excluded.user_id, attributes = excluded.attributes,
         created_at = excluded.created_at, updated_at = excluded.updated_at`,
    );
    this.deleteApp = db.prepare('DELETE FROM app_profiles WHERE tenant_id = ? AND appid = ? AND customer_id = ? AND device_id = ?');
  }

  masters(tenantId: number, customerIds: string[]): MasterProfileRow[] {
    const rows: MasterProfileRow[] = [];
    for (const id of new Set(customerIds)) {
      const r = this.master.get(tenantId, id);
      if (r) rows.push(toMaster(r));
    }
    return rows;
  }

  apps(tenantId: number, appid: string, customerIds: string[]): AppProfileRow[] {
    return [...new Set(customerIds)].flatMap((id) => this.appsOfCustomer.all(tenantId, appid, id).map(toApp));
  }

  appsByUserId(tenantId: number, appid: string, userId: string): AppProfileRow[] {
    return this.appsOfUser.all(tenantId, appid, userId).map(toApp);
  }

  appsOfCustomers(tenantId: number, customerIds: string[]): AppProfileRow[] {
    return [...new Set(customerIds)].flatMap((id) => this.appsOfCustomerAnyApp.all(tenantId, id).map(toApp));
  }

  /** Every row `keys` names, each once. */
  snapshot(keys: ProfileKeys): ProfileSnapshot {
    const masters = new Map<string, MasterProfileRow>();
    for (const { tenantId, customerId } of keys.masters) {
      const k = JSON.stringify([tenantId, customerId]);
      if (masters.has(k)) continue;
      const r = this.master.get(tenantId, customerId);
      if (r) masters.set(k, toMaster(r));
    }
    const apps = new Map<string, AppProfileRow>();
    const add = (records: AppRecord[]) => {
      for (const r of records) apps.set(JSON.stringify([r.tenant_id, r.appid, r.customer_id, r.device_id]), toApp(r));
    };
    const seen = new Set<string>();
    const once = (key: unknown[]) => {
      const k = JSON.stringify(key);
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    };
    for (const { tenantId, appid, customerId } of keys.appCustomers) if (once(['c', tenantId, appid, customerId])) add(this.appsOfCustomer.all(tenantId, appid, customerId));
    for (const { tenantId, appid, userId } of keys.appUsers) if (once(['u', tenantId, appid, userId])) add(this.appsOfUser.all(tenantId, appid, userId));
    for (const { tenantId, customerId } of keys.customerApps) if (once(['a', tenantId, customerId])) add(this.appsOfCustomerAnyApp.all(tenantId, customerId));
    return { masters: [...masters.values()], apps: [...apps.values()] };
  }

  write(changes: ProfileChanges): void {
    for (const d of changes.masterDeletes) this.deleteMaster.run(d.tenantId, d.customerId);
    for (const r of changes.masterUpserts) this.upsertMaster.run(r.tenantId, r.customerId, JSON.stringify(r.attributes), r.createdAt, r.updatedAt);
    for (const d of changes.appDeletes) this.deleteApp.run(d.tenantId, d.appid, d.customerId, d.deviceId);
    for (const r of changes.appUpserts) {
      this.upsertApp.run(r.tenantId, r.appid, r.customerId, r.deviceId, r.userId, JSON.stringify(r.attributes), r.createdAt, r.updatedAt);
    }
  }
}
