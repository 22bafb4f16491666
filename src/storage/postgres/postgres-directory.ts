import { type AppRow, type AttributeRow, type KeyRow, type TenantRow, toApp, toAttribute, toKey, toRowCounts, toTenant } from '../rows.js';
import type { App, AttributeDefinition, DirectorySnapshot, NewAttributeDefinition, ProfileKey, RowCounts, Tenant, TenantSettings } from '../../model/directory.js';
import { ConflictError, NotFoundError } from '../ports.js';
import type { Atomically, Queryable } from './postgres-pool.js';
import { translatePostgresError } from './postgres-errors.js';

const BUMP = "UPDATE meta SET value = value + 1 WHERE key = 'config_version'";

/**
 * Advisory lock (any constant apart from the queue's): removing a tenant or an app takes it
 * exclusively, applying write transactions takes it shared. So no apply that read the tenant or
 * app as present is still running when the removal commits, and every apply after it sees the
 * removal: nothing is stored for a removed tenant or app while its rows are being erased.
 */
export const REMOVAL_LOCK = 0x0b9e_0003;

/** Runs `fn`; a uniqueness violation becomes a ConflictError saying `what` is taken. */
async function unique<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const translated = translatePostgresError(err);
    throw translated instanceof ConflictError ? new ConflictError(`${what} is already taken`) : translated;
  }
}

async function requireTenant(c: Queryable, tenantId: number): Promise<Tenant> {
  const { rows } = await c.query<TenantRow>('SELECT * FROM tenants WHERE id = $1 FOR UPDATE', [tenantId]);
  if (!rows[0]) throw new NotFoundError(`no tenant with id ${tenantId}`);
  return toTenant(rows[0]);
}

async function define(c: Queryable, tenantId: number, scope: string, definitions: NewAttributeDefinition[]): Promise<number> {
  if (definitions.length === 0) return 0;
  const { rowCount } = await c.query(
    `INSERT INTO attribute_definitions (tenant_id, scope, name, type, max_length, enum_values)
     SELECT $1, $2, * FROM unnest($3::text[], $4::text[], $5::int[], $6::text[])
     ON CONFLICT (tenant_id, scope, name) DO NOTHING`,
    [
      tenantId,
      scope,
      definitions.map((d) => d.name),
      definitions.map((d) => d.type),
      definitions.map((d) => d.maxLength ?? null),
      definitions.map((d) => (d.values ? JSON.stringify(d.values) : null)),
    ],
  );
  return rowCount ?? 0;
}

/** Tenants, keys, apps and attribute definitions in PostgreSQL. Every change bumps `config_version`. */
export class PostgresDirectory {
  constructor(
    private readonly pool: Queryable,
    private readonly atomically: Atomically,
  ) {}

  async configVersion(): Promise<number> {
    const { rows } = await this.pool.query<{ value: string }>("SELECT value FROM meta WHERE key = 'config_version'");
    return Number(rows[0].value);
  }

  load(): Promise<DirectorySnapshot> {
    return this.atomically(async (c) => {
      await c.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const version = await c.query<{ value: string }>("SELECT value FROM meta WHERE key = 'config_version'");
      const tenants = await c.query<TenantRow>('SELECT * FROM tenants ORDER BY id');
      const keys = await c.query<KeyRow>('SELECT * FROM profile_keys WHERE revoked_at IS NULL');
      const apps = await c.query<AppRow>('SELECT * FROM apps');
      const attributes = await c.query<AttributeRow>('SELECT * FROM attribute_definitions ORDER BY id');
      return {
        version: Number(version.rows[0].value),
        tenants: tenants.rows.map(toTenant),
        keys: keys.rows.map(toKey),
        apps: apps.rows.map(toApp),
        attributes: attributes.rows.map(toAttribute),
      };
    });
  }

  createTenant(name: string, settings: TenantSettings, master: NewAttributeDefinition[]): Promise<Tenant> {
    return this.atomically(async (c) => {
      const { rows } = await unique(`the tenant name ${name}`, () =>
        c.query<TenantRow>('INSERT INTO tenants (name, settings, created_at) VALUES ($1, $2, $3) RETURNING *', [
          name,
          JSON.stringify(settings),
          new Date().toISOString(),
        ]),
      );
      const tenant = toTenant(rows[0]);
      await define(c, tenant.id, 'master', master);
      await c.query(BUMP);
      return tenant;
    });
  }

  async listTenants(): Promise<Tenant[]> {
    return (await this.pool.query<TenantRow>('SELECT * FROM tenants ORDER BY id')).rows.map(toTenant);
  }

  async getTenant(tenantId: number): Promise<Tenant | null> {
    const { rows } = await this.pool.query<TenantRow>('SELECT * FROM tenants WHERE id = $1', [tenantId]);
    return rows[0] ? toTenant(rows[0]) : null;
  }

  updateTenantSettings(tenantId: number, patch: Partial<TenantSettings>): Promise<Tenant> {
    return this.atomically(async (c) => {
      const tenant = await requireTenant(c, tenantId);
      const settings = { ...tenant.settings, ...patch };
      await c.query('UPDATE tenants SET settings = $1 WHERE id = $2', [JSON.stringify(settings), tenantId]);
      await c.query(BUMP);
      return { ...tenant, settings };
    });
  }

  setAllowList(tenantId: number, entries: string[]): Promise<Tenant> {
    return this.atomically(async (c) => {
      const tenant = await requireTenant(c, tenantId);
      await c.query('UPDATE tenants SET allow_list = $1 WHERE id = $2', [JSON.stringify(entries), tenantId]);
      await c.query(BUMP);
      return { ...tenant, allowList: entries };
    });
  }

  createProfileKey(tenantId: number, keyId: string, hash: string): Promise<ProfileKey> {
    return this.atomically(async (c) => {
      await requireTenant(c, tenantId);
      const { rows } = await c.query<KeyRow>('INSERT INTO profile_keys (key_id, tenant_id, hash, created_at) VALUES ($1, $2, $3, $4) RETURNING *', [
        keyId,
        tenantId,
        hash,
        new Date().toISOString(),
      ]);
      await c.query(BUMP);
      return toKey(rows[0]);
    });
  }

  async listProfileKeys(tenantId: number): Promise<ProfileKey[]> {
    return (await this.pool.query<KeyRow>('SELECT * FROM profile_keys WHERE tenant_id = $1 ORDER BY created_at, key_id', [tenantId])).rows.map(toKey);
  }

  revokeProfileKey(tenantId: number, keyId: string): Promise<boolean> {
    return this.atomically(async (c) => {
      const { rowCount } = await c.query('UPDATE profile_keys SET revoked_at = $1 WHERE tenant_id = $2 AND key_id = $3 AND revoked_at IS NULL', [
        new Date().toISOString(),
        tenantId,
        keyId,
      ]);
      if (rowCount) await c.query(BUMP);
      return Boolean(rowCount);
    });
  }

  createApp(tenantId: number, appid: string, channel: string, attributes: NewAttributeDefinition[]): Promise<App> {
    return this.atomically(async (c) => {
      await requireTenant(c, tenantId);
      const { rows } = await unique(`the appid ${appid}`, () =>
        c.query<AppRow>('INSERT INTO apps (appid, tenant_id, channel, created_at) VALUES ($1, $2, $3, $4) RETURNING *', [
          appid,
          tenantId,
          channel,
          new Date().toISOString(),
        ]),
      );
      const leftOver = await c.query('SELECT 1 FROM app_profiles WHERE tenant_id = $1 AND appid = $2 LIMIT 1', [tenantId, appid]);
      if (leftOver.rowCount) throw new ConflictError(`tenant ${tenantId} still holds app profiles of its deleted app ${appid}: erase them first`);
      await define(c, tenantId, appid, attributes);
      await c.query(BUMP);
      return toApp(rows[0]);
    });
  }

  async listApps(tenantId: number): Promise<App[]> {
    return (await this.pool.query<AppRow>('SELECT * FROM apps WHERE tenant_id = $1 ORDER BY created_at, appid', [tenantId])).rows.map(toApp);
  }

  defineAttributes(tenantId: number, scope: string, definitions: NewAttributeDefinition[]): Promise<AttributeDefinition[]> {
    return this.atomically(async (c) => {
      await requireTenant(c, tenantId);
      if (scope !== 'master' && !(await c.query('SELECT 1 FROM apps WHERE appid = $1 AND tenant_id = $2', [scope, tenantId])).rowCount) {
        throw new NotFoundError(`tenant ${tenantId} has no app ${scope}`);
      }
      if ((await define(c, tenantId, scope, definitions)) > 0) await c.query(BUMP);
      const { rows } = await c.query<AttributeRow>('SELECT * FROM attribute_definitions WHERE tenant_id = $1 AND scope = $2 AND name = ANY($3)', [
        tenantId,
        scope,
        definitions.map((d) => d.name),
      ]);
      const byName = new Map(rows.map((r) => [r.name, toAttribute(r)]));
      return definitions.map((d) => byName.get(d.name)!);
    });
  }

  removeTenant(tenantId: number): Promise<RowCounts> {
    return this.atomically(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [REMOVAL_LOCK]);
      // Locked first, so no key or app is added to it meanwhile; keys, definitions and apps refer to it.
      await c.query('SELECT id FROM tenants WHERE id = $1 FOR UPDATE', [tenantId]);
      const deleted = async (sql: string) => (await c.query(sql, [tenantId])).rowCount ?? 0;
      const removed = toRowCounts({
        profile_keys: await deleted('DELETE FROM profile_keys WHERE tenant_id = $1'),
        attribute_definitions: await deleted('DELETE FROM attribute_definitions WHERE tenant_id = $1'),
        apps: await deleted('DELETE FROM apps WHERE tenant_id = $1'),
      });
      if ((await deleted('DELETE FROM tenants WHERE id = $1')) > 0) await c.query(BUMP);
      return removed;
    });
  }

  removeApp(tenantId: number, appid: string): Promise<RowCounts> {
    return this.atomically(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [REMOVAL_LOCK]);
      await c.query('SELECT id FROM tenants WHERE id = $1 FOR UPDATE', [tenantId]);
      const definitions = await c.query('DELETE FROM attribute_definitions WHERE tenant_id = $1 AND scope = $2', [tenantId, appid]);
      const apps = await c.query('DELETE FROM apps WHERE tenant_id = $1 AND appid = $2', [tenantId, appid]);
      const removed = toRowCounts({ attribute_definitions: definitions.rowCount ?? 0, apps: apps.rowCount ?? 0 });
      if (removed.apps + removed.attributeDefinitions > 0) await c.query(BUMP);
      return removed;
    });
  }
}
