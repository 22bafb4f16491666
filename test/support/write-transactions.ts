import type { NewWriteTransaction, WriteRecord } from '../../src/storage/storage.js';

let n = 0;

/** A new write transaction for storage-level tests: a create of `records` unless `extra` says otherwise; transids are unique. */
export function newWriteTransaction(tenantId: number, records: WriteRecord[], extra: Partial<NewWriteTransaction> = {}): NewWriteTransaction {
  return {
    transid: `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`,
    tenantId,
    operation: 'createProfile',
    appid: null,
    records,
    isUpsert: false,
    isCascade: false,
    idempotencyKey: null,
    requestHash: null,
    acceptedAt: Date.now(),
    ...extra,
  };
}
