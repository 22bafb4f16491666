/**
 * The nouns of the write path.
 *
 * - write transaction: one accepted write request (a batch of records), queued durably and later
 *   applied by an applier. Named on the wire by its `transid`. Its `seq` is the acceptance order.
 * - database transaction: a unit of atomicity of the store. Never called a bare "transaction".
 * - claim: an applier's lease on queued write transactions, where several appliers apply one store
 *   (PostgreSQL); an expired claim is taken back. Where one applier applies the store (SQLite),
 *   nothing is claimed: the next batch is the oldest not yet applied.
 */
import type { AttributeValue } from './directory.js';
import type { ImportedRow } from './import.js';

export const WRITE_OPERATIONS = ['createProfile', 'updateProfile', 'deleteProfile', 'createAppProfile', 'updateAppProfile', 'deleteAppProfile', 'deleteDevice', 'importProfiles'] as const;
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
  /** importProfiles: the row's timestamps and app profiles (its master attributes are `attributes`, absent when it has none). */
  imported?: ImportedRow;
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
 * and on the embedded store the text, not the records, crosses to the committer's thread (a string is
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
 * was deleted after the write was accepted; `7921` when an import row is skipped because its
 * profile changed after the import started (`ImportedRow`).
 */
export type RecordResultCode = '1000' | '7011' | '7014' | '7015' | '7018' | '7203' | '7921';

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
