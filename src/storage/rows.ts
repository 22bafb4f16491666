/**
 * Rows as both SQL adapters read them (the schemas use the same column names), and their
 * translation into the contract's types. Drivers differ in how they hand back numbers and
 * booleans (SQLite: integers; pg: bigint as text, real booleans), so the mappers convert both.
 * No driver types here.
 */
import type { App, AttributeDefinition, AttributeType, ProfileKey, RowCounts, Tenant } from '../model/directory.js';
import type { Import, ImportChunk, ImportFormat, ImportReject, ImportState } from '../model/import.js';
import type { AppProfileRow, MasterProfileRow, StoredMasterProfile } from '../model/profile.js';
import type { ClaimedWriteTransaction, QueueStats, WriteOperation, WriteRecord, WriteTransactionStatus } from '../model/write-transaction.js';

type Int = number | string;
type Flag = number | boolean;

export interface TenantRow {
  id: number;
  name: string;
  settings: string;
  allow_list: string;
  created_at: string;
}
export interface KeyRow {
  key_id: string;
  tenant_id: number;
  hash: string;
  created_at: string;
  revoked_at: string | null;
}
export interface AppRow {
  appid: string;
  tenant_id: number;
  channel: string;
  created_at: string;
}
export interface AttributeRow {
  id: number;
  tenant_id: number;
  scope: string;
  name: string;
  type: string;
  max_length: number | null;
  enum_values: string | null;
  is_indexed: Flag;
}
export interface MasterRecord {
  tenant_id: number;
  customer_id: string;
  attributes: string;
  created_at: Int;
  updated_at: Int;
}
export interface AppRecord extends MasterRecord {
  appid: string;
  device_id: string;
  user_id: string | null;
}
export interface QueueRow {
  seq: Int;
  transid: string;
  tenant_id: number;
  operation: string;
  appid: string | null;
  records: string;
  is_upsert: Flag;
  is_cascade: Flag;
  idempotency_key: string | null;
  request_hash: string | null;
  accepted_at: Int;
}
/** The queue's statistics for one tenant. */
export interface TenantQueueRow {
  tenant_id: Int;
  depth: Int;
  records: Int;
  oldest: Int;
}
export interface StatusRow {
  transid: string;
  state: string;
  total_count: number;
  results: string | null;
  accepted_at: Int;
  finished_at: Int | null;
}

/** Row counts by kind, each column named for its table; kinds a statement does not count are left out. */
export type RowCountsRow = Partial<Record<'profile_keys' | 'apps' | 'attribute_definitions' | 'master_profiles' | 'app_profiles' | 'write_transactions' | 'change_events' | 'imports' | 'import_chunks' | 'import_rejects' | 'webhook_endpoints' | 'webhook_deliveries' | 'webhook_attempts', Int>>;

/** The queue columns `toClaimed` reads, for SELECT and RETURNING lists. */
export const QUEUE_COLUMNS = 'seq, transid, tenant_id, operation, appid, is_upsert, is_cascade, idempotency_key, request_hash, accepted_at, records';

export const toTenant = (r: TenantRow): Tenant => ({
  id: r.id,
  name: r.name,
  settings: JSON.parse(r.settings),
  allowList: JSON.parse(r.allow_list),
  createdAt: r.created_at,
});

export const toKey = (r: KeyRow): ProfileKey => ({ keyId: r.key_id, tenantId: r.tenant_id, hash: r.hash, createdAt: r.created_at, revokedAt: r.revoked_at });

export const toApp = (r: AppRow): App => ({ appid: r.appid, tenantId: r.tenant_id, channel: r.channel, createdAt: r.created_at });

export const toAttribute = (r: AttributeRow): AttributeDefinition => ({
  id: r.id,
  tenantId: r.tenant_id,
  scope: r.scope,
  name: r.name,
  type: r.type as AttributeType,
  ...(r.max_length !== null && { maxLength: r.max_length }),
  ...(r.enum_values !== null && { values: JSON.parse(r.enum_values) }),
  ...(Boolean(r.is_indexed) && { isIndexed: true }),
});

export const toMaster = (r: MasterRecord): MasterProfileRow => ({
  tenantId: r.tenant_id,
  customerId: r.customer_id,
  attributes: JSON.parse(r.attributes),
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});

/** A master profile with its attributes' JSON text as stored (a snapshot's, for export). */
export const toStoredMaster = (r: MasterRecord): StoredMasterProfile => ({
  tenantId: r.tenant_id,
  customerId: r.customer_id,
  attributesJson: r.attributes,
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});

export const toAppProfile = (r: AppRecord): AppProfileRow => ({
  tenantId: r.tenant_id,
  appid: r.appid,
  customerId: r.customer_id,
  deviceId: r.device_id,
  userId: r.user_id,
  attributes: JSON.parse(r.attributes),
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});

/** App profile rows grouped by customer, in the order the rows came (a snapshot's batch). */
export function appProfilesByCustomer(rows: readonly AppRecord[]): Map<string, AppProfileRow[]> {
  const map = new Map<string, AppProfileRow[]>();
  for (const r of rows) {
    const own = map.get(r.customer_id);
    if (own) own.push(toAppProfile(r));
    else map.set(r.customer_id, [toAppProfile(r)]);
  }
  return map;
}

/** Reads queue rows, their records with `recordsOf` (`StoreRules`). */
export const claimedOf = (recordsOf: (json: string) => WriteRecord[]) => (r: QueueRow): ClaimedWriteTransaction => ({
  seq: Number(r.seq),
  transid: r.transid,
  tenantId: r.tenant_id,
  operation: r.operation as WriteOperation,
  appid: r.appid,
  records: recordsOf(r.records),
  isUpsert: Boolean(r.is_upsert),
  isCascade: Boolean(r.is_cascade),
  idempotencyKey: r.idempotency_key,
  requestHash: r.request_hash,
  acceptedAt: Number(r.accepted_at),
});

export const toStatus = (r: StatusRow): WriteTransactionStatus => ({
  transid: r.transid,
  state: r.state as WriteTransactionStatus['state'],
  totalCount: r.total_count,
  results: r.results === null ? null : JSON.parse(r.results),
  acceptedAt: Number(r.accepted_at),
  finishedAt: r.finished_at === null ? null : Number(r.finished_at),
});

export const toQueueStats = (rows: readonly TenantQueueRow[]): QueueStats => {
  const stats: QueueStats = { depth: 0, depthRecords: 0, oldestAcceptedAt: null, recordsByTenant: new Map() };
  for (const r of rows) {
    const records = Number(r.records);
    stats.depth += Number(r.depth);
    stats.depthRecords += records;
    stats.recordsByTenant.set(Number(r.tenant_id), records);
    const oldest = Number(r.oldest);
    if (stats.oldestAcceptedAt === null || oldest < stats.oldestAcceptedAt) stats.oldestAcceptedAt = oldest;
  }
  return stats;
};

export const toRowCounts = (r: RowCountsRow): RowCounts => ({
  profileKeys: Number(r.profile_keys ?? 0),
  apps: Number(r.apps ?? 0),
  attributeDefinitions: Number(r.attribute_definitions ?? 0),
  masterProfiles: Number(r.master_profiles ?? 0),
  appProfiles: Number(r.app_profiles ?? 0),
  writeTransactions: Number(r.write_transactions ?? 0),
  changeEvents: Number(r.change_events ?? 0),
  imports: Number(r.imports ?? 0),
  importChunks: Number(r.import_chunks ?? 0),
  importRejects: Number(r.import_rejects ?? 0),
  webhookEndpoints: Number(r.webhook_endpoints ?? 0),
  webhookDeliveries: Number(r.webhook_deliveries ?? 0),
  webhookAttempts: Number(r.webhook_attempts ?? 0),
});

export interface ImportRow {
  id: string;
  tenant_id: number;
  format: string;
  appid: string | null;
  source: string;
  is_upload: Flag;
  file_hash: string;
  line_count: Int;
  started_at: Int;
  state: string;
  finished_at: Int | null;
  error: string | null;
  runner: string | null;
  lease_until: Int | null;
}
export interface ImportChunkRow {
  chunk: number;
  transid: string;
  rows: number;
  rejected: number;
  first_line: Int;
  last_line: Int;
  is_accepted: Flag;
  applied: number | null;
  skipped: number | null;
}
export interface ImportRejectRow {
  line: Int;
  code: string;
  errors: string;
  raw: string;
}

const orNull = (value: Int | null) => (value === null ? null : Number(value));

export const toImport = (r: ImportRow): Import => ({
  id: r.id,
  tenantId: r.tenant_id,
  format: r.format as ImportFormat,
  appid: r.appid,
  source: r.source,
  isUpload: Boolean(r.is_upload),
  fileHash: r.file_hash,
  lineCount: Number(r.line_count),
  startedAt: Number(r.started_at),
  state: r.state as ImportState,
  finishedAt: orNull(r.finished_at),
  error: r.error,
  runner: r.runner,
  leaseUntil: orNull(r.lease_until),
});

export const toImportChunk = (r: ImportChunkRow): ImportChunk => ({
  chunk: r.chunk,
  transid: r.transid,
  rows: r.rows,
  rejected: r.rejected,
  firstLine: Number(r.first_line),
  lastLine: Number(r.last_line),
  isAccepted: Boolean(r.is_accepted),
  applied: r.applied,
  skipped: r.skipped,
});

export const toImportReject = (r: ImportRejectRow): ImportReject => ({ line: Number(r.line), code: r.code, errors: JSON.parse(r.errors), raw: r.raw });

/** How an applied `importProfiles` write transaction's rows ended: applied (1000), or not (any other code). */
export function tallyOf(results: ReadonlyArray<{ code: string }>): { applied: number; skipped: number } {
  let applied = 0;
  for (const r of results) if (r.code === '1000') applied++;
  return { applied, skipped: results.length - applied };
}
