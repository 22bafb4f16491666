import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_CODES } from '../../src/domain/errors.js';
import { startTestServer, type TestServer, type TestTenant } from '../support/server.js';

/**
 * Hostile input over every route (fast-check): whatever arrives, the answer is a documented code
 * at its documented HTTP status (never a 500), the server stays up, and a refused request queues
 * nothing. The worker is off, so the queue depth counts exactly what was accepted.
 */
const NASTY_STRINGS = [
  '__proto__',
  'constructor',
  'prototype',
  "'; DROP TABLE master_profiles; --",
  '" OR 1=1 --',
  '%00',
  '%FF%FE',
  '%E0%A4%A',
  '\u0000',
  '\ud800',
  '😀',
  '../../etc/passwd',
  'a'.repeat(5000),
  '',
  ' ',
  '%',
  '?',
  '#',
];
const nasty = fc.oneof(fc.constantFrom(...NASTY_STRINGS), fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 20 }));
const scalar = fc.oneof(nasty, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant(1e308), fc.bigInt().map(String));
const jsonValue = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, scalar, fc.array(tie('value'), { maxLength: 4 }), fc.dictionary(nasty, tie('value'), { maxKeys: 4 })),
})).value;
const attributes = fc.dictionary(fc.oneof(nasty, fc.constantFrom('name', 'email', 'msisdn', 'status', 'deviceId', 'userId', 'sms')), scalar, { maxKeys: 6 });
const record = fc.record({ customerId: fc.oneof(nasty, fc.integer(), fc.constant(undefined)), Attributes: fc.oneof(attributes, jsonValue) }, { requiredKeys: [] });
const body = fc.oneof(
  fc.record({ Records: fc.array(record, { maxLength: 5 }) }),
  fc.record({ Records: fc.oneof(jsonValue, fc.constant([])) }),
  record,
  jsonValue,
  fc.constant('{"Records": [{"customerId": "x",'),
  fc.constant('{"Records":[{"customerId":"x","Attributes":{"__proto__":{"admin":true}}}]}'),
  fc.constant('{"constructor":{"prototype":{"polluted":1}}}'),
  fc.constant('['.repeat(5000) + ']'.repeat(5000)),
  fc.constant(`{"Records":[{"customerId":"x","Attributes":{"name":${'9'.repeat(400)}}}]}`),
  fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from([0x7b, 0x22, 0xff, 0xfe, ...bytes])),
  fc.string({ maxLength: 200 }),
);

type Route = { method: string; path: (app: string, id: string, other: string) => string; hasBody: boolean };
const ROUTES: Route[] = [
  { method: 'GET', path: (_a, id) => `/customerprofile/${id}`, hasBody: false },
  { method: 'GET', path: (_a, id, o) => `/customerprofile?customerId=${id}&customerId=${o}&showinwardlinks=${o}`, hasBody: false },
  { method: 'POST', path: () => '/customerprofile', hasBody: true },
  { method: 'PUT', path: () => '/customerprofile', hasBody: true },
  { method: 'DELETE', path: (_a, id) => `/customerprofile/${id}`, hasBody: false },
  { method: 'DELETE', path: (_a, id, o) => `/customerprofile?customerId=${id}&cascade=${o}`, hasBody: false },
  { method: 'GET', path: (a, id) => `/customerappprofile/${a}/${id}`, hasBody: false },
  { method: 'GET', path: (a, id, o) => `/customerappprofile/${a}?identifier=${id}&identifier=${o}`, hasBody: false },
  { method: 'POST', path: (a) => `/customerappprofile/${a}`, hasBody: true },
  { method: 'PUT', path: (a) => `/customerprofiles/${a}`, hasBody: true },
  { method: 'PUT', path: (a) => `/customerappprofile/${a}`, hasBody: true },
  { method: 'DELETE', path: (a, id) => `/customerappprofile/${a}/${id}`, hasBody: false },
  { method: 'DELETE', path: (a, id, o) => `/customerappprofile/${a}/${id}/${o}`, hasBody: false },
  { method: 'DELETE', path: (a) => `/customerappprofile/${a}`, hasBody: false },
  { method: 'GET', path: (_a, id) => `/profile/status/${id}`, hasBody: false },
];

/** Percent-encodes every byte (lone surrogates become U+FFFD, as a client library would send them); `raw` strings go as they are. */
const enc = (s: string) => (s.startsWith('%') ? s : [...Buffer.from(s, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join(''));

const documented = new Map(Object.entries(API_CODES).map(([code, e]) => [code, e.httpStatus]));

describe('hostile input on every route', () => {
  let t: TestServer;
  let a: TestTenant;
  let cases = 0;
  beforeAll(async () => {
    t = await startTestServer({ hasApplier: false });
    a = await t.tenant(['fb', 'rt']);
  });
  afterAll(async () => {
    console.log(`hostile input: ${cases} requests, none answered 500`);
    await t.close();
  });

  it('covers every Profile API operation of the OpenAPI document', async () => {
    const doc = (await t.server.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const shape = (method: string, path: string) => `${method.toUpperCase()} ${path.split('?')[0].replace(/\{[^}]*\}/g, '{}')}`;
    const documentedOperations = Object.entries(doc.paths as Record<string, object>)
      .filter(([path]) => path.startsWith('/resources/v2/'))
      .flatMap(([path, ops]) => Object.keys(ops).map((method) => shape(method, path.slice('/resources/v2'.length))));
    const fuzzed = ROUTES.map((r) => shape(r.method, r.path('{}', '{}', '{}')));
    expect(new Set(fuzzed)).toEqual(new Set(documentedOperations));
  });

  it('answers a documented code at its documented status, and queues only what it accepts', async () => {
    const appid = fc.oneof(fc.constantFrom('fb', 'rt').map((c) => a.apps[c]), nasty);
    const contentType = fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', undefined);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ROUTES), appid, nasty, nasty, body, contentType, async (route, app, id, other, payload, type) => {
        cases++;
        const before = (await t.server.storage.journal.queueStats()).depth;
        const res = await t.server.app.inject({
          method: route.method as 'GET',
          url: `/resources/v2${route.path(enc(app), enc(id), enc(other))}`,
          headers: { key: a.key, ...(type && { 'content-type': type }) },
          ...(route.hasBody && { payload: Buffer.isBuffer(payload) ? payload : typeof payload === 'string' ? payload : JSON.stringify(payload) ?? 'null' }),
        });
        expect(res.statusCode, res.body).not.toBe(500);
        const json = res.json();
        const code = json?.response?.code ?? json?.code;
        expect(documented.has(code), `${res.statusCode} ${res.body.slice(0, 200)}`).toBe(true);
        // 7012 is 413 for an oversized body; otherwise the registry's status.
        if (!(code === '7012' && res.statusCode === 413)) expect(res.statusCode).toBe(code === '1000' && res.statusCode === 202 ? 202 : documented.get(code));
        const after = (await t.server.storage.journal.queueStats()).depth;
        expect(after - before, `${route.method} ${res.statusCode}`).toBe(res.statusCode === 202 ? 1 : 0);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        expect(({} as Record<string, unknown>).admin).toBeUndefined();
      }),
      { numRuns: 2000 },
    );
    expect((await t.server.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  }, 300_000);

});

describe('unicode', () => {
  it('round-trips any string value exactly (lone surrogates, NUL, astral characters)', async () => {
    const t = await startTestServer();
    try {
      const a = await t.tenant([]);
      let n = 0;
      await fc.assert(
        fc.asyncProperty(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }), async (s1, s2) => {
          const ids = [`u${n++}`, `u${n++}`];
          const st = await t.apply('POST', '/customerprofile', a.key, {
            Records: [{ customerId: ids[0], Attributes: { name: s1 } }, { customerId: ids[1], Attributes: { name: s2 } }],
          });
          expect(st.body.code).toBe('1000');
          const read = await t.api('GET', `/customerprofile?customerId=${ids[0]}&customerId=${ids[1]}`, { key: a.key });
          const names = read.body.Records.map((r: { Attributes: Array<{ Name: string; Value: string }> }) => r.Attributes.find((e) => e.Name === 'name')?.Value);
          expect(names).toEqual([s1, s2]);
        }),
        { numRuns: 150 },
      );
    } finally {
      await t.close();
    }
  }, 120_000);
});
