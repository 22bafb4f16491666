/** Row mapping shared by both adapters. */
import { describe, expect, it } from 'vitest';
import { recordsOfStored } from '../../src/domain/write-requests.js';
import { claimedOf, type QueueRow } from '../../src/storage/rows.js';

const toClaimed = claimedOf(recordsOfStored);

const row = (records: string): QueueRow => ({
  seq: '7',
  transid: 't-1',
  tenant_id: 1,
  operation: 'upsertProfile',
  appid: null,
  records,
  is_upsert: 1,
  is_cascade: 0,
  idempotency_key: null,
  request_hash: null,
  accepted_at: '1700000000000',
});

describe('claimedOf', () => {
  it('maps the header and parses the records', () => {
    const claimed = toClaimed(row('[{"customerId":"a","Attributes":{"name":"Å"}}]'));
    expect(claimed).toMatchObject({ seq: 7, transid: 't-1', tenantId: 1, isUpsert: true, isCascade: false, acceptedAt: 1_700_000_000_000 });
    expect(claimed.records).toEqual([{ customerId: 'a', Attributes: { name: 'Å' } }]);
  });

  it('fails on records that are not JSON, rather than applying a write transaction without them', () => {
    expect(() => toClaimed(row('[{"customerId":'))).toThrow(SyntaxError);
  });
});
