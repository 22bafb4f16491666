import { describe, expect, it } from 'vitest';
import { conflictKeysOf, schedule } from '../../src/domain/conflict-keys.js';

const base: Parameters<typeof conflictKeysOf>[0] = { tenantId: 1, operation: 'updateProfile', appid: null, records: [] };
const item = (seq: number, exclusive: string[], shared: string[] = []) => ({ seq, keys: { exclusive, shared } });

describe('conflictKeysOf', () => {
  it('keys master and app writes by customer, so both serialise per customer', () => {
    const master = conflictKeysOf({ ...base, records: [{ customerId: 'c' }, { customerId: 'c' }] });
    const app = conflictKeysOf({ ...base, operation: 'updateAppProfile', appid: 'a1', records: [{ customerId: 'c' }] });
    expect(master.exclusive).toEqual(app.exclusive);
    expect(app.shared).toHaveLength(1);
  });

  it('takes the whole app exclusively for writes that find profiles by userId', () => {
    const byUser = conflictKeysOf({ ...base, operation: 'deleteAppProfile', appid: 'a1', records: [{ userId: 'u' }] });
    const device = conflictKeysOf({ ...base, operation: 'deleteDevice', appid: 'a1', records: [{ customerId: 'c', deviceId: 'd' }] });
    const app = conflictKeysOf({ ...base, operation: 'updateAppProfile', appid: 'a1', records: [{ customerId: 'x' }] });
    expect(byUser.exclusive).toEqual(app.shared);
    expect(device.exclusive).toEqual(app.shared);
  });
});

describe('schedule', () => {
  it('takes independent candidates in order up to the limit', () => {
    expect(schedule([], [item(1, ['a']), item(2, ['b']), item(3, ['c'])], 2).map((c) => c.seq)).toEqual([1, 2]);
  });

  it('skips candidates that conflict with work in flight, and everything after them on the same key', () => {
    const chosen = schedule([item(1, ['a'])], [item(2, ['a']), item(3, ['b']), item(4, ['a', 'c']), item(5, ['c'])], 10);
    expect(chosen.map((c) => c.seq)).toEqual([3]);
  });

  it('stops before the candidate that would take the records past `maxRecords`, and always takes the first', () => {
    const sized = (seq: number, key: string, records: number) => ({ ...item(seq, [key]), records });
    const candidates = [sized(1, 'a', 600), sized(2, 'b', 300), sized(3, 'c', 200), sized(4, 'd', 50)];
    expect(schedule([], candidates, 10, 1000).map((c) => c.seq)).toEqual([1, 2]);
    expect(schedule([], candidates, 10, 100).map((c) => c.seq)).toEqual([1]);
    // A candidate left behind for a conflict counts nothing, and stops nothing.
    expect(schedule([item(0, ['a'])], candidates, 10, 520).map((c) => c.seq)).toEqual([2, 3]);
  });

  it('lets shared keys run together but not past an exclusive holder', () => {
    expect(schedule([item(1, ['x'], ['app'])], [item(2, ['y'], ['app'])], 10).map((c) => c.seq)).toEqual([2]);
    expect(schedule([item(1, ['app'])], [item(2, ['y'], ['app'])], 10)).toEqual([]);
    expect(schedule([item(1, ['y'], ['app'])], [item(2, ['app']), item(3, ['z'], ['app'])], 10).map((c) => c.seq)).toEqual([]);
  });
});
