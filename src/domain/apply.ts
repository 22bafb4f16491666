import type { ChangeEventType, ChangedProfile, NewChangeEvent } from '../model/change-event.js';
import type { AppProfileRow, MasterProfileRow, ProfileChanges, ProfileKeys, ProfileSnapshot } from '../model/profile.js';
import type { Attributes, AttributeValue } from '../model/directory.js';
import type { ClaimedWriteTransaction, RecordResult, WriteRecord } from '../model/write-transaction.js';
import { LIMITS } from './attributes.js';
import { isoOf, toAppProfileLine, toProfileDocument } from './profile-documents.js';

/**
 * How write transactions change profiles (contract §3.4–§3.6), as pure functions over rows the
 * store loaded. A batch is applied record by record in acceptance order against an in-memory
 * view of the rows, and only the final state of each touched profile is written back.
 */

type AppIdentity = Pick<AppProfileRow, 'tenantId' | 'appid' | 'customerId' | 'deviceId'>;

// Ids may hold any character: each part but the last is length-prefixed, so no two identities share a key.
const masterKey = (tenantId: number, customerId: string) => `${tenantId}:${customerId}`;
const appIdentity = (tenantId: number, appid: string) => `${tenantId}:${appid}`;
const appKey = (row: AppIdentity) => `${row.tenantId}:${row.appid.length}:${row.appid}${row.customerId.length}:${row.customerId}${row.deviceId}`;

/** The rows a batch reads. */
export function keysOf(batch: readonly ClaimedWriteTransaction[]): ProfileKeys {
  const keys: ProfileKeys = { masters: [], appCustomers: [], appUsers: [], customerApps: [], appids: [] };
  const apps = new Set<string>();
  for (const wt of batch) {
    const { tenantId, appid } = wt;
    if (appid !== null && !apps.has(appIdentity(tenantId, appid))) {
      apps.add(appIdentity(tenantId, appid));
      keys.appids.push({ tenantId, appid });
    }
    if (wt.operation === 'importProfiles') {
      importKeys(keys, apps, wt);
      continue;
    }
    for (const record of wt.records) {
      const customerId = record.customerId;
      if (appid === null) {
        if (customerId === undefined) continue;
        keys.masters.push({ tenantId, customerId });
        if (wt.isCascade) keys.customerApps.push({ tenantId, customerId });
      } else if (wt.operation === 'deleteDevice') {
        // The path names a customerId or a userId.
        keys.appCustomers.push({ tenantId, appid, customerId: customerId! });
        keys.appUsers.push({ tenantId, appid, userId: customerId! });
      } else if (customerId !== undefined) {
        keys.appCustomers.push({ tenantId, appid, customerId });
      } else if (record.userId !== undefined) {
        keys.appUsers.push({ tenantId, appid, userId: record.userId });
      }
    }
  }
  return keys;
}

/** The rows an `importProfiles` write transaction reads: each row's master profile and app profiles. */
function importKeys(keys: ProfileKeys, apps: Set<string>, wt: ClaimedWriteTransaction): void {
  const { tenantId } = wt;
  for (const record of wt.records) {
    const customerId = record.customerId!;
    if (record.attributes) keys.masters.push({ tenantId, customerId });
    for (const { appid } of record.imported?.appProfiles ?? []) {
      keys.appCustomers.push({ tenantId, appid, customerId });
      if (!apps.has(appIdentity(tenantId, appid))) {
        apps.add(appIdentity(tenantId, appid));
        keys.appids.push({ tenantId, appid });
      }
    }
  }
}

/**
 * Merges `changes` into `attributes`: a null value removes the attribute. Plain objects (V8 keeps
 * them fast); names that would reach the prototype are refused at validation, and skipped here.
 * A new profile without removals takes the record's own attributes, not a copy (`node bench/reduce.mjs`:
 * 3.1–3.2 against 3.5–3.9 µs a record to parse, reduce and serialise an insert): nothing changes a
 * row's attributes in place, and a later merge into the same profile copies them first.
 */
function merged(attributes: Attributes | null, changes: WriteRecord['attributes']): Attributes {
  if (attributes === null && changes && isMergedAsIs(changes)) return changes as Attributes;
  const out: Attributes = { ...attributes };
  if (!changes) return out;
  for (const name in changes) {
    if (!Object.hasOwn(changes, name) || name === '__proto__') continue;
    const value = changes[name];
    if (value === null) delete out[name];
    else out[name] = value as AttributeValue;
  }
  return out;
}

/** Whether merging `changes` into nothing gives them as they are: no removal, nothing the merge skips. */
function isMergedAsIs(changes: NonNullable<WriteRecord['attributes']>): boolean {
  for (const name in changes) if (changes[name] === null || !Object.hasOwn(changes, name) || name === '__proto__') return false;
  return true;
}

const tooMany = (attributes: Attributes) => Object.keys(attributes).length > LIMITS.attributesPerProfile;


/** Names of the attributes `after` adds, changes or removes against `before`. */
function changedNames(before: Attributes | null, after: Attributes | null): string[] {
  if (!before || !after) return Object.keys((before ?? after)!);
  const names: string[] = [];
  if (before) for (const name in before) if (!after || !Object.hasOwn(after, name) || after[name] !== before[name]) names.push(name);
  if (after) for (const name in after) if (!before || !Object.hasOwn(before, name)) names.push(name);
  return names;
}

/** The event of one profile's change from `before` to `after` (null: absent), or null if neither exists. */
function changeEvent(
  kind: 'profile' | 'app_profile',
  before: { attributes: Attributes } | null,
  after: (MasterProfileRow | AppProfileRow) | null,
  identity: { tenantId: number; customerId: string; appId: string | null; deviceId: string | null },
  profile: ChangedProfile | null,
  origin: { transid: string; now: number },
): NewChangeEvent | null {
  if (!before && !after) return null;
  const type = `${kind}.${!before ? 'created' : after ? 'updated' : 'deleted'}` as ChangeEventType;
  const { tenantId, customerId, appId, deviceId } = identity;
  return {
    tenantId,
    type,
    customerId,
    occurredAt: origin.now,
    body: { type, occurredAt: isoOf(origin.now), customerId, appId, deviceId, transid: origin.transid, changed: changedNames(before?.attributes ?? null, after?.attributes ?? null), profile },
  };
}

/** The in-memory view of the rows a batch touches, with every change it made. */
class Workspace {
  readonly masters = new Map<string, MasterProfileRow | null>();
  readonly apps = new Map<string, AppProfileRow | null>();
  /** One per change, in order (see `changeEvent`). */
  private readonly events: NewChangeEvent[] = [];
  /** The write transaction whose records make the changes now (`begin`). */
  private origin = { transid: '', now: 0 };
  /** Identity of every touched profile, by key (ids may hold any character, so keys are not parsed back). */
  private readonly touchedMasters = new Map<string, { tenantId: number; customerId: string }>();
  private readonly touchedApps = new Map<string, AppIdentity>();

  /** The channel of each app the batch writes to that is still in the directory. */
  private readonly channels: Map<string, string>;

  constructor(snapshot: ProfileSnapshot) {
    for (const row of snapshot.masters) this.masters.set(masterKey(row.tenantId, row.customerId), row);
    for (const row of snapshot.apps) this.apps.set(appKey(row), row);
    this.channels = new Map(snapshot.appids.map((a) => [appIdentity(a.tenantId, a.appid), a.channel]));
  }

  begin(transid: string, now: number): void {
    this.origin = { transid, now };
  }

  hasApp(tenantId: number, appid: string): boolean {
    return this.channels.has(appIdentity(tenantId, appid));
  }

  master(tenantId: number, customerId: string): MasterProfileRow | null {
    return this.masters.get(masterKey(tenantId, customerId)) ?? null;
  }

  setMaster(tenantId: number, customerId: string, row: MasterProfileRow | null): void {
    const key = masterKey(tenantId, customerId);
    const before = this.masters.get(key) ?? null;
    this.masters.set(key, row);
    this.touchedMasters.set(key, { tenantId, customerId });
    const profile = row && toProfileDocument(customerId, row, [], () => null);
    const event = changeEvent('profile', before, row, { tenantId, customerId, appId: null, deviceId: null }, profile, this.origin);
    if (event) this.events.push(event);
  }

  app(key: AppIdentity): AppProfileRow | null {
    return this.apps.get(appKey(key)) ?? null;
  }

  setApp(key: AppIdentity, row: AppProfileRow | null): void {
    const k = appKey(key);
    const before = this.apps.get(k) ?? null;
    this.apps.set(k, row);
    const { tenantId, appid, customerId } = key;
    this.touchedApps.set(k, { tenantId, appid, customerId, deviceId: key.deviceId });
    const deviceId = key.deviceId === '' ? null : key.deviceId;
    const channel = this.channels.get(appIdentity(tenantId, appid)) ?? '';
    const profile = row && toAppProfileLine(row, channel);
    const event = changeEvent('app_profile', before, row, { tenantId, customerId, appId: appid, deviceId }, profile, this.origin);
    if (event) this.events.push(event);
  }

  /** Live app profiles matching `test` (scans the batch's rows; deletes are rare). */
  findApps(test: (row: AppProfileRow) => boolean): AppProfileRow[] {
    const found: AppProfileRow[] = [];
    for (const row of this.apps.values()) if (row && test(row)) found.push(row);
    return found;
  }

  changes(): ProfileChanges {
    const changes: ProfileChanges = { masterUpserts: [], masterDeletes: [], appUpserts: [], appDeletes: [], events: this.events };
    for (const [key, identity] of this.touchedMasters) {
      const row = this.masters.get(key);
      if (row) changes.masterUpserts.push(row);
      else changes.masterDeletes.push(identity);
    }
    for (const [key, identity] of this.touchedApps) {
      const row = this.apps.get(key);
      if (row) changes.appUpserts.push(row);
      else changes.appDeletes.push(identity);
    }
    return changes;
  }
}

const ok = (customerId: string): RecordResult => ({ customerId, code: '1000' });

function applyMaster(ws: Workspace, wt: ClaimedWriteTransaction, record: WriteRecord, now: number): RecordResult {
  const { tenantId } = wt;
  const customerId = record.customerId!;
  const current = ws.master(tenantId, customerId);
  switch (wt.operation) {
    case 'createProfile':
    case 'updateProfile': {
      if (wt.operation === 'createProfile' && current) return { customerId, code: '7015' };
      if (wt.operation === 'updateProfile' && !current && !wt.isUpsert) return { customerId, code: '7014' };
      const attributes = merged(current?.attributes ?? null, record.attributes);
      if (tooMany(attributes)) {
        return { customerId, code: '7011', reason: `the profile would hold more than ${LIMITS.attributesPerProfile} attributes` };
      }
      ws.setMaster(tenantId, customerId, { tenantId, customerId, attributes, createdAt: current?.createdAt ?? now, updatedAt: now });
      return ok(customerId);
    }
    case 'deleteProfile': {
      if (!current) return { customerId, code: '7203' };
      ws.setMaster(tenantId, customerId, null);
      if (wt.isCascade) {
        for (const row of ws.findApps((r) => r.tenantId === tenantId && r.customerId === customerId)) ws.setApp(row, null);
      }
      return ok(customerId);
    }
    default:
      throw new Error(`operation ${wt.operation} is not a master-profile operation`);
  }
}

/** The result of a record written to an app that was deleted after the write was accepted. */
function appDeleted(record: WriteRecord): RecordResult {
  return {
    customerId: record.customerId ?? record.userId!,
    code: '7018',
    reason: 'the app was deleted after this write was accepted',
    ...(record.userId !== undefined && { userId: record.userId }),
    ...(record.deviceId !== undefined && { deviceId: record.deviceId }),
  };
}

function applyApp(ws: Workspace, wt: ClaimedWriteTransaction, record: WriteRecord, now: number): RecordResult {
  const { tenantId } = wt;
  const appid = wt.appid!;
  if (!ws.hasApp(tenantId, appid)) return appDeleted(record);
  switch (wt.operation) {
    case 'createAppProfile':
    case 'updateAppProfile': {
      const key = { tenantId, appid, customerId: record.customerId!, deviceId: record.deviceId ?? '' };
      const current = ws.app(key);
      const result: RecordResult = { customerId: key.customerId, code: '1000' };
      if (record.deviceId) result.deviceId = record.deviceId;
      if (wt.operation === 'createAppProfile' && current) return { ...result, code: '7015' };
      if (wt.operation === 'updateAppProfile' && !current && !wt.isUpsert) return { ...result, code: '7014' };
      const attributes = merged(current?.attributes ?? null, record.attributes);
      if (tooMany(attributes)) {
        return { ...result, code: '7011', reason: `the profile would hold more than ${LIMITS.attributesPerProfile} attributes` };
      }
      const userId = typeof attributes.userId === 'string' && attributes.userId !== '' ? attributes.userId : null;
      const row: AppProfileRow = { tenantId, appid, customerId: key.customerId, deviceId: key.deviceId, userId, attributes, createdAt: current?.createdAt ?? now, updatedAt: now };
      ws.setApp(key, row);
      return result;
    }
    case 'deleteAppProfile': {
      const matches = record.customerId !== undefined
        ? ws.findApps((r) => r.tenantId === tenantId && r.appid === appid && r.customerId === record.customerId)
        : ws.findApps((r) => r.tenantId === tenantId && r.appid === appid && r.userId === record.userId);
      const named = record.customerId ?? matches[0]?.customerId ?? record.userId!;
      const result: RecordResult = { customerId: named, code: '1000', ...(record.userId !== undefined && { userId: record.userId }) };
      if (matches.length === 0) return { ...result, code: '7014' };
      for (const row of matches) ws.setApp(row, null);
      return result;
    }
    case 'deleteDevice': {
      const idOrUser = record.customerId!;
      const deviceId = record.deviceId!;
      const matches = ws.findApps(
        (r) => r.tenantId === tenantId && r.appid === appid && r.deviceId === deviceId && (r.customerId === idOrUser || r.userId === idOrUser),
      );
      const first = matches[0];
      const result: RecordResult = {
        customerId: first?.customerId ?? idOrUser,
        code: matches.length ? '1000' : '7014',
        ...((first?.userId ?? null) !== null && { userId: first!.userId! }),
        deviceId,
      };
      for (const row of matches) ws.setApp(row, null);
      return result;
    }
    default:
      throw new Error(`operation ${wt.operation} is not an app-profile operation`);
  }
}

/**
 * Whether an import row must leave a stored profile as it is: the profile changed after the
 * import started and after the row's own `updatedAt` (`ImportedRow`).
 */
const isNewerThanRow = (current: { updatedAt: number } | null, startedAt: number, rowUpdatedAt: number | null) =>
  current !== null && current.updatedAt > Math.max(startedAt, rowUpdatedAt ?? startedAt);

/**
 * One import row: creates its master profile or merges its attributes into the stored one (as an
 * update with upsert does), likewise each of its app profiles, keeping the file's timestamps. A
 * profile that changed after the import started is left as it is, and the row's result is 7921
 * (the row's other profiles still apply); an app deleted since acceptance gives 7018.
 */
function applyImport(ws: Workspace, wt: ClaimedWriteTransaction, record: WriteRecord): RecordResult {
  const { tenantId } = wt;
  const customerId = record.customerId!;
  const row = record.imported!;
  const kept: string[] = [];
  const tooManyIn: string[] = [];
  if (record.attributes) {
    const current = ws.master(tenantId, customerId);
    if (isNewerThanRow(current, row.startedAt, row.updatedAt)) kept.push('the master profile');
    else {
      const attributes = merged(current?.attributes ?? null, record.attributes);
      if (tooMany(attributes)) tooManyIn.push('the master profile');
      else {
        const createdAt = row.createdAt ?? current?.createdAt ?? row.startedAt;
        ws.setMaster(tenantId, customerId, { tenantId, customerId, attributes, createdAt, updatedAt: row.updatedAt ?? row.startedAt });
      }
    }
  }
  for (const app of row.appProfiles) {
    if (!ws.hasApp(tenantId, app.appid)) return { customerId, code: '7018', reason: `app ${app.appid} was deleted after this import row was accepted` };
    const key = { tenantId, appid: app.appid, customerId, deviceId: app.deviceId };
    const current = ws.app(key);
    const what = `app profile ${app.appid}${app.deviceId ? `/${app.deviceId}` : ''}`;
    if (isNewerThanRow(current, row.startedAt, app.updatedAt)) {
      kept.push(what);
      continue;
    }
    const attributes = merged(current?.attributes ?? null, app.attributes);
    if (tooMany(attributes)) {
      tooManyIn.push(what);
      continue;
    }
    const userId = typeof attributes.userId === 'string' && attributes.userId !== '' ? attributes.userId : null;
    const createdAt = app.createdAt ?? current?.createdAt ?? row.startedAt;
    ws.setApp(key, { ...key, userId, attributes, createdAt, updatedAt: app.updatedAt ?? row.startedAt });
  }
  if (tooManyIn.length > 0) {
    return { customerId, code: '7011', reason: `${tooManyIn.join(', ')} would hold more than ${LIMITS.attributesPerProfile} attributes` };
  }
  if (kept.length > 0) return { customerId, code: '7921', reason: `${kept.join(', ')} changed after the import started; kept as stored` };
  return ok(customerId);
}

/**
 * Applies a batch, in acceptance order, to the loaded rows. Returns the final state of every
 * touched profile and the per-record results of every write transaction.
 */
export function reduceWriteTransactions(
  batch: readonly ClaimedWriteTransaction[],
  snapshot: ProfileSnapshot,
  now: number,
): { changes: ProfileChanges; results: Map<string, RecordResult[]> } {
  const ws = new Workspace(snapshot);
  const results = new Map<string, RecordResult[]>();
  for (const wt of batch) {
    ws.begin(wt.transid, now);
    const apply = wt.operation === 'importProfiles' ? applyImport : wt.appid === null ? applyMaster : applyApp;
    results.set(
      wt.transid,
      wt.records.map((record) => apply(ws, wt, record, now)),
    );
  }
  return { changes: ws.changes(), results };
}
