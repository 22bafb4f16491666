import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applySequentially, requestFor, type ModelOp } from '../support/profile-model.js';
import { startTestServer, type TestServer, type TestTenant } from '../support/server.js';
import { waitFor } from '../support/wait.js';

/**
 * Random interleavings of creates, updates and deletes for a few hot customers, spread over many
 * requests that are accepted while the applier applies: the final state and every per-record result
 * equal applying the writes one by one in acceptance order.
 */
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

describe('ordering: one customer, many requests', () => {
  let t: TestServer;
  beforeAll(async () => {
    // Small applier batches, so that batches split the interleavings at many points.
    t = await startTestServer({ applierBatchSize: 3, applierIdlePollMs: 5 });
  });
  afterAll(() => t.close());

  it('ends in the state, with the per-record results, of sequential application in acceptance order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: 1, maxLength: 25 }), async (requests) => {
        const tenant: TestTenant = await t.tenant([]);
        const transids: string[] = [];
        const realised: ModelOp[][] = requests.map((ops) => ops.map((o) => ('attributes' in o ? { ...o, attributes: realise(o.attributes) } : o)));
        for (const ops of realised) {
          const { method, path, body } = requestFor(ops);
          const res = await t.api(method, path, { key: tenant.key, body });
          expect(res.status, JSON.stringify(res.body)).toBe(202);
          transids.push(res.body.response.transid);
        }
        const expected = applySequentially(realised);
        const codes: string[][] = [];
        for (const transid of transids) {
          const body = await waitFor(
            async () => {
              const st = await t.api('GET', `/profile/status/${transid}`, { key: tenant.key });
              return st.body.code !== '7600' && st.body;
            },
            { timeoutMs: 10_000, description: `${transid} applied` },
          );
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
