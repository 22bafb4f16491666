import type { AttributeType, NewAttributeDefinition } from '../model/directory.js';
import { ATTRIBUTE_TYPES } from '../model/directory.js';

/** Per-profile limits (contract §6). */
export const LIMITS = Object.freeze({
  customerIdLength: 128,
  valueLength: 4096,
  attributesPerProfile: 200,
  /** Distinct attribute names an app may collect (known ones plus the extra ones clients send). */
  attributesPerApp: 1000,
});

/** Attribute names: a letter, then letters, digits, `_`, `.`, `-`; 64 characters at most. */
export const ATTRIBUTE_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

/** Names that must never become keys of a JavaScript object used as a map. */
const RESERVED_NAMES = new Set(['__proto__', 'constructor', 'prototype']);

/** Why `name` cannot be an attribute name, or null. */
export function attributeNameProblem(name: string): string | null {
  if (RESERVED_NAMES.has(name)) return `"${name}" is a reserved name and cannot be an attribute`;
  if (!ATTRIBUTE_NAME.test(name)) {
    return 'attribute names start with a letter and hold at most 64 letters, digits, "_", "." or "-"';
  }
  return null;
}

export const isAttributeType = (type: string): type is AttributeType => (ATTRIBUTE_TYPES as readonly string[]).includes(type);

const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const INTEGER = /^-?(?:0|[1-9]\d*)$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATETIME = /^\d{4}-\d{2}-\d{2}(?: \d{2}:\d{2}:\d{2}|T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2}))$/;
const EMAIL = /^[^\s@"<>()[\],;:\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;
const MSISDN = /^\+?\d{6,15}$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const isLeapYear = (year: number) => year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);

function isCalendarDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  return day <= (month === 2 && isLeapYear(year) ? 29 : DAYS_IN_MONTH[month - 1]);
}

function isTime(h: number, m: number, s: number): boolean {
  return h <= 23 && m <= 59 && s <= 59;
}

/** The two digits of `text` at `i` as a number (DATE and DATETIME put each field at a fixed place). */
const twoDigits = (text: string, i: number) => (text.charCodeAt(i) - 48) * 10 + text.charCodeAt(i + 1) - 48;

/** Whether a text DATE or DATETIME matched holds a real day (and time): no match array, no substrings. */
function isCalendarText(text: string): boolean {
  const year = twoDigits(text, 0) * 100 + twoDigits(text, 2);
  return isCalendarDate(year, twoDigits(text, 5), twoDigits(text, 8));
}

const BOOLEAN_TEXTS = new Set(['true', 'false', '1', '0']);

/** Why a string does not fit `type`, or null. Values arrive as strings in practice. */
function textProblem(def: NewAttributeDefinition, text: string): string | null {
  switch (def.type) {
    case 'string':
      return null;
    case 'number':
      return NUMBER.test(text) ? null : 'expected a number';
    case 'integer':
      return INTEGER.test(text) && Number.isSafeInteger(Number(text)) ? null : 'expected an integer';
    case 'boolean':
      return BOOLEAN_TEXTS.has(text) ? null : 'expected true, false, 1 or 0';
    case 'flag':
      return text === '0' || text === '1' ? null : 'expected "0" or "1"';
    case 'date':
      return DATE.test(text) && isCalendarText(text) ? null : 'expected a date YYYY-MM-DD';
    case 'datetime':
      // Past the date, both forms have the hour at 11 and the minutes at 14; seconds at 17 when a ':' is at 16.
      return DATETIME.test(text) && isCalendarText(text) && isTime(twoDigits(text, 11), twoDigits(text, 14), text.charCodeAt(16) === 58 ? twoDigits(text, 17) : 0)
        ? null
        : 'expected a datetime "YYYY-MM-DD HH:mm:ss" or ISO 8601 with a zone (Z, +05:30 or +0530)';
    case 'email':
      return text.length <= 254 && EMAIL.test(text) ? null : 'expected an email address';
    case 'msisdn':
      return MSISDN.test(text) ? null : 'expected an msisdn: 6 to 15 digits, optionally after a "+"';
    case 'url':
      return isHttpUrl(text) ? null : 'expected an http or https URL';
    case 'enum':
      return def.values?.includes(text) ? null : `expected one of ${JSON.stringify(def.values ?? [])}`;
  }
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * Why `value` is not a valid value of the attribute `def`, or null. `null` (remove) is handled by
 * the caller. An empty string is a blank value of any type.
 */
export function valueProblem(def: NewAttributeDefinition, value: unknown): string | null {
  if (typeof value === 'object' && value !== null) {
    return Array.isArray(value) ? 'arrays are not attribute values' : 'objects are not attribute values';
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return 'numbers must be finite';
    if (!['number', 'integer', 'boolean', 'flag', 'string', 'enum'].includes(def.type)) return `a number does not fit type ${def.type}`;
  } else if (typeof value === 'boolean') {
    if (def.type !== 'boolean' && def.type !== 'string') return `true/false does not fit type ${def.type}`;
    return null;
  } else if (typeof value !== 'string') {
    return 'expected a string';
  }
  const text = String(value);
  const maxLength = Math.min(def.maxLength ?? LIMITS.valueLength, LIMITS.valueLength);
  if (text.length > maxLength) return `longer than ${maxLength} characters (${text.length})`;
  if (text === '') return null;
  return textProblem(def, text);
}
