/** Row mapping shared by both adapters: a claimed row's records are parsed when first read, once. */
import { describe, expect, it } from 'vitest';
import { toClaimed, type QueueRow } from '../../src/storage/rows.js';

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

describe('toClaimed', () => {
  it('maps the header at once and parses the records only when they are read, once', () => {
    const claimed = toClaimed(row('[{"customerId":"a","Attributes":{"name":"Å"}}]'));
    expect(claimed).toMatchObject({ seq: 7, transid: 't-1', tenantId: 1, isUpsert: true, isCascade: false, acceptedAt: 1_700_000_000_000 });
    const records = claimed.records;
    expect(records).toEqual([{ customerId: 'a', Attributes: { name: 'Å' } }]);
    expect(claimed.records).toBe(records);
  });

  it('does not parse at the claim: bad text fails where the records are read', () => {
    const claimed = toClaimed(row('[{"customerId":'));
    expect(claimed.transid).toBe('t-1');
    expect(() => claimed.records).toThrow(SyntaxError);
  });
});
