/**
 * The nouns of stored profiles, and of the apply step that changes them.
 *
 * - master profile: one per (tenant, customerId); attributes follow the tenant's master schema.
 * - app profile: one per (tenant, appid, customerId, deviceId). `deviceId` is "" except on `rt`
 *   (in-app / push) apps, which keep one app profile per device.
 */
import type { NewChangeEvent } from './change-event.js';
import type { Attributes } from './directory.js';
import type { ClaimedWriteTransaction, RecordResult } from './write-transaction.js';

export interface MasterProfileRow {
  tenantId: number;
  customerId: string;
  attributes: Attributes;
  createdAt: number;
  updatedAt: number;
}

/**
 * A master profile as a snapshot reads it for export: its attributes as the store holds them, the
 * JSON text JSON.stringify made when they were stored, not parsed (an NDJSON export writes it as it is).
 */
export interface StoredMasterProfile extends Omit<MasterProfileRow, 'attributes'> {
  attributesJson: string;
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
  appids: Array<{ tenantId: number; appid: string; channel: string }>;
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
  /** One event per change, in the order the batch made them: stored in the same database transaction. */
  events: NewChangeEvent[];
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
 * What a write transaction may touch, for stores where several appliers claim at once. Two write
 * transactions conflict when the exclusive keys of one meet any key of the other; conflicting ones
 * are applied in acceptance order, others may be applied in parallel.
 */
export interface ConflictKeys {
  exclusive: string[];
  shared: string[];
}

/** A write transaction as the conflict-key scheduler sees it. */
export interface Schedulable {
  seq: number;
  keys: ConflictKeys;
  /** Its record count, for the scheduler's `maxRecords`. */
  records?: number;
}
