import type Database from 'better-sqlite3';
import { type AppRow, type AttributeRow, type KeyRow, type TenantRow, toApp, toAttribute, toKey, toRowCounts, toTenant } from '../rows.js';
import type { App, AttributeDefinition, DirectorySnapshot, NewAttributeDefinition, ProfileKey, RowCounts, Tenant, TenantSettings } from '../../model/directory.js';
import { ConflictError, NotFoundError } from '../ports.js';
import { translateSqliteError } from './sqlite-errors.js';

/** Runs `fn`; a uniqueness violation becomes a ConflictError saying `what` is taken. */
function unique<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    const translated = translateSqliteError(err);
    throw translated instanceof ConflictError ? new ConflictError(`${what} is already taken`) : translated;
  }
}

const TENANT_COLUMNS = 'id, name, settings, allow_list, created_at';

/**
 * The highest id of a removed tenant, kept in `meta`: a new tenant's id is above it, so rows of a
 * removed tenant not yet erased never belong to a new one (SQLite gives an INTEGER PRIMARY KEY the
 * highest id in use plus one, which would otherwise reuse a removed highest id).
 */
const REMOVED_TENANT_ID = "'highest_removed_tenant_id'";

/** The prepared statements of `SqliteDirectory`. */
const statementsOf = (db: Database.Database) => ({
  version: db.prepare<[], { value: number }>("SELECT value FROM meta WHERE key = 'config_version'"),
  bump: db.prepare("UPDATE meta SET value = value + 1 WHERE key = 'config_version'"),
  tenantById: db.prepare<[number], TenantRow>(`SELECT ${TENANT_COLUMNS} FROM tenants WHERE id = ?`),
  allTenants: db.prepare<[], TenantRow>(`SELECT ${TENANT_COLUMNS} FROM tenants ORDER BY id`),
  insertTenant: db.prepare<[string, string, string], TenantRow>(
    `INSERT INTO tenants (id, name, settings, allow_list, created_at)
     VALUES (1 + max(COALESCE((SELECT MAX(id) FROM tenants), 0), COALESCE((SELECT value FROM meta WHERE key = ${REMOVED_TENANT_ID}), 0)), ?, ?, '[]', ?)
     RETURNING ${TENANT_COLUMNS}`,
  ),
  updateSettings: db.prepare('UPDATE tenants SET settings = ? WHERE id = ?'),
  updateAllowList: db.prepare('UPDATE tenants SET allow_list = ? WHERE id = ?'),
  insertKey: db.prepare<[string, number, string, string], KeyRow>(
    'INSERT INTO profile_keys (key_id, tenant_id, hash, created_at) VALUES (?, ?, ?, ?) RETURNING *',
  ),
  keysOf: db.prepare<[number], KeyRow>('SELECT * FROM profile_keys WHERE tenant_id = ? ORDER BY created_at, key_id'),
  revokeKey: db.prepare('UPDATE profile_keys SET revoked_at = ? WHERE tenant_id = ? AND key_id = ? AND revoked_at IS NULL'),
  activeKeys: db.prepare<[], KeyRow>('SELECT * FROM profile_keys WHERE revoked_at IS NULL'),
  insertApp: db.prepare<[string, number, string, string], AppRow>('INSERT INTO apps (appid, tenant_id, channel, created_at) VALUES (?, ?, ?, ?) RETURNING *'),
  appsOf: db.prepare<[number], AppRow>('SELECT * FROM apps WHERE tenant_id = ? ORDER BY created_at, appid'),
  allApps: db.prepare<[], AppRow>('SELECT * FROM apps'),
  insertAttribute: db.prepare('INSERT OR IGNORE INTO attribute_definitions (tenant_id, scope, name, type, max_length, enum_values) VALUES (?, ?, ?, ?, ?, ?)'),
  attribute: db.prepare<[number, string, string], AttributeRow>('SELECT * FROM attribute_definitions WHERE tenant_id = ? AND scope = ? AND name = ?'),
  allAttributes: db.prepare<[], AttributeRow>('SELECT * FROM attribute_definitions ORDER BY id'),
  hasApp: db.prepare<[string, number], number>('SELECT 1 FROM apps WHERE appid = ? AND tenant_id = ?').pluck(),
  hasAppProfiles: db.prepare<[number, string], number>('SELECT 1 FROM app_profiles WHERE tenant_id = ? AND appid = ? LIMIT 1').pluck(),
  deleteKeysOf: db.prepare('DELETE FROM profile_keys WHERE tenant_id = ?'),
  deleteAttributesOf: db.prepare('DELETE FROM attribute_definitions WHERE tenant_id = ?'),
  deleteAppsOf: db.prepare('DELETE FROM apps WHERE tenant_id = ?'),
  deleteTenant: db.prepare('DELETE FROM tenants WHERE id = ?'),
  noteRemovedTenant: db.prepare(
    `INSERT INTO meta (key, value) VALUES (${REMOVED_TENANT_ID}, ?) ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)`,
  ),
  deleteAttributesOfApp: db.prepare('DELETE FROM attribute_definitions WHERE tenant_id = ? AND scope = ?'),
  deleteApp: db.prepare('DELETE FROM apps WHERE tenant_id = ? AND appid = ?'),
});

/** Tenants, keys, apps and attribute definitions in SQLite. Every change bumps `config_version`. */
export class SqliteDirectory {
  private readonly s: ReturnType<typeof statementsOf>;
  /** Writes: takes the write lock first, so the database transaction never waits to upgrade. */
  private readonly atomically: <T>(fn: () => T) => T;
  /** Reads: one consistent WAL snapshot, without blocking writers of other processes. */
  private readonly consistently: <T>(fn: () => T) => T;

  constructor(db: Database.Database) {
    this.s = statementsOf(db);
    this.atomically = <T>(fn: () => T): T => db.transaction(fn).immediate();
    this.consistently = <T>(fn: () => T): T => db.transaction(fn).deferred();
  }

  configVersion(): number {
    return this.s.version.get()!.value;
  }

  load(): DirectorySnapshot {
    return this.consistently(() => ({
      version: this.configVersion(),
      tenants: this.s.allTenants.all().map(toTenant),
      keys: this.s.activeKeys.all().map(toKey),
      apps: this.s.allApps.all().map(toApp),
      attributes: this.s.allAttributes.all().map(toAttribute),
    }));
  }

  private requireTenant(tenantId: number): Tenant {
    const row = this.s.tenantById.get(tenantId);
    if (!row) throw new NotFoundError(`no tenant with id ${tenantId}`);
    return toTenant(row);
  }

  createTenant(name: string, settings: TenantSettings, master: NewAttributeDefinition[]): Tenant {
    return this.atomically(() => {
      const tenant = toTenant(unique(`the tenant name ${name}`, () => this.s.insertTenant.get(name, JSON.stringify(settings), new Date().toISOString())!));
      this.define(tenant.id, 'master', master);
      this.s.bump.run();
      return tenant;
    });
  }

  listTenants(): Tenant[] {
    return this.s.allTenants.all().map(toTenant);
  }

  getTenant(tenantId: number): Tenant | null {
    const row = this.s.tenantById.get(tenantId);
    return row ? toTenant(row) : null;
  }

  updateTenantSettings(tenantId: number, patch: Partial<TenantSettings>): Tenant {
    return this.atomically(() => {
      const tenant = this.requireTenant(tenantId);
      const settings = { ...tenant.settings, ...patch };
      this.s.updateSettings.run(JSON.stringify(settings), tenantId);
      this.s.bump.run();
      return { ...tenant, settings };
    });
  }

  setAllowList(tenantId: number, entries: string[]): Tenant {
    return this.atomically(() => {
      const tenant = this.requireTenant(tenantId);
      this.s.updateAllowList.run(JSON.stringify(entries), tenantId);
      this.s.bump.run();
      return { ...tenant, allowList: entries };
    });
  }

  createProfileKey(tenantId: number, keyId: string, hash: string): ProfileKey {
    return this.atomically(() => {
      this.requireTenant(tenantId);
      const key = toKey(this.s.insertKey.get(keyId, tenantId, hash, new Date().toISOString())!);
      this.s.bump.run();
      return key;
    });
  }

  listProfileKeys(tenantId: number): ProfileKey[] {
    return this.s.keysOf.all(tenantId).map(toKey);
  }

  revokeProfileKey(tenantId: number, keyId: string): boolean {
    return this.atomically(() => {
      const changed = this.s.revokeKey.run(new Date().toISOString(), tenantId, keyId).changes > 0;
      if (changed) this.s.bump.run();
      return changed;
    });
  }

  createApp(tenantId: number, appid: string, channel: string, attributes: NewAttributeDefinition[]): App {
    return this.atomically(() => {
      this.requireTenant(tenantId);
      const app = toApp(unique(`the appid ${appid}`, () => this.s.insertApp.get(appid, tenantId, channel, new Date().toISOString())!));
      if (this.s.hasAppProfiles.get(tenantId, appid)) throw new ConflictError(`tenant ${tenantId} still holds app profiles of its deleted app ${appid}: erase them first`);
      this.define(tenantId, appid, attributes);
      this.s.bump.run();
      return app;
    });
  }

  listApps(tenantId: number): App[] {
    return this.s.appsOf.all(tenantId).map(toApp);
  }

  defineAttributes(tenantId: number, scope: string, definitions: NewAttributeDefinition[]): AttributeDefinition[] {
    return this.atomically(() => {
      this.requireTenant(tenantId);
      if (scope !== 'master' && !this.s.hasApp.get(scope, tenantId)) throw new NotFoundError(`tenant ${tenantId} has no app ${scope}`);
      if (this.define(tenantId, scope, definitions) > 0) this.s.bump.run();
      return definitions.map((d) => toAttribute(this.s.attribute.get(tenantId, scope, d.name)!));
    });
  }

  removeTenant(tenantId: number): RowCounts {
    return this.atomically(() => {
      // Keys, attribute definitions and apps refer to the tenant: they go first.
      const removed = toRowCounts({
        profile_keys: this.s.deleteKeysOf.run(tenantId).changes,
        attribute_definitions: this.s.deleteAttributesOf.run(tenantId).changes,
        apps: this.s.deleteAppsOf.run(tenantId).changes,
      });
      if (this.s.deleteTenant.run(tenantId).changes > 0) {
        this.s.noteRemovedTenant.run(tenantId);
        this.s.bump.run();
      }
      return removed;
    });
  }

  removeApp(tenantId: number, appid: string): RowCounts {
    return this.atomically(() => {
      const removed = toRowCounts({ attribute_definitions: this.s.deleteAttributesOfApp.run(tenantId, appid).changes, apps: this.s.deleteApp.run(tenantId, appid).changes });
      if (removed.apps + removed.attributeDefinitions > 0) this.s.bump.run();
      return removed;
    });
  }

  /** Inserts the definitions not there yet; returns how many it inserted. */
  private define(tenantId: number, scope: string, definitions: NewAttributeDefinition[]): number {
    let inserted = 0;
    for (const d of definitions) {
      inserted += this.s.insertAttribute.run(tenantId, scope, d.name, d.type, d.maxLength ?? null, d.values ? JSON.stringify(d.values) : null).changes;
    }
    return inserted;
  }
}

