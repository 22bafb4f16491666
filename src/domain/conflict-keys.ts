import type { ConflictKeys, Schedulable } from '../model/profile.js';
import type { WriteRecord, WriteTransactionHeader } from '../model/write-transaction.js';

/**
 * Conflict keys (see `ConflictKeys` in the storage contract). Every write to a customer, master or
 * app profile, takes that customer's key exclusively, so one customer's writes apply in acceptance
 * order. App writes share their app's key; writes that find profiles by userId (identifier deletes,
 * device deletes by customerId-or-userId) cannot name the customer in advance and take the app's
 * key exclusively instead.
 */
export function conflictKeysOf(wt: Pick<WriteTransactionHeader, 'tenantId' | 'appid' | 'operation'> & { records: readonly WriteRecord[] }): ConflictKeys {
  const customer = (id: string) => JSON.stringify(['c', wt.tenantId, id]);
  if (wt.appid === null) {
    // An import row writes app profiles too: it shares their apps' keys, as app writes do.
    const apps = wt.operation === 'importProfiles' ? wt.records.flatMap((r) => (r.imported?.appProfiles ?? []).map((a) => JSON.stringify(['a', wt.tenantId, a.appid]))) : [];
    return { exclusive: unique(wt.records.map((r) => customer(r.customerId!))), shared: unique(apps) };
  }
  const app = JSON.stringify(['a', wt.tenantId, wt.appid]);
  const findsByUserId = wt.operation === 'deleteDevice' || wt.records.some((r) => r.customerId === undefined);
  if (findsByUserId) return { exclusive: [app], shared: [] };
  return { exclusive: unique(wt.records.map((r) => customer(r.customerId!))), shared: [app] };
}

const unique = (keys: string[]) => [...new Set(keys)];

/**
 * Chooses, in acceptance order, up to `limit` candidates that conflict with nothing in flight
 * and with no earlier candidate left behind. A skipped candidate blocks its keys for everything
 * after it, so no write transaction overtakes an earlier one it conflicts with. The choice stops
 * before a candidate that would take the chosen records past `maxRecords` (the first is always taken).
 */
export function schedule<T extends Schedulable>(inFlight: readonly Schedulable[], candidates: readonly T[], limit: number, maxRecords = Infinity): T[] {
  const exclusive = new Set<string>();
  const shared = new Set<string>();
  const block = ({ keys }: Schedulable) => {
    for (const k of keys.exclusive) exclusive.add(k);
    for (const k of keys.shared) shared.add(k);
  };
  inFlight.forEach(block);
  const chosen: T[] = [];
  let records = 0;
  for (const c of candidates) {
    if (chosen.length >= limit) break;
    const isBlocked = c.keys.exclusive.some((k) => exclusive.has(k) || shared.has(k)) || c.keys.shared.some((k) => exclusive.has(k));
    if (isBlocked) block(c);
    else if (chosen.length > 0 && records + (c.records ?? 0) > maxRecords) break;
    else {
      chosen.push(c);
      records += c.records ?? 0;
    }
  }
  return chosen;
}
