import type { App, AttributeDefinition, Attributes, AttributeValue } from '../model/directory.js';
import type { AppProfileRow, MasterProfileRow } from '../model/profile.js';
import type { Profiles } from '../storage/ports.js';
import type { DirectoryCache, TenantContext } from './directory.js';

/** One attribute on the wire: `ID` names its definition, the same for every customer (contract §4). */
export interface AttributeEntry {
  Name: string;
  Value: AttributeValue;
  ID: number;
}

export interface InwardLink {
  AppID: string;
  Channel: string;
  Records: AttributeEntry[][];
}

export interface OutwardLink {
  ProfileID: number;
  ProfileName: string;
  Records: AttributeEntry[][];
}

export interface ProfileRecord {
  Attributes: AttributeEntry[];
  InwardLinks: InwardLink[];
  OutwardLinks: OutwardLink[];
}

/** `showinwardlinks`: 0 master only, 1 linked app profiles' key attributes, 2 all their attributes. */
export type InwardLinkLevel = 0 | 1 | 2;

/** The app-profile attributes `showinwardlinks=1` shows. */
const KEY_APP_ATTRIBUTES = new Set(['customerId', 'deviceId', 'userId', 'status']);

/** Reads profiles for a tenant and shapes them as the vendor's read API does. */
export class ProfileReader {
  constructor(
    private readonly profiles: Profiles,
    private readonly directory: DirectoryCache,
  ) {}

  /** Master profiles in the order asked for (each id once), and the ids not found. */
  async readMasters(ctx: TenantContext, customerIds: string[], level: InwardLinkLevel): Promise<{ records: ProfileRecord[]; notFound: string[] }> {
    const tenantId = ctx.tenant.id;
    const unique = [...new Set(customerIds)];
    const rows = await this.profiles.getMasterProfiles(tenantId, unique);
    const byId = new Map(rows.map((row) => [row.customerId, row]));
    const links = level === 0 ? [] : await this.profiles.getAppProfilesOfCustomers(tenantId, rows.map((r) => r.customerId));
    const records: ProfileRecord[] = [];
    const notFound: string[] = [];
    for (const id of unique) {
      const row = byId.get(id);
      if (!row) {
        notFound.push(id);
        continue;
      }
      records.push({
        Attributes: this.masterEntries(ctx, row),
        InwardLinks: this.inwardLinks(ctx, links.filter((l) => l.customerId === id), level),
        OutwardLinks: [],
      });
    }
    return { records, notFound };
  }

  /** App profiles of those customers (one record per device on rt apps), and the ids not found. */
  async readAppsByCustomer(ctx: TenantContext, app: App, customerIds: string[]): Promise<{ records: ProfileRecord[]; notFound: string[] }> {
    const unique = [...new Set(customerIds)];
    const rows = await this.profiles.getAppProfiles(ctx.tenant.id, app.appid, unique);
    const found = new Set(rows.map((r) => r.customerId));
    const ordered = unique.flatMap((id) => rows.filter((r) => r.customerId === id));
    return { records: await this.appRecords(ctx, app, ordered), notFound: unique.filter((id) => !found.has(id)) };
  }

  /** App profiles whose `userId` attribute is `userId`. */
  async readAppsByUserId(ctx: TenantContext, app: App, userId: string): Promise<ProfileRecord[]> {
    return this.appRecords(ctx, app, await this.profiles.findAppProfilesByUserId(ctx.tenant.id, app.appid, userId));
  }

  private async appRecords(ctx: TenantContext, app: App, rows: AppProfileRow[]): Promise<ProfileRecord[]> {
    const customerIds = [...new Set(rows.map((r) => r.customerId))];
    const masters = customerIds.length ? await this.profiles.getMasterProfiles(ctx.tenant.id, customerIds) : [];
    const masterById = new Map(masters.map((m) => [m.customerId, m]));
    const defs = this.directory.scope(ctx.tenant.id, app.appid);
    return rows.map((row) => {
      const master = masterById.get(row.customerId);
      return {
        Attributes: this.entries(ctx, defs, row.customerId, row.attributes),
        InwardLinks: [],
        OutwardLinks: master
          ? [{ ProfileID: ctx.tenant.id, ProfileName: `${ctx.tenant.name}_cpms_1`, Records: [this.masterEntries(ctx, master)] }]
          : [],
      };
    });
  }

  private masterEntries(ctx: TenantContext, row: MasterProfileRow): AttributeEntry[] {
    return this.entries(ctx, ctx.master, row.customerId, row.attributes);
  }

  private inwardLinks(ctx: TenantContext, rows: AppProfileRow[], level: InwardLinkLevel): InwardLink[] {
    if (level === 0) return [];
    const links = new Map<string, InwardLink>();
    for (const row of rows) {
      const app = this.directory.app(ctx.tenant.id, row.appid);
      if (!app) continue;
      let link = links.get(row.appid);
      if (!link) links.set(row.appid, (link = { AppID: app.appid, Channel: app.channel, Records: [] }));
      const defs = this.directory.scope(ctx.tenant.id, app.appid);
      const entries = this.entries(ctx, defs, row.customerId, row.attributes);
      link.Records.push(level === 1 ? entries.filter((e) => KEY_APP_ATTRIBUTES.has(e.Name)) : entries);
    }
    return [...links.values()];
  }

  /** `customerId` first, as the vendor shows it, then every stored attribute. */
  private entries(ctx: TenantContext, defs: ReadonlyMap<string, AttributeDefinition>, customerId: string, attributes: Attributes): AttributeEntry[] {
    const out: AttributeEntry[] = [{ Name: 'customerId', Value: customerId, ID: ctx.master.get('customerId')?.id ?? 0 }];
    for (const [name, value] of Object.entries(attributes)) {
      if (name === 'customerId') continue;
      out.push({ Name: name, Value: value, ID: this.idOf(defs, name) });
    }
    return out;
  }

  private idOf(defs: ReadonlyMap<string, AttributeDefinition>, name: string): number {
    const def = defs.get(name);
    if (def) return def.id;
    // Defined by another node moments ago: the next directory reload brings it.
    void this.directory.refreshIfChanged().catch(() => undefined);
    return 0;
  }
}
