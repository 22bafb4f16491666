/**
 * The storage ports: the roles a store plays, each a small interface, and the errors every adapter
 * translates its driver's errors into. An adapter (`sqlite/`, `postgres/`) is a factory of role
 * objects (`Store`); callers take the role they need. No driver types appear here.
 *
 * Every per-tenant method takes the tenant id first, so a query that crosses tenants cannot be
 * written by accident.
 *
 * Erasing a tenant or an app happens in two steps, so that no database transaction holds the
 * store for long:
 *   1. `Directory.removeTenant` / `removeApp` delete the directory entries in one database
 *      transaction and bump `configVersion`: servers stop accepting the tenant's keys (or the
 *      appid) at their next directory reload, and from the commit on nothing new is stored for
 *      them (a write that was queued or accepted meanwhile is dropped when its tenant was removed,
 *      and finishes with per-record `7018` when its app was: see `Applier.applyNext`).
 *   2. `Erasure.eraseTenantRows` / `eraseAppRows` delete the data, at most `limit` rows per
 *      database transaction, until they return all zeros.
 * Data is found by tenant id (and appid), not through the directory, so an erase interrupted
 * after step 1 is finished by running both steps again (step 1 then removes nothing). A removed
 * tenant's id is never given to a new tenant, and an appid whose app profiles are not all erased
 * cannot be created again by the same tenant, so left-over rows never reach a new owner. Write
 * transactions of a removed app are kept (they finish with `7018` and are purged with the
 * tenant's retention); if the tenant creates the appid again before they are applied, they apply
 * to the new app.
 */
import type { ChangeEventType, StoredChangeEvent } from '../model/change-event.js';
import type { App, AttributeDefinition, DirectorySnapshot, NewAttributeDefinition, ProfileKey, RowCounts, Tenant, TenantSettings } from '../model/directory.js';
import type { AppProfileRow, ApplyReducer, ConflictKeys, KeysOf, MasterProfileRow, Schedulable, StoredMasterProfile } from '../model/profile.js';
import type { Import, ImportChunk, ImportReject, ImportState, NewImport } from '../model/import.js';
import type { ClaimedWriteTransaction, EnqueueResult, NewWriteTransaction, QueueStats, WriteRecord, WriteTransactionHeader, WriteTransactionStatus } from '../model/write-transaction.js';
import type { DeliveryAttempt, DeliveryResult, EndpointVerdict, LeasedEndpoint, NewWebhookEndpoint, PendingDelivery, WebhookEndpoint } from '../model/webhook.js';

/** Tenants, apps, attribute schema and allow lists: what servers cache (`load`). Every change bumps `configVersion`. */
export interface Directory {
  /** A number that grows whenever the directory changes (from any process). */
  configVersion(): Promise<number>;
  load(): Promise<DirectorySnapshot>;
  /** Creates a tenant with the given master attribute definitions. Throws `ConflictError` when the name is taken. */
  createTenant(name: string, settings: TenantSettings, masterAttributes: NewAttributeDefinition[]): Promise<Tenant>;
  listTenants(): Promise<Tenant[]>;
  /** Null when there is no such tenant. */
  getTenant(tenantId: number): Promise<Tenant | null>;
  /** Throws `NotFoundError` when there is no such tenant. */
  updateTenantSettings(tenantId: number, patch: Partial<TenantSettings>): Promise<Tenant>;
  /** Replaces the allow list. Throws `NotFoundError` when there is no such tenant. */
  setAllowList(tenantId: number, entries: string[]): Promise<Tenant>;
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
  /**
   * Step 1 of erasing a tenant: in one database transaction, deletes its profile keys, apps,
   * attribute definitions and the tenant itself, and bumps `configVersion` if there was anything.
   * Returns what it deleted (all zeros when the tenant was already removed).
   */
  removeTenant(tenantId: number): Promise<RowCounts>;
  /**
   * Step 1 of erasing an app: in one database transaction, deletes the tenant's app and its
   * attribute definitions, and bumps `configVersion` if there was anything. An appid of another
   * tenant is left alone. `appid` is never "master", the scope of the master schema (callers refuse it).
   */
  removeApp(tenantId: number, appid: string): Promise<RowCounts>;
}

/** A tenant's profile keys (part of the directory: each change bumps `configVersion`). */
export interface Keys {
  /** Stores a key's hash. Throws `NotFoundError` when there is no such tenant. */
  createProfileKey(tenantId: number, keyId: string, hash: string): Promise<ProfileKey>;
  /** Every key of the tenant, revoked ones included. */
  listProfileKeys(tenantId: number): Promise<ProfileKey[]>;
  /** False when the tenant has no such active key. */
  revokeProfileKey(tenantId: number, keyId: string): Promise<boolean>;
}

/** Profile reads. (The apply's writes happen inside `Applier.applyNext`.) */
export interface Profiles {
  getMasterProfiles(tenantId: number, customerIds: string[]): Promise<MasterProfileRow[]>;
  /** Every app profile (all devices) of those customers in that app. */
  getAppProfiles(tenantId: number, appid: string, customerIds: string[]): Promise<AppProfileRow[]>;
  findAppProfilesByUserId(tenantId: number, appid: string, userId: string): Promise<AppProfileRow[]>;
  /** Every app profile of those customers in any app of the tenant (InwardLinks). */
  getAppProfilesOfCustomers(tenantId: number, customerIds: string[]): Promise<AppProfileRow[]>;
}

/**
 * What a page of master profiles holds (`ProfileScan.pageMasters`): keyset pages in customerId
 * order (the store's order of text), each after the last customerId of the one before.
 */
export interface MasterPageQuery {
  /** Only customerIds after this one; null from the first. */
  after: string | null;
  /** Most rows of the page. */
  limit: number;
  /** Only profiles changed at or after this time, ms; null for all. */
  updatedSince: number | null;
  /**
   * Only profiles whose attribute holds one of the values (every condition must hold). `customerId`
   * is the primary key; any other name must be an indexed master attribute (`indexMasterAttribute`,
   * and `email` and `msisdn`, which every store indexes). Matches values stored as JSON strings.
   */
  where: ReadonlyArray<{ name: string; values: readonly string[] }>;
}

/** One customer of a snapshot: its master profile (null when it has app profiles only) and its app profiles, by appid, then deviceId. */
export interface CustomerProfiles {
  customerId: string;
  master: StoredMasterProfile | null;
  apps: AppProfileRow[];
}

/**
 * Batches read from one consistent snapshot of a tenant, each of at most the batch size asked for,
 * so memory stays flat whatever the store's size. Iterate once; `close` (also called by a `break`
 * or an error in the loop) ends the snapshot's database transaction and frees its connection.
 */
export interface SnapshotBatches<T> extends AsyncIterable<T[]> {
  /** What the snapshot holds (customers or app profiles), counted in it; null when not asked for. */
  readonly total: number | null;
  close(): Promise<void>;
}

/**
 * Reading a tenant's profiles in bulk: keyset pages from the primary key (page 10,000 costs what
 * page 1 does), finding by an indexed attribute value, and consistent snapshots for export (a read
 * transaction of their own: SQLite, a WAL snapshot on a connection of its own; PostgreSQL,
 * REPEATABLE READ READ ONLY), which block no writer.
 */
export interface ProfileScan {
  /** Master profiles in customerId order, filtered and paged as `query` says. */
  pageMasters(tenantId: number, query: MasterPageQuery): Promise<MasterProfileRow[]>;
  /** The plan of `pageMasters`'s query (SQLite: EXPLAIN QUERY PLAN; PostgreSQL: EXPLAIN), one line per step, for operators and tests. */
  planOf(tenantId: number, query: MasterPageQuery): Promise<string[]>;
  /** Every app profile of those customers in any app of the tenant, in one query: by customerId, appid, deviceId. */
  appProfilesOf(tenantId: number, customerIds: readonly string[]): Promise<AppProfileRow[]>;
  /**
   * A snapshot of the tenant's customers in batches of at most `batchSize`: every customer with a
   * master profile in customerId order, then every customer with app profiles and no master
   * profile, in customerId order. `isCounted`: count them first (`total`).
   */
  snapshotCustomers(tenantId: number, options: { batchSize: number; isCounted?: boolean }): Promise<SnapshotBatches<CustomerProfiles>>;
  /** A snapshot of one app's app profiles in batches of at most `batchSize`, by customerId, then deviceId. */
  snapshotApp(tenantId: number, appid: string, options: { batchSize: number; isCounted?: boolean }): Promise<SnapshotBatches<AppProfileRow>>;
  /**
   * Creates the index that finds master profiles by the attribute's value (for every tenant: one
   * index per attribute name), without blocking writers where the engine can (PostgreSQL: CONCURRENTLY),
   * then marks the tenant's attribute indexed and bumps `configVersion`. Throws `NotFoundError` when
   * the tenant has no such master attribute.
   */
  indexMasterAttribute(tenantId: number, name: string): Promise<AttributeDefinition>;
}

/** The queue of write transactions: acceptance, status, statistics and retention. */
export interface Journal {
  /**
   * Stores write transactions durably (fsync'd) in one database transaction, in the given order,
   * which becomes their acceptance order. Callers group concurrent requests into one call: this is
   * the group commit. Each item is looked up by its idempotency key first (see EnqueueResult).
   * Throws `StorageUnavailableError` when the store cannot take the write.
   */
  enqueue(batch: NewWriteTransaction[], idempotencyWindowMs: number): Promise<EnqueueResult[]>;
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
   * `capabilities.canWakeAppliers`. Resolves to a function that stops listening.
   */
  watchForWork?(onWork: () => void): Promise<() => Promise<void>>;
}

/** An applier: applies the journal, one batch at a time. */
export interface Applier {
  /**
   * Applies the next batch: up to `limit` of the oldest write transactions not yet applied, in
   * acceptance order. Reads the rows `keysOf(batch)` names, runs `reduce`, and stores its changes
   * with every record result, the batch marked done, in one database transaction. Returns the
   * batch (empty when nothing waits). Where appliers claim (`Appliers.hasConcurrentClaims`), the
   * batch is claimed first, and leaves out any that must wait for conflicting earlier work in
   * flight (see `ConflictKeys`); a batch whose claim another applier took over is not applied. A
   * write transaction whose tenant is no longer in the directory (it is being erased) is dropped
   * instead of applied, and returned with the batch. If `reduce` throws, nothing is stored and
   * the same write transactions come first again.
   */
  applyNext(limit: number, keysOf: KeysOf, reduce: ApplyReducer): Promise<ClaimedWriteTransaction[]>;
}

/**
 * Bulk imports (docs/bulk-data.md, "Import"). An import's chunks are stored before their write
 * transactions are enqueued; the apply of an `importProfiles` write transaction records how its
 * rows ended in its chunk (`applied`, `skipped`) in the same database transaction.
 */
export interface Imports {
  /** Stores the import unless the tenant has one with its id; returns the stored one. */
  startImport(tenantId: number, spec: NewImport): Promise<Import>;
  /** Null when the tenant has no import with that id. */
  getImport(tenantId: number, id: string): Promise<Import | null>;
  /**
   * Makes `runner` the import's runner until `leaseUntil` (ms), when it has none, its lease ended
   * before `now`, it is `runner` already, or it is `staleRunner` (a runner known to be gone).
   * Returns whether `runner` holds it.
   */
  claimImport(tenantId: number, id: string, runner: string, leaseUntil: number, now: number, staleRunner: string | null): Promise<boolean>;
  /** Stores chunks and their rejects in one database transaction, replacing what an interrupted run stored for them. */
  saveChunks(tenantId: number, id: string, chunks: ReadonlyArray<{ chunk: ImportChunk; rejects: readonly ImportReject[] }>): Promise<void>;
  /** The chunks' write transactions are in the journal. */
  markChunksAccepted(tenantId: number, id: string, chunks: readonly number[]): Promise<void>;
  /** Every chunk stored, in order. */
  listChunks(tenantId: number, id: string): Promise<ImportChunk[]>;
  /** Up to `limit` rejects past the line `afterLine`, in line order. */
  listRejects(tenantId: number, id: string, afterLine: number, limit: number): Promise<ImportReject[]>;
  finishImport(tenantId: number, id: string, state: Exclude<ImportState, 'running'>, error: string | null, finishedAt: number): Promise<void>;
  /** Imports of every tenant still running whose file a server holds (uploads), oldest first. */
  listRunningUploads(): Promise<Import[]>;
  /**
   * Retention: deletes up to `limit` rows of the tenant's imports that finished before `before`
   * (ms): their rejects, then their chunks, then the imports once those are gone, in one database
   * transaction. Returns how many rows it deleted; fewer than `limit`: none is left. A running import is kept.
   */
  purgeFinished(tenantId: number, before: number, limit: number): Promise<number>;
}

/** How appliers apply a store's journal: the capability that most sets the stores apart. */
export type Appliers =
  /** One applier per store (SQLite): the applier takes the store's applier lock, and nothing is claimed. */
  | { readonly hasConcurrentClaims: false; readonly applier: Applier }
  /** Several appliers, in any processes, at once (PostgreSQL): each claims its batches as `applierId`, for `leaseMs`. */
  | { readonly hasConcurrentClaims: true; claim(applierId: string, leaseMs: number): Applier };

/** Erase step 2 and what it would delete (see the two steps above). */
export interface Erasure {
  /** Everything the tenant holds, counted by tenant id: rows of a removed tenant not yet erased count too. */
  countTenantRows(tenantId: number): Promise<RowCounts>;
  /** What erasing the app deletes: the app (1 or 0), its attribute definitions and its app profiles (all devices). */
  countAppRows(tenantId: number, appid: string): Promise<RowCounts>;
  /**
   * Deletes up to `limit` of a removed tenant's remaining rows (its imports' rejects, chunks and
   * imports, write transactions, app profiles, master profiles, change events) in one database
   * transaction. All zeros: nothing is left.
   */
  eraseTenantRows(tenantId: number, limit: number): Promise<RowCounts>;
  /** Deletes up to `limit` of a removed app's app profiles in one database transaction. */
  eraseAppRows(tenantId: number, appid: string, limit: number): Promise<RowCounts>;
}

/**
 * The change feed: the events the apply wrote with its changes (an outbox), read in feed order,
 * which is apply order for every customer; each event appears once, and none is skipped because
 * the database transaction that wrote it committed late. A position is the adapter's own string.
 */
export interface ChangeFeed {
  /**
   * The tenant's events after `after` (null: from the oldest kept), at most `limit`, of `types`
   * (null: all). `expired` is the position the feed now starts at when events after `after`
   * were purged (the reader lost some, and should start again), else null. An `after` this store
   * cannot have made throws InvalidPositionError.
   */
  read(tenantId: number, after: string | null, limit: number, types: readonly ChangeEventType[] | null): Promise<{ events: StoredChangeEvent[]; expired: string | null }>;
  /** The position after every event visible now: reading after it gives only events to come. */
  head(tenantId: number): Promise<string>;
  /** Deletes up to `limit` of the tenant's events older than `before` (ms), oldest first; returns how many. */
  purge(tenantId: number, before: number, limit: number): Promise<number>;
}

/** What a resend did (`Webhooks.resend`). */
export type ResendResult = 'queued' | 'no-endpoint' | 'disabled' | 'no-event';

/** A tenant's webhook endpoints, as operators manage them (docs/changes.md, "Webhooks"). */
export interface Webhooks {
  /** Stores a new endpoint, enabled, whose feed position is `endpoint.position`. */
  createEndpoint(tenantId: number, endpoint: NewWebhookEndpoint): Promise<WebhookEndpoint>;
  /** The tenant's endpoints, oldest first. */
  listEndpoints(tenantId: number): Promise<WebhookEndpoint[]>;
  /** Deletes the endpoint with its pending deliveries and attempts; false when the tenant has none with that id. */
  removeEndpoint(tenantId: number, endpointId: string): Promise<boolean>;
  /**
   * Enables the endpoint again: its pending deliveries are due at once, with their attempts
   * counted from 0, and it is no longer failing. Null when the tenant has none with that id.
   */
  enableEndpoint(tenantId: number, endpointId: string, now: number): Promise<WebhookEndpoint | null>;
  /** The endpoint's attempts, newest first, those with an id below `before` (null: from the newest). */
  listAttempts(tenantId: number, endpointId: string, before: number | null, limit: number): Promise<DeliveryAttempt[]>;
  /** Puts an event still in the tenant's feed at the end of its customer's line for the endpoint, due at `now`. */
  resend(tenantId: number, endpointId: string, eventId: string, now: number): Promise<ResendResult>;
  /** Deletes up to `limit` of the tenant's attempts made before `before` (ms); returns how many. */
  purgeAttempts(tenantId: number, before: number, limit: number): Promise<number>;
}

/**
 * What deliverers do with endpoints. A deliverer works only on the endpoints whose lease it holds
 * (`lease`), so one deliverer works on an endpoint at a time, across processes; `take` and
 * `record` store nothing for a deliverer that lost the lease (they return null).
 */
export interface WebhookDeliveries {
  /**
   * Takes or renews, as `owner`, for `leaseMs`, the lease of every enabled endpoint of an existing
   * tenant that no other owner holds (or whose lease ran out); returns the endpoints it holds.
   */
  lease(owner: string, leaseMs: number): Promise<LeasedEndpoint[]>;
  /** Gives up every lease `owner` holds (on shutdown: another deliverer takes over at once). */
  release(owner: string): Promise<void>;
  /**
   * In one database transaction: appends `events` (read from the feed after `from`, in feed order)
   * to the endpoint's pending deliveries, due at once, and moves its position from `from` to `to`.
   * Returns the endpoint's pending deliveries after; null, storing nothing, when `owner` no longer
   * holds the lease or the position is no longer `from`.
   */
  take(owner: string, tenantId: number, endpointId: string, from: string, to: string, events: ReadonlyArray<{ event: StoredChangeEvent; occurredAt: number }>): Promise<number | null>;
  /**
   * The pending deliveries due at `now` that are first in their customer's line, in line order,
   * at most `limit`: a customer's next event waits while an earlier one is pending.
   */
  due(tenantId: number, endpointId: string, now: number, limit: number): Promise<PendingDelivery[]>;
  /**
   * In one database transaction: logs each attempt, removes the finished deliveries, sets when the
   * others are next due, and applies the verdict on the endpoint. Returns the endpoint's pending
   * deliveries after; null, storing nothing, when `owner` no longer holds the lease.
   */
  record(owner: string, tenantId: number, endpointId: string, results: readonly DeliveryResult[], verdict: EndpointVerdict, now: number): Promise<number | null>;
}

export interface StoreCapabilities {
  /** The store can wake idle appliers on new work (e.g. LISTEN/NOTIFY) instead of polling. */
  readonly canWakeAppliers: boolean;
  /** The engine runs inside this process; its calls block the event loop while they run. */
  readonly isEmbedded: boolean;
}

export interface MigrationReport {
  /** Numbers of the migrations this call applied, in order. */
  applied: number[];
  /** The schema version afterwards. */
  version: number;
}

/** An opened store: its role objects, and its life cycle. Only entry points open one. */
export interface Store {
  readonly capabilities: StoreCapabilities;
  readonly directory: Directory;
  readonly keys: Keys;
  readonly profiles: Profiles;
  readonly journal: Journal;
  readonly appliers: Appliers;
  readonly erasure: Erasure;
  readonly changes: ChangeFeed;
  readonly profileScan: ProfileScan;
  readonly webhooks: Webhooks;
  readonly webhookDeliveries: WebhookDeliveries;
  readonly imports: Imports;
  /** Applies pending numbered migrations. Safe to call from several processes at once. */
  migrate(): Promise<MigrationReport>;
  /** Waits for nothing: callers stop their work first. Closes every connection. */
  close(): Promise<void>;
}

/**
 * The domain's pure rules an adapter applies, given by whoever opens the store, so that storage
 * imports no domain code.
 */
export interface StoreRules {
  /** The records of a write transaction from the queue's JSON text (`NewWriteTransaction.recordsJson`). */
  recordsOf(json: string): WriteRecord[];
  /** What a write transaction may touch (stores with concurrent claims). */
  conflictKeysOf(wt: Pick<WriteTransactionHeader, 'tenantId' | 'appid' | 'operation'> & { records: readonly WriteRecord[] }): ConflictKeys;
  /** Chooses what a claim takes (stores with concurrent claims). */
  schedule<T extends Schedulable>(inFlight: readonly Schedulable[], candidates: readonly T[], limit: number, maxRecords?: number): T[];
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
 * Another live process applies this store's journal (SQLite: one applier per store). Not a fault: an
 * applier loop that meets it stands by, and takes over when that process stops.
 */
/** A feed position this store did not make (a malformed or foreign cursor). */
export class InvalidPositionError extends StorageError {
  override name = 'InvalidPositionError';
}

export class ApplierLockedError extends StorageUnavailableError {
  override name = 'ApplierLockedError';
}
