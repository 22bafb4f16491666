import { randomBytes } from 'node:crypto';
import type { App, AttributeDefinition, NewAttributeDefinition, Tenant, TenantSettings } from '../model/directory.js';
import type { Store } from '../storage/ports.js';
import { allowListEntryProblem } from './allow-list.js';
import { attributeNameProblem, isAttributeType } from './attributes.js';
import { CHANNELS, channelAttributes, defaultMasterAttributes, isKnownChannel } from './channels.js';
import { issueProfileKey } from './keys.js';
import { DEFAULT_TENANT_SETTINGS, settingsProblem } from './tenant-settings.js';

/** A refused administrative change (bad name, bad setting). The CLI prints its message. */
export class AdminError extends Error {
  override name = 'AdminError';
}

const APPID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const TENANT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Tenants, keys, apps, attributes and allow lists: what operators change with the CLI. */
export class TenantAdmin {
  constructor(private readonly store: Pick<Store, 'directory' | 'keys'>) {}

  /** Creates a tenant with the default master schema and one profile key; the key is shown only here. */
  async createTenant(name: string, settings: Partial<TenantSettings> = {}): Promise<{ tenant: Tenant; keyId: string; key: string }> {
    if (!TENANT_NAME.test(name)) throw new AdminError('tenant names hold 1 to 64 letters, digits, "_", "." or "-", starting with a letter or digit');
    const merged = { ...DEFAULT_TENANT_SETTINGS, ...settings };
    const problem = settingsProblem(merged);
    if (problem) throw new AdminError(problem);
    const tenant = await this.store.directory.createTenant(name, merged, defaultMasterAttributes());
    const { keyId, key } = await this.createKey(tenant.id);
    return { tenant, keyId, key };
  }

  async updateSettings(tenantId: number, patch: Partial<TenantSettings>): Promise<Tenant> {
    const problem = settingsProblem(patch);
    if (problem) throw new AdminError(problem);
    return this.store.directory.updateTenantSettings(tenantId, patch);
  }

  /** A new profile key (192 random bits); only its hash is stored. */
  async createKey(tenantId: number): Promise<{ keyId: string; key: string }> {
    const issued = issueProfileKey();
    await this.store.keys.createProfileKey(tenantId, issued.keyId, issued.hash);
    return { keyId: issued.keyId, key: issued.key };
  }

  async createApp(tenantId: number, channel: string, appid?: string): Promise<App> {
    if (!isKnownChannel(channel)) throw new AdminError(`unknown channel ${JSON.stringify(channel)}; the known channels are ${CHANNELS.join(', ')}`);
    const id = appid ?? `${channel}-${randomBytes(5).toString('hex')}`;
    if (!APPID.test(id)) throw new AdminError('appids hold 1 to 64 letters, digits, "_", "." or "-", starting with a letter or digit');
    // Attribute definitions are scoped by appid, and "master" is the scope of the master schema.
    if (id === 'master') throw new AdminError('"master" names the master profile schema; choose another appid');
    return this.store.directory.createApp(tenantId, id, channel, channelAttributes(channel));
  }

  /** Adds a typed attribute to the tenant's master schema. */
  async addAttribute(tenantId: number, definition: NewAttributeDefinition): Promise<AttributeDefinition> {
    const nameProblem = attributeNameProblem(definition.name);
    if (nameProblem) throw new AdminError(nameProblem);
    if (!isAttributeType(definition.type)) throw new AdminError(`unknown type ${JSON.stringify(definition.type)}`);
    if (definition.type === 'enum' && !definition.values?.length) throw new AdminError('an enum attribute needs --values');
    const [def] = await this.store.directory.defineAttributes(tenantId, 'master', [definition]);
    if (def.type !== definition.type) throw new AdminError(`attribute ${def.name} is already defined with type ${def.type}`);
    return def;
  }

  async setAllowList(tenantId: number, entries: string[]): Promise<Tenant> {
    const problems = entries.map(allowListEntryProblem).filter((p): p is string => p !== null);
    if (problems.length) throw new AdminError(problems.join('; '));
    return this.store.directory.setAllowList(tenantId, entries.map((e) => e.trim()));
  }
}
