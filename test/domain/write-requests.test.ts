/** A create's or update's records, validated on acceptance and derived again from the queue's text. */
import { describe, expect, it } from 'vitest';
import { parseWriteBody, recordsOfStored, storedBody, type WriteTarget } from '../../src/domain/write-requests.js';
import type { AttributeDefinition } from '../../src/model/directory.js';

const def = (name: string): AttributeDefinition => ({ id: 1, tenantId: 1, scope: '', name, type: 'string' });
const schema = new Map(['customerId', 'name', 'email', 'userId', 'deviceId'].map((n) => [n, def(n)]));
const master: WriteTarget = { kind: 'master', schema };
const app = (channel: string): WriteTarget => ({ kind: 'app', app: { appid: 'a1', tenantId: 1, channel, createdAt: '' }, schema });

/** The records acceptance validates, and those the applier derives from the stored text. */
function both(bodyText: string, target: WriteTarget) {
  const accepted = parseWriteBody(JSON.parse(bodyText), target, 100).records;
  return { accepted, stored: recordsOfStored(storedBody(bodyText, target)) };
}

describe('a stored body', () => {
  it.each([
    ['batch', master, '{"Records":[{"customerId":"c1","Attributes":{"name":"Å","email":null}},{"customerId":"c2","Attributes":{}}]}'],
    ['single record, its customerId among its attributes', master, '{"customerId":"c1","Attributes":{"customerId":"c1","name":"n"}}'],
    ['numeric customerId, lower-case attributes', master, '{"Records":[{"customerId":42,"attributes":{"name":"n"}}]}'],
    ['no Attributes', master, '{"Records":[{"customerId":"c1"}]}'],
    ['pretty-printed, with fields the service ignores', master, '{\n  "Records": [\n    { "customerId": "c1", "extra": 1, "Attributes": { "name": "n" } }\n  ]\n}\n'],
    ['app, userId', app('fb'), '{"Records":[{"customerId":"c1","Attributes":{"userId":"u1","deviceId":"not a key here"}}]}'],
    ['per-device app', app('rt'), '{"Records":[{"customerId":"c1","Attributes":{"deviceId":"d1","userId":""}},{"customerId":"c1","Attributes":{"deviceId":"d2"}}]}'],
  ])('%s: gives the records validated on acceptance', (_, target, bodyText) => {
    const { accepted, stored } = both(bodyText, target);
    expect(stored).toEqual(accepted);
    expect(stored.length).toBeGreaterThan(0);
  });

  it('keys records as its target did when accepted', () => {
    expect(both('{"customerId":7,"Attributes":{"customerId":"7","name":"n"}}', master).stored).toEqual([{ customerId: '7', attributes: { name: 'n' } }]);
    expect(both('{"customerId":"c1","Attributes":{"userId":"u1","deviceId":"d1"}}', app('fb')).stored).toEqual([
      { customerId: 'c1', userId: 'u1', attributes: { userId: 'u1', deviceId: 'd1' } },
    ]);
    expect(both('{"customerId":"c1","Attributes":{"deviceId":"d1"}}', app('rt')).stored).toEqual([{ customerId: 'c1', deviceId: 'd1', attributes: { deviceId: 'd1' } }]);
  });

  it('reads records queued as a WriteRecord[] (deletes, and journals written before bodies were stored)', () => {
    const records = [{ customerId: 'c1', attributes: { name: 'n' } }, { customerId: 'c2', userId: 'u2', deviceId: 'd2', attributes: {} }];
    expect(recordsOfStored(JSON.stringify(records))).toEqual(records);
  });

  it('fails on text that is not JSON, rather than applying a write transaction without its records', () => {
    expect(() => recordsOfStored(storedBody('{"Records":[', master))).toThrow(SyntaxError);
  });
});
