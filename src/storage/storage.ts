/**
 * The storage contract: everything OpenProfiles keeps, behind one interface that every backend
 * (SQLite now, PostgreSQL next) implements. No driver types appear here.
 *
 * Glossary
 * - tenant: a customer of OpenProfiles (the vendor's "client"). Owns keys, apps, an attribute
 *   schema, an IP allow list and settings. Every per-tenant method takes the tenant id first, so a
 *   query that crosses tenants cannot be written by accident.
 * - profile key: the secret a tenant's client sends in the `key` header. Only its SHA-256 hash is
 *   stored. A key has a public id (`keyId`) used to revoke it.
 * - app: a channel asset of a tenant (`appid`), e.g. a Messenger page or an in-app SDK app.
 * - master profile: one per (tenant, customerId); attributes follow the tenant's master schema.
 * - app profile: one per (tenant, appid, customerId, deviceId). `deviceId` is "" except on `rt`
 *   (in-app / push) apps, which keep one app profile per device.
 * - attribute definition: a named, typed attribute of the master schema (scope "master") or of one
 *   app (scope = appid). Its numeric id is the `ID` the read API shows.
 * - write transaction: one accepted write request (a batch of records), queued durably and later
 *   applied by a worker. Named on the wire by its `transid`. Its `seq` is the acceptance order.
 * - database transaction: a unit of atomicity of the store (see `applyNext`). Never
 *   called a bare "transaction".
 * - claim: a worker's lease on queued write transactions, where several workers apply one store
 *   (PostgreSQL); an expired claim is taken back. Where one worker applies the store (SQLite),
 *   nothing is claimed: the next batch is the oldest not yet applied.
 * - directory: the small, slowly changing data a server caches in memory (tenants, keys, apps,
 *   attribute definitions, allow lists); `configVersion` tells a server when to reload it.
 * - erase: deleting a tenant or an app for good, in two steps, so that no database transaction
 *   holds the store for long:
 *   1. `removeTenant` / `removeApp` delete the directory entries in one database transaction and
 *      bump `configVersion`: servers stop accepting the tenant's keys (or the appid) at their next
 *      directory reload, and from the commit on nothing new is stored for them (a write that was
 *      queued or accepted meanwhile is dropped when its tenant was removed, and finishes with
 *      per-record `7018` when its app was: see `applyNext`).
 *   2. `eraseTenantRows` / `eraseAppRows` delete the data, at most `limit` rows per database
 *      transaction, until they return all zeros.
 *   Data is found by tenant id (and appid), not through the directory, so an erase interrupted
 *   after step 1 is finished by running both steps again (step 1 then removes nothing). A removed
 *   tenant's id is never given to a new tenant, and an appid whose app profiles are not all erased
 *   cannot be created again by the same tenant, so left-over rows never reach a new owner. Write
 *   transactions of a removed app are kept (they finish with `7018` and are purged with the
 *   tenant's retention); if the tenant creates the appid again before they are applied, they
 *   apply to the new app.
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

export const ATTRIBUTE_TYPES = [
  'string',
  'number',
  'integer',
  'boolean',
  'flag',
  'date',
  'datetime',
  'email',
  'msisdn',
  'url',
  'enum',
] as const;
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
}

/** What a server caches in memory; reloaded whenever `configVersion()` changes. */
export interface Directory {
  version: number;
  tenants: Tenant[];
  /** Active (not revoked) keys only. */
  keys: ProfileKey[];
  apps: App[];
  attributes: AttributeDefinition[];
}

// ------------------------------------------------------------------------------------------------
// Write transactions

export const WRITE_OPERATIONS = [
  'createProfile',
  'updateProfile',
  'deleteProfile',
  'createAppProfile',
  'updateAppProfile',
  'deleteAppProfile',
  'deleteDevice',
] as const;
export type WriteOperation = (typeof WRITE_OPERATIONS)[number];

/**
 * One record of a write transaction. Creates and updates carry `customerId` and `attributes`
 * (a `null` value removes that attribute); app-profile deletes may name the profile by `userId`
 * instead of `customerId`; device deletes name a `deviceId`.
 */
export interface WriteRecord {
  customerId?: string;
  userId?: string;
  deviceId?: string;
  attributes?: Record<string, AttributeValue | null>;
}

/** A write transaction, apart from its records. */
export interface WriteTransactionHeader {
  /** UUID v4, the wire `transid`. */
  transid: string;
  tenantId: number;
  operation: WriteOperation;
  /** The app of app-profile operations; null for master-profile operations. */
  appid: string | null;
  /** Update creates a missing profile (the tenant's upsertOnUpdate at acceptance). */
  isUpsert: boolean;
  /** deleteProfile also erases every app profile of the customer (`?cascade=1`). */
  isCascade: boolean;
  /** The client's `Idempotency-Key`, if any, and a hash of the request it came with. */
  idempotencyKey: string | null;
  requestHash: string | null;
  /** Acceptance time, ms since the epoch. */
  acceptedAt: number;
}

/**
 * A write transaction to queue. Its records come as JSON text: the queue stores the text as it is,
 * and on the embedded store the text, not the records, crosses to the writer thread (a string is
 * copied; a structured clone of the records is rebuilt object by object, on the thread that
 * bounds the store's throughput).
 */
export interface NewWriteTransaction extends WriteTransactionHeader {
  /** The records as JSON text (`recordsOfStored`): a `WriteRecord[]`, or a validated body as it came (`storedBody`). */
  recordsJson: string;
  /** How many records `recordsJson` holds. */
  recordCount: number;
}

export type EnqueueResult =
  | { outcome: 'accepted'; transid: string }
  /** The same idempotency key and request within the window: the original write transaction. */
  | { outcome: 'replayed'; transid: string }
  /** The same idempotency key with another request within the window. */
  | { outcome: 'conflict'; transid: string };

export interface ClaimedWriteTransaction extends WriteTransactionHeader {
  /** Acceptance order across the whole store. */
  seq: number;
  records: WriteRecord[];
}

/**
 * Per-record outcome codes of an applied write transaction (contract §3.4); `7018` when the app
 * was deleted after the write was accepted.
 */
export type RecordResultCode = '1000' | '7011' | '7014' | '7015' | '7018' | '7203';

export interface RecordResult {
  customerId: string;
  code: RecordResultCode;
  /** Why a record failed, when there is more to say than the code. */
  reason?: string;
  userId?: string;
  deviceId?: string;
}

export type WriteTransactionState = 'queued' | 'processing' | 'done';

export interface WriteTransactionStatus {
  transid: string;
  state: WriteTransactionState;
  totalCount: number;
  /** Present once `state` is `done`, in record order. */
  results: RecordResult[] | null;
  acceptedAt: number;
  finishedAt: number | null;
}

export interface QueueStats {
  /** Write transactions not yet applied (queued or claimed). */
  depth: number;
  /** Records in those write transactions. */
  depthRecords: number;
  /** Acceptance time (ms) of the oldest one, or null when the queue is empty. */
  oldestAcceptedAt: number | null;
  /** Records not yet applied, per tenant that has any. */
  recordsByTenant: Map<number, number>;
}

// ------------------------------------------------------------------------------------------------
// Profiles as stored

export interface MasterProfileRow {
  tenantId: number;
  customerId: string;
  attributes: Attributes;
  createdAt: number;
  updatedAt: number;
}

export interface AppProfileRow {
  tenantId: number;
  appid: string;
  customerId: string;
  /** "" on apps that keep one profile per customer. */
  deviceId: string;
  /** The `userId` attribute, indexed for `identifier` lookups; null when absent. */
  userId: string | null;
  attributes: Attributes;
  createdAt: number;
  updatedAt: number;
}

/** The profile rows a batch of write transactions reads, named before the database transaction. */
export interface ProfileKeys {
  /** Master profiles by (tenant, customerId). */
  masters: Array<{ tenantId: number; customerId: string }>;
  /** Every app profile (all devices) of (tenant, appid, customerId). */
  appCustomers: Array<{ tenantId: number; appid: string; customerId: string }>;
  /** Every app profile of (tenant, appid) whose userId matches. */
  appUsers: Array<{ tenantId: number; appid: string; userId: string }>;
  /** Every app profile of the customer in any app of the tenant (cascading deletes). */
  customerApps: Array<{ tenantId: number; customerId: string }>;
  /** The apps the batch writes to, each once: whether each is still in the directory. */
  appids: Array<{ tenantId: number; appid: string }>;
}

export interface ProfileSnapshot {
  masters: MasterProfileRow[];
  apps: AppProfileRow[];
  /**
   * Those of `ProfileKeys.appids` the directory holds. An app missing here was deleted after its
   * writes were accepted; no app can be removed while the database transaction that read this runs.
   */
  appids: Array<{ tenantId: number; appid: string }>;
}

/**
 * The final state of every profile a batch touched: a row to store, or a deletion. Each key
 * appears at most once, so the adapter needs no ordering among them.
 */
export interface ProfileChanges {
  masterUpserts: MasterProfileRow[];
  masterDeletes: Array<{ tenantId: number; customerId: string }>;
  appUpserts: AppProfileRow[];
  appDeletes: Array<{ tenantId: number; appid: string; customerId: string; deviceId: string }>;
}

/** The domain's pure function that turns loaded rows and write transactions into changes and results. */
export type ApplyReducer = (
  batch: readonly ClaimedWriteTransaction[],
  snapshot: ProfileSnapshot,
  now: number,
) => { changes: ProfileChanges; results: Map<string, RecordResult[]> };

/** The domain's pure function naming what a batch reads. */
export type KeysOf = (batch: readonly ClaimedWriteTransaction[]) => ProfileKeys;

/**
 * What a write transaction may touch, for stores where several workers claim at once. Two write
 * transactions conflict when the exclusive keys of one meet any key of the other; conflicting ones
 * are applied in acceptance order, others may be applied in parallel.
 */
export interface ConflictKeys {
  exclusive: string[];
  shared: string[];
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
}

export interface MigrationReport {
  /** Numbers of the migrations this call applied, in order. */
  applied: number[];
  /** The schema version afterwards. */
  version: number;
}

// ------------------------------------------------------------------------------------------------
// The contract

export interface StorageCapabilities {
  /** Several workers, in any processes, may apply at once (claims with leases, conflict keys). */
  readonly hasConcurrentClaims: boolean;
  /** The store can wake idle workers on new work (e.g. LISTEN/NOTIFY) instead of polling. */
  readonly canNotifyWorkers: boolean;
  /** The engine runs inside this process; its calls block the event loop while they run. */
  readonly isEmbedded: boolean;
}

export interface Storage {
  readonly capabilities: StorageCapabilities;

  /** Applies pending numbered migrations. Safe to call from several processes at once. */
  migrate(): Promise<MigrationReport>;
  /** Waits for nothing: callers stop their work first. Closes every connection. */
  close(): Promise<void>;

  // -- directory (tenants, keys, apps, attribute schema, allow lists) ----------------------------

  /** A number that grows whenever the directory changes (from any process). */
  configVersion(): Promise<number>;
  loadDirectory(): Promise<Directory>;

  /**
   * Creates a tenant with the given master attribute definitions. Throws `ConflictError` when the
   * name is taken.
   */
  createTenant(name: string, settings: TenantSettings, masterAttributes: NewAttributeDefinition[]): Promise<Tenant>;
  listTenants(): Promise<Tenant[]>;
  /** Null when there is no such tenant. */
  getTenant(tenantId: number): Promise<Tenant | null>;
  /** Throws `NotFoundError` when there is no such tenant. */
  updateTenantSettings(tenantId: number, patch: Partial<TenantSettings>): Promise<Tenant>;
  /** Replaces the allow list. Throws `NotFoundError` when there is no such tenant. */
  setAllowList(tenantId: number, entries: string[]): Promise<Tenant>;

  /** Stores a key's hash. Throws `NotFoundError` when there is no such tenant. */
  createProfileKey(tenantId: number, keyId: string, hash: string): Promise<ProfileKey>;
  /** Every key of the tenant, revoked ones included. */
  listProfileKeys(tenantId: number): Promise<ProfileKey[]>;
  /** False when the tenant has no such active key. */
  revokeProfileKey(tenantId: number, keyId: string): Promise<boolean>;

  /**
   * Creates an app with its channel's known attribute definitions. Throws `ConflictError` when the
   * appid is taken (by any tenant) or the tenant still holds app profiles of an app it deleted with
   * that appid (an interrupted erase), and `NotFoundError` when there is no such tenant.
   */
  createApp(tenantId: number, appid: string, channel: string, attributes: NewAttributeDefinition[]): Promise<App>;
  listApps(tenantId: number): Promise<App[]>;

  /**
   * Adds attribute definitions to a scope ("master" or an appid); names already defined there are
   * left as they are. Returns every definition of those names. Throws `NotFoundError` when there
   * is no such tenant, or the scope is an appid the tenant has no app of.
   */
  defineAttributes(tenantId: number, scope: string, definitions: NewAttributeDefinition[]): Promise<AttributeDefinition[]>;

  // -- erasing a tenant or an app (see "erase" in the glossary) -----------------------------------

  /** Everything the tenant holds, counted by tenant id: rows of a removed tenant not yet erased count too. */
  countTenantRows(tenantId: number): Promise<RowCounts>;
  /** What erasing the app deletes: the app (1 or 0), its attribute definitions and its app profiles (all devices). */
  countAppRows(tenantId: number, appid: string): Promise<RowCounts>;
  /**
   * Step 1 of erasing a tenant: in one database transaction, deletes its profile keys, apps,
   * attribute definitions and the tenant itself, and bumps `configVersion` if there was anything.
   * Returns what it deleted (all zeros when the tenant was already removed).
   */
  removeTenant(tenantId: number): Promise<RowCounts>;
  /**
   * Step 2 of erasing a tenant: deletes up to `limit` of its remaining rows (write transactions,
   * then app profiles, then master profiles) in one database transaction. All zeros: nothing is left.
   */
  eraseTenantRows(tenantId: number, limit: number): Promise<RowCounts>;
  /**
   * Step 1 of erasing an app: in one database transaction, deletes the tenant's app and its
   * attribute definitions, and bumps `configVersion` if there was anything. An appid of another
   * tenant is left alone. `appid` is never "master", the scope of the master schema (callers refuse it).
   */
  removeApp(tenantId: number, appid: string): Promise<RowCounts>;
  /** Step 2 of erasing an app: deletes up to `limit` of its app profiles in one database transaction. */
  eraseAppRows(tenantId: number, appid: string, limit: number): Promise<RowCounts>;

  // -- write transactions -------------------------------------------------------------------------

  /**
   * Stores write transactions durably (fsync'd) in one database transaction, in the given order,
   * which becomes their acceptance order. Callers group concurrent requests into one call: this is
   * the group commit. Each item is looked up by its idempotency key first (see EnqueueResult).
   * Throws `StorageUnavailableError` when the store cannot take the write.
   */
  enqueue(batch: NewWriteTransaction[], idempotencyWindowMs: number): Promise<EnqueueResult[]>;

  /**
   * Applies the next batch: up to `limit` of the oldest write transactions not yet applied, in
   * acceptance order. Reads the rows `keysOf(batch)` names, runs `reduce`, and stores its changes
   * with every record result, the batch marked done, in one database transaction. Returns the
   * batch (empty when nothing waits). Where several workers apply at once (`hasConcurrentClaims`),
   * the batch is claimed first for `leaseMs`, and leaves out any that must wait for conflicting
   * earlier work in flight (see `ConflictKeys`); a batch whose claim another worker took over is
   * not applied. A write transaction whose tenant is no longer in the directory (it is being
   * erased) is dropped instead of applied, and returned with the batch. If `reduce` throws,
   * nothing is stored and the same write transactions come first again.
   */
  applyNext(workerId: string, limit: number, leaseMs: number, keysOf: KeysOf, reduce: ApplyReducer): Promise<ClaimedWriteTransaction[]>;

  /** Null when the tenant has no write transaction with that transid (or it was purged). */
  getWriteTransactionStatus(tenantId: number, transid: string): Promise<WriteTransactionStatus | null>;

  queueStats(): Promise<QueueStats>;

  /** Deletes up to `limit` finished write transactions of the tenant finished before `before` (ms). */
  purgeWriteTransactions(tenantId: number, before: number, limit: number): Promise<number>;

  /**
   * Makes the space of purged and superseded queue rows reusable, where the engine needs telling
   * (PostgreSQL: VACUUM, whether or not autovacuum runs). Called after each retention sweep.
   */
  reclaimQueueSpace?(): Promise<void>;

  /**
   * Calls `onWork` whenever write transactions are enqueued, from any process; present when
   * `capabilities.canNotifyWorkers`. Resolves to a function that stops listening.
   */
  watchForWork?(onWork: () => void): Promise<() => Promise<void>>;

  // -- profile reads ------------------------------------------------------------------------------

  getMasterProfiles(tenantId: number, customerIds: string[]): Promise<MasterProfileRow[]>;
  /** Every app profile (all devices) of those customers in that app. */
  getAppProfiles(tenantId: number, appid: string, customerIds: string[]): Promise<AppProfileRow[]>;
  findAppProfilesByUserId(tenantId: number, appid: string, userId: string): Promise<AppProfileRow[]>;
  /** Every app profile of those customers in any app of the tenant (InwardLinks). */
  getAppProfilesOfCustomers(tenantId: number, customerIds: string[]): Promise<AppProfileRow[]>;
}

// ------------------------------------------------------------------------------------------------
// Errors every adapter translates its driver's errors into

export class StorageError extends Error {
  override name = 'StorageError';
}

/** A uniqueness rule was broken (a tenant name or appid taken). */
export class ConflictError extends StorageError {
  override name = 'ConflictError';
}

/** The tenant (or other named parent) does not exist. */
export class NotFoundError extends StorageError {
  override name = 'NotFoundError';
}

/**
 * The store cannot take the operation now: disk full, busy past the timeout, connection lost.
 * Retrying later can help.
 */
export class StorageUnavailableError extends StorageError {
  override name = 'StorageUnavailableError';
}

/**
 * The store refused this process: its role or password, or its database does not exist. Retrying
 * cannot help until the configuration changes.
 */
export class StoreAccessError extends StorageError {
  override name = 'StoreAccessError';
}

/**
 * Another live process applies this store's queue (SQLite: one worker per store). Not a fault: a
 * worker that meets it stands by, and takes over when that process stops.
 */
export class WorkerLockedError extends StorageUnavailableError {
  override name = 'WorkerLockedError';
}
