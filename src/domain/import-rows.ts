import type { App, AttributeDefinition, AttributeValue } from '../model/directory.js';
import type { ImportedAppProfile, ImportReject } from '../model/import.js';
import type { WriteRecord } from '../model/write-transaction.js';
import { isPerDeviceChannel } from './channels.js';
import { ApiError, type ApiCode, type Problem } from './errors.js';
import { parseWriteBody, type WriteTarget } from './write-requests.js';

/**
 * Import rows (docs/bulk-data.md, "Import"): each row of a file, read as the export writes it, is
 * validated exactly as an API write of the same profile is (`parseWriteBody`: the same 7003/7011
 * reasons), and becomes one `importProfiles` record, or a reject.
 */

/** What validation needs of the tenant: its master schema, and its apps with theirs. */
export interface ImportSchema {
  master: ReadonlyMap<string, AttributeDefinition>;
  app(appid: string): App | null;
  scope(appid: string): ReadonlyMap<string, AttributeDefinition>;
}

/** A valid row's record, and the app attribute names it uses that its app has not defined yet. */
export type RowOutcome =
  | { record: WriteRecord; newAppAttributes: Array<{ appid: string; names: string[] }> }
  | { reject: Pick<ImportReject, 'code' | 'errors'> };

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

const refused = (code: ApiCode, reason: string, attribute?: string): RowOutcome => ({ reject: { code, errors: [{ ...(attribute && { attribute }), reason }] } });

/** ISO 8601 with a zone, as the export writes timestamps. */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/;

/** A timestamp of the file as ms, null when absent; a string saying what is wrong otherwise. */
function timestampOf(value: unknown): number | null | string {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || !TIMESTAMP.test(value)) return 'expected an ISO 8601 timestamp with a zone, e.g. 2026-12-07T10:00:00.000Z';
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? 'not a real date and time' : ms;
}

const problemsOf = (err: unknown): Pick<ImportReject, 'code' | 'errors'> => {
  if (!(err instanceof ApiError)) throw err;
  const errors = err.problems.length > 0 ? err.problems.map(({ attribute, reason }: Problem) => ({ ...(attribute !== undefined && { attribute }), reason })) : [{ reason: err.message }];
  return { code: err.code, errors };
};

/** Collects the problems of one row's parts; the row is refused with the first part's code. */
class RowCheck {
  private code: string | null = null;
  readonly errors: ImportReject['errors'] = [];

  add(code: string, errors: ImportReject['errors']): void {
    this.code ??= code;
    this.errors.push(...errors);
  }

  fail(code: ApiCode, reason: string, attribute?: string): void {
    this.add(code, [{ ...(attribute && { attribute }), reason }]);
  }

  get reject(): Pick<ImportReject, 'code' | 'errors'> | null {
    return this.code === null ? null : { code: this.code, errors: this.errors };
  }
}

/** The master part of a row, validated as an update of that profile; null when invalid (problems in `check`). */
function masterPart(customerId: unknown, attributes: Record<string, unknown>, schema: ImportSchema, check: RowCheck): WriteRecord | null {
  try {
    return parseWriteBody({ customerId, Attributes: attributes }, { kind: 'master', schema: schema.master }, 1).records[0];
  } catch (err) {
    const { code, errors } = problemsOf(err);
    check.add(code, errors);
    return null;
  }
}

/** One app profile of a row, validated as an app write; null when invalid. */
function appPart(
  customerId: string,
  app: App,
  deviceId: unknown,
  attributes: unknown,
  timestamps: { createdAt?: unknown; updatedAt?: unknown },
  schema: ImportSchema,
  check: RowCheck,
  newNames: Array<{ appid: string; names: string[] }>,
): ImportedAppProfile | null {
  const where = `app profile ${app.appid}`;
  if (!isPlainObject(attributes)) return check.fail('7011', `${where}: attributes must be an object of name/value pairs`, 'attributes'), null;
  const isPerDevice = isPerDeviceChannel(app.channel);
  let device = '';
  if (isPerDevice) {
    if (typeof deviceId !== 'string' || deviceId === '') return check.fail('7003', `${where}: deviceId is mandatory on ${app.channel} apps (one app profile per device)`, 'deviceId'), null;
    if (attributes.deviceId !== undefined && attributes.deviceId !== deviceId) return check.fail('7011', `${where}: attribute deviceId differs from the deviceId`, 'deviceId'), null;
    device = deviceId;
  } else if (deviceId !== null && deviceId !== undefined && deviceId !== '') {
    return check.fail('7011', `${where}: deviceId is null on ${app.channel} apps (one app profile per customer)`, 'deviceId'), null;
  }
  const createdAt = timestampOf(timestamps.createdAt);
  const updatedAt = timestampOf(timestamps.updatedAt);
  if (typeof createdAt === 'string') return check.fail('7011', `${where}: createdAt ${createdAt}`, 'createdAt'), null;
  if (typeof updatedAt === 'string') return check.fail('7011', `${where}: updatedAt ${updatedAt}`, 'updatedAt'), null;
  const withDevice = isPerDevice && attributes.deviceId === undefined ? { ...attributes, deviceId: device } : attributes;
  const target: WriteTarget = { kind: 'app', app, schema: schema.scope(app.appid) };
  try {
    const parsed = parseWriteBody({ customerId, Attributes: withDevice }, target, 1);
    if (parsed.newAppAttributes.length > 0) newNames.push({ appid: app.appid, names: parsed.newAppAttributes });
    return { appid: app.appid, deviceId: device, attributes: parsed.records[0].attributes!, createdAt, updatedAt };
  } catch (err) {
    const { code, errors } = problemsOf(err);
    check.add(code, errors.map((e) => ({ ...e, reason: `${where}: ${e.reason}` })));
    return null;
  }
}

const DOCUMENT_FIELDS = new Set(['customerId', 'attributes', 'appProfiles', 'createdAt', 'updatedAt']);
const APP_DOCUMENT_FIELDS = new Set(['customerId', 'appId', 'channel', 'deviceId', 'attributes', 'createdAt', 'updatedAt']);

/** The app of an `appId` field: the tenant's, with the channel the document names (when it names one). */
function appOf(appId: unknown, channel: unknown, schema: ImportSchema, check: RowCheck): App | null {
  if (typeof appId !== 'string' || appId === '') return check.fail('7003', 'appId is mandatory', 'appId'), null;
  const app = schema.app(appId);
  if (!app) return check.fail('7018', `${appId} is not an app of this tenant`, 'appId'), null;
  if (channel !== undefined && channel !== app.channel) return check.fail('7011', `app ${appId} is a ${app.channel} app, not ${String(channel)}`, 'channel'), null;
  return app;
}

function unknownFields(value: Record<string, unknown>, known: ReadonlySet<string>, check: RowCheck): void {
  for (const name of Object.keys(value)) if (!known.has(name)) check.fail('7011', `unknown field ${JSON.stringify(name)} (a profile document has ${[...known].join(', ')})`, name);
}

/**
 * A profile document (one NDJSON line of a default export): its master profile (unless
 * `attributes` is null) and its app profiles.
 */
export function documentRow(value: unknown, schema: ImportSchema, startedAt: number): RowOutcome {
  if (!isPlainObject(value)) return refused('7000', 'a line must be a JSON object: a profile document');
  const check = new RowCheck();
  unknownFields(value, DOCUMENT_FIELDS, check);
  const { customerId, attributes = null, appProfiles = [], createdAt, updatedAt } = value;
  const created = timestampOf(createdAt);
  const updated = timestampOf(updatedAt);
  if (typeof created === 'string') check.fail('7011', `createdAt: ${created}`, 'createdAt');
  if (typeof updated === 'string') check.fail('7011', `updatedAt: ${updated}`, 'updatedAt');
  let master: WriteRecord | null = null;
  if (attributes !== null) {
    if (!isPlainObject(attributes)) check.fail('7011', 'attributes must be an object of name/value pairs, or null (no master profile)', 'attributes');
    else master = masterPart(customerId, attributes, schema, check);
  } else {
    // Validated as the API would, with no attributes.
    master = masterPart(customerId, {}, schema, check);
    if (master) delete master.attributes;
  }
  const apps: ImportedAppProfile[] = [];
  const newNames: Array<{ appid: string; names: string[] }> = [];
  if (!Array.isArray(appProfiles)) check.fail('7011', 'appProfiles must be an array', 'appProfiles');
  else if (master) {
    for (const raw of appProfiles) {
      if (!isPlainObject(raw)) {
        check.fail('7011', 'each of appProfiles must be an object', 'appProfiles');
        continue;
      }
      unknownFields(raw, new Set([...APP_DOCUMENT_FIELDS].filter((f) => f !== 'customerId')), check);
      const app = appOf(raw.appId, raw.channel, schema, check);
      const part = app && appPart(master.customerId!, app, raw.deviceId, raw.attributes, raw, schema, check, newNames);
      if (part) apps.push(part);
    }
  }
  const reject = check.reject;
  if (reject || !master) return { reject: reject ?? { code: '7003', errors: [{ reason: 'customerId is mandatory' }] } };
  if (!master.attributes && apps.length === 0) return refused('7003', 'nothing to import: attributes is null and appProfiles is empty', 'attributes');
  const record: WriteRecord = { ...master, imported: { startedAt, createdAt: created as number | null, updatedAt: updated as number | null, appProfiles: apps } };
  return { record, newAppAttributes: newNames };
}

/** One app profile of `app` (an NDJSON line of an export with `--app`). */
export function appDocumentRow(value: unknown, app: App, schema: ImportSchema, startedAt: number): RowOutcome {
  if (!isPlainObject(value)) return refused('7000', `a line must be a JSON object: an app profile of ${app.appid}`);
  const check = new RowCheck();
  unknownFields(value, APP_DOCUMENT_FIELDS, check);
  if (value.appId !== app.appid) check.fail('7011', `appId must be ${app.appid}, the app imported into`, 'appId');
  else appOf(value.appId, value.channel, schema, check);
  const identity = masterPart(value.customerId, {}, schema, check);
  const newNames: Array<{ appid: string; names: string[] }> = [];
  const part = identity && check.reject === null ? appPart(identity.customerId!, app, value.deviceId, value.attributes, value, schema, check, newNames) : null;
  const reject = check.reject;
  if (reject || !part) return { reject: reject ?? { code: '7003', errors: [{ reason: 'customerId is mandatory' }] } };
  return { record: { customerId: identity!.customerId, imported: { startedAt, createdAt: null, updatedAt: null, appProfiles: [part] } }, newAppAttributes: newNames };
}

/** A CSV cell: its text, and whether it was quoted (docs/bulk-data.md: quoted is a string, unquoted empty is absent). */
export interface CsvCell {
  text: string;
  isQuoted: boolean;
}

/** Columns that are not attributes. */
const TIMESTAMP_COLUMNS = new Set(['createdAt', 'updatedAt']);

/** Where the columns of a CSV file go. Throws ApiError 7922 for a header that cannot be read. */
export function csvColumns(header: readonly CsvCell[], app: App | null): string[] {
  const names = header.map((c) => c.text);
  if (!names.includes('customerId')) throw new ApiError('7922', `the CSV header has no customerId column (it has ${names.slice(0, 10).join(', ')})`);
  if (app && isPerDeviceChannel(app.channel) && !names.includes('deviceId')) throw new ApiError('7922', `the CSV header has no deviceId column, which ${app.channel} apps need`);
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) throw new ApiError('7922', `the CSV header has the column ${JSON.stringify(name)} twice`);
    seen.add(name);
  }
  return names;
}

/** Types whose values may be JSON numbers, and booleans (`valueProblem`). */
const TAKES_NUMBERS = new Set(['number', 'integer', 'boolean', 'flag', 'string', 'enum']);
const TAKES_BOOLEANS = new Set(['boolean', 'string']);
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/**
 * A cell's value: a quoted cell is its string; an unquoted empty cell is absent; an unquoted cell
 * is a JSON number or `true`/`false` where the attribute's type takes one, else its text.
 */
function cellValue(cell: CsvCell, def: AttributeDefinition | undefined): AttributeValue | undefined {
  if (cell.isQuoted) return cell.text;
  if (cell.text === '') return undefined;
  const type = def?.type ?? 'string';
  if ((cell.text === 'true' || cell.text === 'false') && TAKES_BOOLEANS.has(type)) return cell.text === 'true';
  if (JSON_NUMBER.test(cell.text) && TAKES_NUMBERS.has(type)) {
    const n = Number(cell.text);
    if (Number.isFinite(n)) return n;
  }
  return cell.text;
}

/** One CSV record: a master profile, or with `app` one app profile of that app. */
export function csvRow(cells: readonly CsvCell[], columns: readonly string[], app: App | null, schema: ImportSchema, startedAt: number): RowOutcome {
  if (cells.length !== columns.length) {
    return refused('7011', `${cells.length} cells; the header has ${columns.length} columns`);
  }
  const defs = app ? schema.scope(app.appid) : schema.master;
  const attributes: Record<string, AttributeValue> = {};
  let customerId: unknown;
  let deviceId: unknown = null;
  const timestamps: Record<string, unknown> = {};
  columns.forEach((name, i) => {
    const value = cellValue(cells[i], defs.get(name));
    if (name === 'customerId') customerId = cells[i].isQuoted || cells[i].text !== '' ? cells[i].text : undefined;
    else if (TIMESTAMP_COLUMNS.has(name)) timestamps[name] = value;
    else if (app && name === 'deviceId') deviceId = value === undefined ? null : String(value);
    else if (value !== undefined) attributes[name] = value;
  });
  const check = new RowCheck();
  if (!app) {
    const created = timestampOf(timestamps.createdAt);
    const updated = timestampOf(timestamps.updatedAt);
    if (typeof created === 'string') check.fail('7011', `createdAt: ${created}`, 'createdAt');
    if (typeof updated === 'string') check.fail('7011', `updatedAt: ${updated}`, 'updatedAt');
    const master = masterPart(customerId, attributes, schema, check);
    const reject = check.reject;
    if (reject || !master) return { reject: reject! };
    return { record: { ...master, imported: { startedAt, createdAt: created as number | null, updatedAt: updated as number | null, appProfiles: [] } }, newAppAttributes: [] };
  }
  const identity = masterPart(customerId, {}, schema, check);
  const newNames: Array<{ appid: string; names: string[] }> = [];
  const part = identity && appPart(identity.customerId!, app, deviceId, attributes, timestamps, schema, check, newNames);
  const reject = check.reject;
  if (reject || !part) return { reject: reject! };
  return { record: { customerId: identity!.customerId, imported: { startedAt, createdAt: null, updatedAt: null, appProfiles: [part] } }, newAppAttributes: newNames };
}
