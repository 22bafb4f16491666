import type { NewWriteTransaction, WriteRecord } from '../../src/model/write-transaction.js';

let n = 0;

/**
 * A new write transaction for storage-level tests: a create of `records` unless `extra` says
 * otherwise (its `records` included: the JSON text and count follow them); transids are unique.
 * The parsed records come along for the tests' own checks; the stores read only the JSON text.
 */
export function newWriteTransaction(
  tenantId: number,
  records: WriteRecord[],
  extra: Partial<NewWriteTransaction> & { records?: WriteRecord[] } = {},
): NewWriteTransaction & { records: WriteRecord[] } {
  const own = extra.records ?? records;
  return {
    transid: `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`,
    tenantId,
    operation: 'createProfile',
    appid: null,
    isUpsert: false,
    isCascade: false,
    idempotencyKey: null,
    requestHash: null,
    acceptedAt: Date.now(),
    ...extra,
    records: own,
    recordsJson: JSON.stringify(own),
    recordCount: own.length,
  };
}
