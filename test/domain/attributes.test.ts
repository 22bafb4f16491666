import { describe, expect, it } from 'vitest';
import { attributeNameProblem, valueProblem } from '../../src/domain/attributes.js';
import type { AttributeType } from '../../src/model/directory.js';

const def = (type: AttributeType, extra = {}) => ({ name: 'a', type, ...extra });

describe('attribute values', () => {
  const cases: Array<[AttributeType, unknown[], unknown[]]> = [
    ['string', ['x', '', 12, true], [{}, [], Number.NaN]],
    ['number', ['12', '-1.5', '1e3', 7, 0.25], ['1,5', 'abc', '0x10', true]],
    ['integer', ['12', '-3', 9], ['1.5', '1e3', 1.5, '99999999999999999999']],
    ['boolean', ['true', 'false', '1', '0', true, false, 1, 0], ['yes', 'TRUE', '2']],
    ['flag', ['0', '1', 0, 1], ['true', '2', true]],
    ['date', ['2016-07-11', '2024-02-29', '2000-02-29', '2016-12-31'], ['2023-02-29', '1900-02-29', '2016-04-31', '2016-01-00', '2016-13-01', '11/07/2016']],
    [
      'datetime',
      ['2016-07-11 17:02:51', '2016-07-25T16:39:54+0530', '2016-07-25T16:39:54+05:30', '2016-07-25T11:09:54Z', '2016-07-25T11:09:54.123Z', '2016-07-25T23:59Z', '2024-02-29 00:00:00'],
      ['2016-07-11 25:02:51', '2016-07-11 23:60:00', '2016-02-30 10:00:00', '2016-07-25T16:39:54', '2016-07-11', 'yesterday', '2016-07-25T24:00Z', '2016-07-25T16:60Z', '2016-07-25T16:39:60Z', '1900-02-29T00:00Z'],
    ],
    ['email', ['ada@example.com', 'a.b+c@sub.example.org'], ['not-an-email', 'a@b', 'a b@example.com']],
    ['msisdn', ['+447700900001', '447700900002', '123456'], ['+4477009abc', '12345', '+1234567890123456', 'call me']],
    ['url', ['https://example.com/x?y=1', 'http://a.b'], ['ftp://example.com', 'example.com', 'javascript:alert(1)']],
  ];
  for (const [type, good, bad] of cases) {
    it(`accepts valid ${type} values`, () => {
      for (const v of good) expect(valueProblem(def(type), v), `${type} ${JSON.stringify(v)}`).toBeNull();
    });
    it(`refuses invalid ${type} values with a reason`, () => {
      for (const v of bad) expect(valueProblem(def(type), v), `${type} ${JSON.stringify(v)}`).toMatch(/\w/);
    });
  }

  it('accepts the empty string as a blank value of any type', () => {
    for (const type of ['email', 'msisdn', 'date', 'datetime', 'flag'] as const) expect(valueProblem(def(type), '')).toBeNull();
  });

  it('checks enum values against the list', () => {
    expect(valueProblem(def('enum', { values: ['sms', 'email'] }), 'sms')).toBeNull();
    expect(valueProblem(def('enum', { values: ['sms', 'email'] }), 'fax')).toMatch(/one of/);
  });

  it('refuses values over the length limit', () => {
    expect(valueProblem(def('string'), 'x'.repeat(4096))).toBeNull();
    expect(valueProblem(def('string'), 'x'.repeat(4097))).toMatch(/longer than 4096/);
    expect(valueProblem(def('string', { maxLength: 3 }), 'abcd')).toMatch(/longer than 3/);
  });
});

describe('attribute names', () => {
  it('accepts letters, digits, _ . - after a leading letter, up to 64 characters', () => {
    for (const name of ['a', 'dob', 'channel_pref', 'x.y-z', 'A'.repeat(64)]) expect(attributeNameProblem(name)).toBeNull();
  });
  it('refuses prototype names and malformed names', () => {
    for (const name of ['__proto__', 'constructor', 'prototype', '', '1abc', '_x', 'a b', 'a$', 'A'.repeat(65)]) {
      expect(attributeNameProblem(name), name).toMatch(/\w/);
    }
  });
});
