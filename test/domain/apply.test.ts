import { describe, expect, it } from 'vitest';
import { keysOf, reduceWriteTransactions } from '../../src/domain/apply.js';
import type { ClaimedWriteTransaction, WriteOperation, WriteRecord } from '../../src/model/write-transaction.js';
import type { ProfileSnapshot } from '../../src/model/profile.js';

let seq = 0;
function wt(operation: WriteOperation, records: WriteRecord[], extra: Partial<ClaimedWriteTransaction> = {}): ClaimedWriteTransaction {
  seq++;
  return {
    seq,
    transid: `t${seq}`,
    tenantId: 1,
    operation,
    appid: operation.includes('App') || operation === 'deleteDevice' ? 'app1' : null,
    records,
    isUpsert: false,
    isCascade: false,
    idempotencyKey: null,
    requestHash: null,
    acceptedAt: 0,
    ...extra,
  };
}
/** The app the tests write to, present in the directory. */
const app1 = [{ tenantId: 1, appid: 'app1', channel: 'rt' }];
const empty: ProfileSnapshot = { masters: [], apps: [], appids: app1 };
const master = (customerId: string, attributes: Record<string, string>) => ({ tenantId: 1, customerId, attributes, createdAt: 1, updatedAt: 1 });
const device = (customerId: string, deviceId: string, userId: string | null, attributes: Record<string, string> = {}) => ({
  tenantId: 1,
  appid: 'app1',
  customerId,
  deviceId,
  userId,
  attributes,
  createdAt: 1,
  updatedAt: 1,
});

describe('reduceWriteTransactions', () => {
  it('keeps apart app profiles whose ids differ only in where a separator character falls', () => {
    // Same characters in a row: customer "b1:c" with no device, customer "b" with device "1:c".
    const batch = [
      wt('createAppProfile', [{ customerId: 'b1:c', attributes: { name: 'one' } }]),
      wt('createAppProfile', [{ customerId: 'b', deviceId: '1:c', attributes: { name: 'two' } }]),
      wt('createAppProfile', [{ customerId: 'b:1', deviceId: 'c', attributes: { name: 'three' } }]),
    ];
    const { changes, results } = reduceWriteTransactions(batch, empty, 1);
    expect(batch.map((w) => results.get(w.transid)![0].code)).toEqual(['1000', '1000', '1000']);
    expect(changes.appUpserts.map((r) => [r.customerId, r.deviceId, r.attributes.name])).toEqual([
      ['b1:c', '', 'one'],
      ['b', '1:c', 'two'],
      ['b:1', 'c', 'three'],
    ]);
  });

  it('never lets an attribute named __proto__ reach a profile prototype', () => {
    const hostile = JSON.parse('{"__proto__": {"polluted": "yes"}, "name": "A"}');
    const batch = [wt('createProfile', [{ customerId: 'c', attributes: hostile }])];
    const { changes } = reduceWriteTransactions(batch, empty, 1);
    const attributes = changes.masterUpserts[0].attributes;
    expect(Object.getPrototypeOf(attributes)).toBe(Object.prototype);
    expect(Object.keys(attributes)).toEqual(['name']);
    expect((attributes as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('creates, then refuses a second create of the same customer with 7015', () => {
    const batch = [wt('createProfile', [{ customerId: 'c', attributes: { name: 'A' } }]), wt('createProfile', [{ customerId: 'c', attributes: { name: 'B' } }])];
    const { changes, results } = reduceWriteTransactions(batch, empty, 5);
    expect(results.get(batch[0].transid)).toEqual([{ customerId: 'c', code: '1000' }]);
    expect(results.get(batch[1].transid)).toEqual([{ customerId: 'c', code: '7015' }]);
    expect(changes.masterUpserts.map((r) => ({ ...r.attributes }))).toEqual([{ name: 'A' }]);
  });

  it('creates a profile without the attributes a create sends as null', () => {
    const batch = [wt('createProfile', [{ customerId: 'c', attributes: { name: 'A', email: null } }])];
    expect(reduceWriteTransactions(batch, empty, 1).changes.masterUpserts[0].attributes).toEqual({ name: 'A' });
  });

  it('merges updates: sent attributes replace, unsent stay, null removes', () => {
    const snapshot = { masters: [master('c', { name: 'A', email: 'a@x.io', msisdn: '123456' })], apps: [], appids: app1 };
    const batch = [wt('updateProfile', [{ customerId: 'c', attributes: { name: 'B', msisdn: null } }])];
    const { changes } = reduceWriteTransactions(batch, snapshot, 5);
    expect({ ...changes.masterUpserts[0].attributes }).toEqual({ name: 'B', email: 'a@x.io' });
    expect(changes.masterUpserts[0].createdAt).toBe(1);
    expect(changes.masterUpserts[0].updatedAt).toBe(5);
  });

  it('answers 7014 for an update of a missing profile, and creates it when the write is an upsert', () => {
    const plain = wt('updateProfile', [{ customerId: 'c', attributes: { name: 'A' } }]);
    expect(reduceWriteTransactions([plain], empty, 1).results.get(plain.transid)![0].code).toBe('7014');
    const upsert = wt('updateProfile', [{ customerId: 'c', attributes: { name: 'A' } }], { isUpsert: true });
    const out = reduceWriteTransactions([upsert], empty, 1);
    expect(out.results.get(upsert.transid)![0].code).toBe('1000');
    expect(out.changes.masterUpserts).toHaveLength(1);
  });

  it('deletes (7203 when missing), and a re-create in the same batch starts from nothing', () => {
    const snapshot = { masters: [master('c', { name: 'A', email: 'a@x.io' })], apps: [], appids: app1 };
    const batch = [
      wt('deleteProfile', [{ customerId: 'c' }]),
      wt('deleteProfile', [{ customerId: 'c' }]),
      wt('createProfile', [{ customerId: 'c', attributes: { name: 'B' } }]),
    ];
    const { changes, results } = reduceWriteTransactions(batch, snapshot, 9);
    expect(batch.map((w) => results.get(w.transid)![0].code)).toEqual(['1000', '7203', '1000']);
    expect(changes.masterDeletes).toEqual([]);
    expect({ ...changes.masterUpserts[0].attributes }).toEqual({ name: 'B' });
    expect(changes.masterUpserts[0].createdAt).toBe(9);
  });

  it('keeps linked app profiles on delete, and erases them with cascade', () => {
    const snapshot = { masters: [master('c', {})], apps: [device('c', 'd1', 'u')], appids: app1 };
    const plain = wt('deleteProfile', [{ customerId: 'c' }]);
    expect(reduceWriteTransactions([plain], snapshot, 1).changes.appDeletes).toEqual([]);
    const cascade = wt('deleteProfile', [{ customerId: 'c' }], { isCascade: true });
    expect(keysOf([cascade]).customerApps).toEqual([{ tenantId: 1, customerId: 'c' }]);
    expect(reduceWriteTransactions([cascade], snapshot, 1).changes.appDeletes).toEqual([{ tenantId: 1, appid: 'app1', customerId: 'c', deviceId: 'd1' }]);
  });

  it('keeps one app profile per device and indexes userId', () => {
    const batch = [
      wt('createAppProfile', [
        { customerId: 'c', deviceId: 'd1', attributes: { userId: 'u', deviceId: 'd1' } },
        { customerId: 'c', deviceId: 'd2', attributes: { userId: 'u', deviceId: 'd2' } },
      ]),
    ];
    const { changes } = reduceWriteTransactions(batch, empty, 1);
    expect(changes.appUpserts.map((r) => [r.deviceId, r.userId])).toEqual([
      ['d1', 'u'],
      ['d2', 'u'],
    ]);
  });

  it('deletes one device by customerId or userId, reporting both ids, and 7014 for an unknown device', () => {
    const snapshot = { masters: [], apps: [device('c', 'd1', 'u'), device('c', 'd2', 'u')], appids: app1 };
    const byUser = wt('deleteDevice', [{ customerId: 'u', deviceId: 'd1' }]);
    const missing = wt('deleteDevice', [{ customerId: 'c', deviceId: 'nope' }]);
    const { changes, results } = reduceWriteTransactions([byUser, missing], snapshot, 1);
    expect(results.get(byUser.transid)).toEqual([{ customerId: 'c', userId: 'u', deviceId: 'd1', code: '1000' }]);
    expect(results.get(missing.transid)![0].code).toBe('7014');
    expect(changes.appDeletes.map((d) => d.deviceId)).toEqual(['d1']);
  });

  it('deletes every device of an app profile by identifier (userId), 7014 when none', () => {
    const snapshot = { masters: [], apps: [device('c', 'd1', 'u'), device('c', 'd2', 'u'), device('x', 'd3', 'v')], appids: app1 };
    const del = wt('deleteAppProfile', [{ userId: 'u' }]);
    const none = wt('deleteAppProfile', [{ userId: 'nobody' }]);
    const { changes, results } = reduceWriteTransactions([del, none], snapshot, 1);
    expect(results.get(del.transid)![0]).toMatchObject({ customerId: 'c', userId: 'u', code: '1000' });
    expect(results.get(none.transid)![0].code).toBe('7014');
    expect(changes.appDeletes.map((d) => d.deviceId).sort()).toEqual(['d1', 'd2']);
  });

  it('refuses a merge that would exceed 200 attributes with a per-record 7011', () => {
    const many = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`a${i}`, 'v']));
    const more = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`b${i}`, 'v']));
    const snapshot = { masters: [master('c', many)], apps: [], appids: app1 };
    const batch = [wt('updateProfile', [{ customerId: 'c', attributes: more }])];
    const { changes, results } = reduceWriteTransactions(batch, snapshot, 1);
    expect(results.get(batch[0].transid)![0]).toMatchObject({ code: '7011', reason: expect.stringMatching(/200/) });
    expect(changes.masterUpserts).toEqual([]);
  });

  it('answers 7018 for every record of a write to an app deleted after the write was accepted, and changes nothing of it', () => {
    const snapshot = { masters: [], apps: [device('c', 'd1', 'u')], appids: [] };
    const batch = [
      wt('createAppProfile', [{ customerId: 'n', deviceId: 'd9', attributes: { os: 'ios' } }]),
      wt('updateAppProfile', [{ customerId: 'c', deviceId: 'd1', attributes: { os: 'ios' } }]),
      wt('deleteAppProfile', [{ userId: 'u' }]),
      wt('deleteDevice', [{ customerId: 'c', deviceId: 'd1' }]),
      wt('updateProfile', [{ customerId: 'c', attributes: { name: 'C' } }], { isUpsert: true }),
    ];
    expect(keysOf(batch).appids).toEqual([{ tenantId: 1, appid: 'app1' }]);
    const { changes, results } = reduceWriteTransactions(batch, snapshot, 1);
    expect(batch.map((w) => results.get(w.transid))).toEqual([
      [{ customerId: 'n', deviceId: 'd9', code: '7018', reason: expect.stringMatching(/deleted/) }],
      [{ customerId: 'c', deviceId: 'd1', code: '7018', reason: expect.any(String) }],
      [{ customerId: 'u', userId: 'u', code: '7018', reason: expect.any(String) }],
      [{ customerId: 'c', deviceId: 'd1', code: '7018', reason: expect.any(String) }],
      [{ customerId: 'c', code: '1000' }],
    ]);
    expect(changes.appUpserts).toEqual([]);
    expect(changes.appDeletes).toEqual([]);
    expect(changes.masterUpserts.map((r) => r.customerId)).toEqual(['c']);
  });
});
