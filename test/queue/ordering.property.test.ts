import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestTenant } from '../support/server.js';

/**
 * Random interleavings of creates, updates and deletes for a few hot customers, spread over many
 * requests that are accepted while the worker applies: the final state and every per-record result
 * equal applying the writes one by one in acceptance order.
 */
type Op =
  | { kind: 'create' | 'update'; customerId: string; attributes: Record<string, string | null> }
  | { kind: 'delete'; customerId: string };

const CUSTOMERS = ['hot-a', 'hot-b', 'hot-c'];
const customer = fc.constantFrom(...CUSTOMERS);
const attributes = fc.dictionary(fc.constantFrom('name', 'email', 'msisdn'), fc.option(fc.constantFrom('v1', 'v2', 'v3'), { nil: null }), {
  minKeys: 1,
});
/** A request: one to four operations of the same kind (one write transaction). */
const request = fc.oneof(
  fc.array(fc.record({ kind: fc.constant('create' as const), customerId: customer, attributes }), { minLength: 1, maxLength: 4 }),
  fc.array(fc.record({ kind: fc.constant('update' as const), customerId: customer, attributes }), { minLength: 1, maxLength: 4 }),
  fc.array(fc.record({ kind: fc.constant('delete' as const), customerId: customer }), { minLength: 1, maxLength: 4 }),
);

// Values are drawn from valid sets: email and msisdn need valid values.
const VALID: Record<string, Record<string, string>> = {
  name: { v1: 'Ann', v2: 'Bea', v3: 'Cy' },
  email: { v1: 'a@example.com', v2: 'b@example.com', v3: 'c@example.com' },
  msisdn: { v1: '+447700900001', v2: '447700900002', v3: '123456' },
};
const realise = (attrs: Record<string, string | null>) =>
  Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, v === null ? null : VALID[k][v]]));

/** Sequential application: the model the service must match. */
function model(requests: Op[][]): { state: Map<string, Record<string, string>>; codes: string[][] } {
  const state = new Map<string, Record<string, string>>();
  const codes = requests.map((ops) =>
    ops.map((o) => {
      const current = state.get(o.customerId);
      if (o.kind === 'delete') {
        if (!current) return '7203';
        state.delete(o.customerId);
        return '1000';
      }
      if (o.kind === 'create' && current) return '7015';
      if (o.kind === 'update' && !current) return '7014';
      const next = { ...(current ?? {}) };
      for (const [k, v] of Object.entries(realise(o.attributes))) {
        if (v === null) delete next[k];
        else next[k] = v;
      }
      state.set(o.customerId, next);
      return '1000';
    }),
  );
  return { state, codes };
}

describe('ordering: one customer, many requests', () => {
  let t: TestServer;
  beforeAll(async () => {
    // Small worker batches, so that batches split the interleavings at many points.
    t = await startTestServer({ workerBatchSize: 3, workerIdlePollMs: 5 });
  });
  afterAll(() => t.close());

  it('ends in the state, with the per-record results, of sequential application in acceptance order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: 1, maxLength: 25 }), async (requests) => {
        const tenant: TestTenant = await t.tenant([]);
        const transids: string[] = [];
        for (const ops of requests) {
          const kind = ops[0].kind;
          const res =
            kind === 'delete'
              ? await t.api('DELETE', `/customerprofile?${ops.map((o) => `customerId=${o.customerId}`).join('&')}`, { key: tenant.key })
              : await t.api(kind === 'create' ? 'POST' : 'PUT', '/customerprofile', {
                  key: tenant.key,
                  body: { Records: ops.map((o) => ({ customerId: o.customerId, Attributes: realise((o as { attributes: Record<string, string | null> }).attributes) })) },
                });
          expect(res.status, JSON.stringify(res.body)).toBe(202);
          transids.push(res.body.response.transid);
        }
        const expected = model(requests);
        const codes: string[][] = [];
        for (const transid of transids) {
          const st = await t.api('GET', `/profile/status/${transid}`, { key: tenant.key });
          let body = st.body;
          for (let i = 0; body.code === '7600' && i < 200; i++) {
            await new Promise((r) => setTimeout(r, 20));
            body = (await t.api('GET', `/profile/status/${transid}`, { key: tenant.key })).body;
          }
          codes.push(body.Results.map((r: { code: string }) => r.code));
        }
        expect(codes).toEqual(expected.codes);
        for (const id of CUSTOMERS) {
          const read = await t.api('GET', `/customerprofile/${id}`, { key: tenant.key });
          const want = expected.state.get(id);
          if (!want) expect(read.status).toBe(404);
          else {
            const got = Object.fromEntries(read.body.Records[0].Attributes.map((e: { Name: string; Value: string }) => [e.Name, e.Value]));
            expect(got).toEqual({ customerId: id, ...want });
          }
        }
      }),
      { numRuns: 40 },
    );
  });
});
