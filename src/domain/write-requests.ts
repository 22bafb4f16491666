import type { App, AttributeDefinition, AttributeValue } from '../model/directory.js';
import type { WriteRecord } from '../model/write-transaction.js';
import { LIMITS, attributeNameProblem, valueProblem } from './attributes.js';
import { isPerDeviceChannel } from './channels.js';
import { ApiError, type Problem } from './errors.js';

/** Where the records of a write go: the master profile, or one app. */
export type WriteTarget =
  | { kind: 'master'; schema: ReadonlyMap<string, AttributeDefinition> }
  | { kind: 'app'; app: App; schema: ReadonlyMap<string, AttributeDefinition> };

export interface ParsedWrite {
  records: WriteRecord[];
  /** App attribute names not defined yet for the app (accepted as strings). */
  newAppAttributes: string[];
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The records of a create or update body (contract §2, §3.1, §6), validated all-or-nothing.
 * Throws an ApiError naming every offending record and attribute.
 */
export function parseWriteBody(body: unknown, target: WriteTarget, batchLimit: number): ParsedWrite {
  if (!isPlainObject(body)) throw new ApiError('7000', 'The body must be a JSON object');
  const rawRecords = recordsOf(body);
  if (rawRecords.length > batchLimit) {
    throw new ApiError('7012', `${rawRecords.length} records in one request; the limit is ${batchLimit}`);
  }
  const problems: Problem[] = [];
  const records: WriteRecord[] = [];
  const newAppAttributes = new Set<string>();
  rawRecords.forEach((raw, index) => {
    const record = parseRecord(raw, index, target, problems, newAppAttributes);
    if (record) records.push(record);
  });
  if (target.kind === 'app' && target.schema.size + newAppAttributes.size > LIMITS.attributesPerApp) {
    problems.push({
      code: '7011',
      reason: `app ${target.app.appid} would have more than ${LIMITS.attributesPerApp} distinct attribute names`,
    });
  }
  throwProblems(problems);
  return { records, newAppAttributes: [...newAppAttributes] };
}

/** `Records`, or a bare single record; 7003 when neither is usable. */
function recordsOf(body: Record<string, unknown>): unknown[] {
  if ('Records' in body) {
    const records = body.Records;
    if (!Array.isArray(records)) throw new ApiError('7003', 'Records must be an array of records');
    if (records.length === 0) throw new ApiError('7003', 'Records is empty');
    return records;
  }
  if ('customerId' in body) return [body];
  throw new ApiError('7003', 'Records is missing');
}

function parseRecord(
  raw: unknown,
  index: number,
  target: WriteTarget,
  problems: Problem[],
  newAppAttributes: Set<string>,
): WriteRecord | null {
  if (!isPlainObject(raw)) {
    problems.push({ index, code: '7003', reason: 'a record must be an object with customerId and Attributes' });
    return null;
  }
  const customerId = parseCustomerId(raw.customerId, index, problems);
  const at = (attribute: string, reason: string, code: Problem['code'] = '7011') =>
    problems.push({ index, ...(customerId !== undefined && { customerId }), attribute, code, reason });

  const rawAttributes = raw.Attributes ?? raw.attributes ?? {};
  if (!isPlainObject(rawAttributes)) {
    at('Attributes', 'Attributes must be an object of name/value pairs');
    return null;
  }
  const names = Object.keys(rawAttributes);
  if (names.length > LIMITS.attributesPerProfile) {
    at('Attributes', `${names.length} attributes; at most ${LIMITS.attributesPerProfile} per profile`);
  }
  // The parsed object itself, not a copy: with no problem (else the request is refused whole), a
  // copy would hold the same names and values. One object less per record to allocate, collect and
  // stringify. It has an ordinary prototype (JSON.parse), and the loop refuses __proto__,
  // constructor and prototype (attributeNameProblem; no definition has such a name).
  const attributes = rawAttributes as Record<string, AttributeValue | null>;
  for (const name of names) {
    const value = rawAttributes[name];
    // A defined attribute's name was checked when it was defined (tenant-admin.ts, or below).
    let def = target.schema.get(name);
    if (!def) {
      const nameProblem = attributeNameProblem(name);
      if (nameProblem) {
        at(name, nameProblem);
        continue;
      }
      if (target.kind === 'master') {
        at(name, 'not an attribute of this tenant\'s master profile schema');
        continue;
      }
      newAppAttributes.add(name);
      def = { id: 0, tenantId: 0, scope: '', name, type: 'string' };
    }
    if (value === null) continue;
    const problem = valueProblem(def, value);
    if (problem) at(name, problem);
  }

  if (customerId === undefined) return null;
  if (target.kind === 'master' && 'customerId' in attributes && String(attributes.customerId) !== customerId) {
    at('customerId', 'differs from the record\'s customerId');
  }
  if (target.kind === 'app' && isPerDeviceChannel(target.app.channel)) {
    const deviceId = attributes.deviceId;
    if (typeof deviceId !== 'string' || deviceId === '') {
      at('deviceId', `deviceId is mandatory on ${target.app.channel} apps (one app profile per device)`, '7003');
    }
  }
  return recordOf(customerId, attributes, shapeOf(target));
}

/** How a target's records are keyed: master profiles, app profiles, or one app profile per device. */
type RecordShape = 'master' | 'app' | 'device';

const shapeOf = (target: WriteTarget): RecordShape =>
  target.kind === 'master' ? 'master' : isPerDeviceChannel(target.app.channel) ? 'device' : 'app';

/** The record a valid raw record makes: on acceptance (parseRecord) and again from the queue (recordsOfStored). */
function recordOf(customerId: string, attributes: Record<string, AttributeValue | null>, shape: RecordShape): WriteRecord {
  if (shape === 'master') {
    // The record's own customerId, checked to be the same (parseRecord).
    if ('customerId' in attributes) delete attributes.customerId;
    return { customerId, attributes };
  }
  const record: WriteRecord = { customerId, attributes };
  const { userId, deviceId } = attributes;
  if (typeof userId === 'string' && userId !== '') record.userId = userId;
  if (shape === 'device') record.deviceId = deviceId as string;
  return record;
}

/** A create's or update's records as the queue keeps them: the body's own text, and how to read it. */
interface StoredBody {
  shape: RecordShape;
  body: unknown;
}

/**
 * The queue's text for the records of a validated create or update: the request's body as it came,
 * wrapped with its target's shape. Deriving the records again where they are applied costs less
 * than serialising them on the server thread, which bounds acceptance (docs/performance-log.md).
 */
export function storedBody(bodyText: string, target: WriteTarget): string {
  return `{"shape":"${shapeOf(target)}","body":${bodyText}}`;
}

/**
 * The records of a write transaction from the queue's JSON text: a `WriteRecord[]` (deletes, and
 * everything queued before bodies were stored), or a body stored by `storedBody`, validated when
 * it was accepted.
 */
export function recordsOfStored(json: string): WriteRecord[] {
  const stored = JSON.parse(json) as WriteRecord[] | StoredBody;
  if (Array.isArray(stored)) return stored;
  return recordsOf(stored.body as Record<string, unknown>).map((raw) => {
    const { customerId, Attributes, attributes } = raw as Record<string, unknown>;
    return recordOf(String(customerId), (Attributes ?? attributes ?? {}) as Record<string, AttributeValue | null>, stored.shape);
  });
}

function parseCustomerId(value: unknown, index: number, problems: Problem[]): string | undefined {
  if (value === undefined || value === null || value === '') {
    problems.push({ index, attribute: 'customerId', code: '7003', reason: 'customerId is mandatory' });
    return undefined;
  }
  if (typeof value !== 'string' && !(typeof value === 'number' && Number.isSafeInteger(value))) {
    problems.push({ index, attribute: 'customerId', code: '7011', reason: 'customerId must be a string' });
    return undefined;
  }
  const id = String(value);
  const problem = customerIdProblem(id);
  if (problem) {
    problems.push({ index, attribute: 'customerId', code: '7011', reason: problem });
    return undefined;
  }
  return id;
}

/**
 * What a customerId (or userId, deviceId) may be: at most `maxLength` characters (Unicode code
 * points, as JSON Schema counts them), none of them in `controlCharacters` (a regular-expression
 * class body). The OpenAPI document's id schema (src/http/schemas.ts) is made from the same rule.
 */
export const ID_RULE = Object.freeze({ maxLength: LIMITS.customerIdLength, controlCharacters: '\\u0000-\\u001f\\u007f' });

const CONTROL_CHARACTER = new RegExp(`[${ID_RULE.controlCharacters}]`);

/** Whether `text` holds more than `max` code points; counted only when its UTF-16 length leaves it open. */
function isLongerThan(text: string, max: number): boolean {
  if (text.length <= max) return false;
  if (text.length > 2 * max) return true;
  let count = 0;
  for (const _ of text) if (++count > max) return true;
  return false;
}

/** Why a customerId (or userId, deviceId) from a body, path or query is unusable, or null. */
export function customerIdProblem(id: string): string | null {
  if (isLongerThan(id, ID_RULE.maxLength)) return `longer than ${ID_RULE.maxLength} characters`;
  if (CONTROL_CHARACTER.test(id)) return 'control characters are not allowed';
  return null;
}

/**
 * Throws the request's error when there are problems: 7003 if any mandatory field is missing,
 * else 7011. Every problem is listed.
 */
export function throwProblems(problems: Problem[]): void {
  if (problems.length === 0) return;
  const code = problems.some((p) => p.code === '7003') ? '7003' : problems[0].code;
  const first = problems[0];
  const where = first.index !== undefined ? `record ${first.index}${first.customerId ? ` (customerId ${first.customerId})` : ''}` : 'request';
  const summary = `${where}${first.attribute ? `, attribute ${first.attribute}` : ''}: ${first.reason}`;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  throw new ApiError(code, `${summary}${more}`, problems);
}

/**
 * The ids a delete names in its path or query (`customerId` repeated, or one). 7003 when there
 * are none; 7012 over the batch limit; 7011 for an unusable id.
 */
export function parseIds(values: unknown, name: string, batchLimit: number): string[] {
  const list = (Array.isArray(values) ? values : values === undefined ? [] : [values]).filter((v) => v !== '');
  if (list.length === 0) throw new ApiError('7003', `${name} is mandatory`);
  if (list.length > batchLimit) throw new ApiError('7012', `${list.length} ids in one request; the limit is ${batchLimit}`);
  const problems: Problem[] = [];
  list.forEach((value, index) => {
    const problem = typeof value === 'string' ? customerIdProblem(value) : 'must be a string';
    if (problem) problems.push({ index, attribute: name, code: '7011', reason: `${name} ${problem}` });
  });
  throwProblems(problems);
  return list as string[];
}
