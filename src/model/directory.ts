/**
 * The nouns of OpenProfiles' directory: tenants, their keys, apps and attribute schema. The
 * glossary of the nouns is split over this folder's files, which import nothing of the project.
 *
 * - tenant: a customer of OpenProfiles (the vendor's "client"). Owns keys, apps, an attribute
 *   schema, an IP allow list and settings.
 * - profile key: the secret a tenant's client sends in the `key` header. Only its SHA-256 hash is
 *   stored. A key has a public id (`keyId`) used to revoke it.
 * - app: a channel asset of a tenant (`appid`), e.g. a Messenger page or an in-app SDK app.
 * - attribute definition: a named, typed attribute of the master schema (scope "master") or of one
 *   app (scope = appid). Its numeric id is the `ID` the read API shows.
 * - directory: the small, slowly changing data a server caches in memory (tenants, keys, apps,
 *   attribute definitions, allow lists); its `version` tells a server when to reload it.
 */

/** A stored attribute value: as the client sent it (strings in practice; numbers and booleans kept). */
export type AttributeValue = string | number | boolean;

/**
 * Attributes of one profile, by name. Names that could reach an object prototype (`__proto__`,
 * `constructor`, `prototype`) are refused on the way in, so stored JSON parses into plain objects.
 */
export type Attributes = Record<string, AttributeValue>;

export type ResponseFormat = 'legacy' | 'batch';

export interface TenantSettings {
  /** Shape of write acknowledgements and errors (contract §5). Default `legacy`. */
  responseFormat: ResponseFormat;
  /** Most records in one write request (1..1000). Default 100. */
  batchLimit: number;
  /** Requests per second (token bucket, burst equal to the rate). Default 1000. */
  rateLimit: number;
  /** Whether an update of a missing profile creates it. Default false. */
  upsertOnUpdate: boolean;
  /** Days to keep finished write transactions and their results. Default 7. */
  retentionDays: number;
}

export interface Tenant {
  id: number;
  name: string;
  settings: TenantSettings;
  /** IP allow list entries (IPv4, IPv6, CIDR). Empty means any address. */
  allowList: string[];
  createdAt: string;
}

export interface ProfileKey {
  /** Public id of the key, used to revoke it. Not secret. */
  keyId: string;
  tenantId: number;
  /** Hex SHA-256 of the key. The key itself is never stored. */
  hash: string;
  createdAt: string;
  revokedAt: string | null;
}

export interface App {
  appid: string;
  tenantId: number;
  /** `fb`, `twitter`, `wechat`, `rt`, or a generic channel name (whatsapp, line, …). */
  channel: string;
  createdAt: string;
}

export const ATTRIBUTE_TYPES = ['string', 'number', 'integer', 'boolean', 'flag', 'date', 'datetime', 'email', 'msisdn', 'url', 'enum'] as const;
export type AttributeType = (typeof ATTRIBUTE_TYPES)[number];

export interface NewAttributeDefinition {
  name: string;
  type: AttributeType;
  /** Longest accepted value, in characters (string-like types). */
  maxLength?: number;
  /** Accepted values of an `enum`. */
  values?: string[];
}

export interface AttributeDefinition extends NewAttributeDefinition {
  /** The `ID` the read API shows for this attribute. Unique within the store. */
  id: number;
  tenantId: number;
  /** `"master"`, or the appid the definition belongs to. */
  scope: string;
  /**
   * A master attribute profiles can be found by (`openprofiles attribute add … --indexed`): the store
   * keeps an index of its values. Absent when not. `email` and `msisdn` are always indexed
   * (`INDEXED_BY_DEFAULT`).
   */
  isIndexed?: boolean;
}

/** The master attributes every store indexes, for every tenant. */
export const INDEXED_BY_DEFAULT: readonly string[] = ['email', 'msisdn'];

/** What a server caches in memory; reloaded whenever the store's config version changes. */
export interface DirectorySnapshot {
  version: number;
  tenants: Tenant[];
  /** Active (not revoked) keys only. */
  keys: ProfileKey[];
  apps: App[];
  attributes: AttributeDefinition[];
}

/**
 * Rows by kind: what a tenant or an app holds, or what one step of an erase deleted. Kinds a step
 * does not touch are 0.
 */
export interface RowCounts {
  profileKeys: number;
  apps: number;
  attributeDefinitions: number;
  masterProfiles: number;
  appProfiles: number;
  /** Write transactions, queued and finished, with their records, results and idempotency keys. */
  writeTransactions: number;
  /** The change feed's events of the tenant. */
  changeEvents: number;
  /** Bulk imports (`imports`), their chunks (`import_chunks`) and the rows they refused (`import_rejects`, with the rows' text). */
  imports: number;
  importChunks: number;
  importRejects: number;
  /** Webhook endpoints (with their URLs and secrets), the deliveries they hold (with the events' bodies) and their attempts' log. */
  webhookEndpoints: number;
  webhookDeliveries: number;
  webhookAttempts: number;
}
