import type { App, AttributeDefinition, DirectorySnapshot, ProfileKey, Tenant } from '../model/directory.js';
import type { Directory } from '../storage/ports.js';
import { AllowList } from './allow-list.js';
import { hashProfileKey, isSameHash } from './keys.js';

/** Everything a request needs to know about its tenant, resolved from the cached directory. */
export interface TenantContext {
  tenant: Tenant;
  allowList: AllowList;
  /** The master schema by attribute name. */
  master: ReadonlyMap<string, AttributeDefinition>;
}

/**
 * The in-memory copy of the directory (tenants, keys, apps, attribute definitions). Reloaded
 * whenever the store's config version moves, so CLI changes reach a running server quickly.
 */
export class DirectoryCache {
  private version = -1;
  private tenants = new Map<number, TenantContext>();
  private keysByHash = new Map<string, ProfileKey>();
  private apps = new Map<string, App>();
  /** Attribute definitions by `${tenantId}/${scope}`, then by name. */
  private definitions = new Map<string, Map<string, AttributeDefinition>>();
  private timer: NodeJS.Timeout | null = null;
  private reloading: Promise<void> | null = null;

  constructor(private readonly store: Directory) {}

  /** Loads the directory now. */
  async reload(): Promise<void> {
    this.install(await this.store.load());
  }

  /** Reloads when the store's config version moved; concurrent calls share one reload. */
  refreshIfChanged(): Promise<void> {
    this.reloading ??= (async () => {
      try {
        if ((await this.store.configVersion()) !== this.version) await this.reload();
      } finally {
        this.reloading = null;
      }
    })();
    return this.reloading;
  }

  /** Polls for changes every `intervalMs`; `onError` hears failures (the store may be down for a while). */
  startPolling(intervalMs: number, onError: (err: unknown) => void): void {
    this.timer = setInterval(() => this.refreshIfChanged().catch(onError), intervalMs);
    this.timer.unref();
  }

  stopPolling(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private install(directory: DirectorySnapshot): void {
    // Loads may finish out of order (a poll and an explicit reload): never go back in time.
    if (directory.version < this.version) return;
    const definitions = new Map<string, Map<string, AttributeDefinition>>();
    for (const def of directory.attributes) {
      const scopeKey = `${def.tenantId}/${def.scope}`;
      let byName = definitions.get(scopeKey);
      if (!byName) definitions.set(scopeKey, (byName = new Map()));
      byName.set(def.name, def);
    }
    const tenants = new Map<number, TenantContext>();
    for (const tenant of directory.tenants) {
      tenants.set(tenant.id, {
        tenant,
        allowList: new AllowList(tenant.allowList),
        master: definitions.get(`${tenant.id}/master`) ?? new Map(),
      });
    }
    this.definitions = definitions;
    this.tenants = tenants;
    this.keysByHash = new Map(directory.keys.map((key) => [key.hash, key]));
    this.apps = new Map(directory.apps.map((app) => [app.appid, app]));
    this.version = directory.version;
  }

  /** The tenant whose active key this is, or null. */
  authenticate(key: string): TenantContext | null {
    const hash = hashProfileKey(key);
    const found = this.keysByHash.get(hash);
    // The map finds a candidate by hash; the final comparison does not leak timing.
    if (!found || !isSameHash(found.hash, hash)) return null;
    return this.tenants.get(found.tenantId) ?? null;
  }

  /** The tenant with that id, or null. */
  tenant(tenantId: number): TenantContext | null {
    return this.tenants.get(tenantId) ?? null;
  }

  /** The tenant's app with that appid, or null (unknown, or another tenant's). */
  app(tenantId: number, appid: string): App | null {
    const app = this.apps.get(appid);
    return app && app.tenantId === tenantId ? app : null;
  }

  /** Attribute definitions of a scope ("master" or an appid). */
  scope(tenantId: number, scope: string): ReadonlyMap<string, AttributeDefinition> {
    return this.definitions.get(`${tenantId}/${scope}`) ?? new Map();
  }

  /** Defines, as strings, the names an app has not seen yet; updates this cache at once. */
  async defineAppAttributes(tenantId: number, appid: string, names: string[]): Promise<void> {
    const created = await this.store.defineAttributes(
      tenantId,
      appid,
      names.map((name) => ({ name, type: 'string' })),
    );
    const scopeKey = `${tenantId}/${appid}`;
    const byName = new Map(this.definitions.get(scopeKey));
    for (const def of created) byName.set(def.name, def);
    this.definitions.set(scopeKey, byName);
  }
}
