import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, runCli, spawnServer } from '../support/process.js';
import { freshStoreEnv } from '../support/test-db.js';

/**
 * kill -9 while the server takes writes, restart it, and check: every answered transid completed
 * exactly once, every hot customer reflects its writes in order, and no unanswered write was
 * half applied.
 */
describe('crash: kill -9 under write load', () => {
  let store: Awaited<ReturnType<typeof freshStoreEnv>>;
  let env: Record<string, string>;
  beforeAll(async () => {
    store = await freshStoreEnv();
    env = store.env;
  });
  afterAll(() => store.dispose());

  it('loses no answered write and half-applies no unanswered one', async () => {
    const tenant = (await runCli(['tenant', 'create', 'crash', '--json'], env)).json;
    // The load is not about the rate limit.
    await runCli(['tenant', 'update', String(tenant.id), '--rate-limit', '1000000', '--json'], env);
    let server = await spawnServer(env);
    const LOOPS = 8;
    /** Per loop: answered creates (transid → ids), the in-flight request, and the last answered counter. */
    const answered: Array<{ transid: string; ids: string[] }> = [];
    const inflight: string[][] = [];
    const lastCounter = new Array<number>(LOOPS).fill(-1);
    let isKilled = false;

    const loop = async (n: number) => {
      for (let i = 0; !isKilled; i++) {
        const ids = ['a', 'b', 'c'].map((s) => `L${n}-${i}-${s}`);
        inflight[n] = ids;
        try {
          const created = await request(server.url, 'POST', '/resources/v2/customerprofile', {
            key: tenant.key,
            body: { Records: ids.map((customerId) => ({ customerId, Attributes: { name: `n${i}` } })) },
          });
          if (created.status !== 202) throw new Error(`unexpected ${created.status} ${created.text}`);
          answered.push({ transid: created.body.response.transid, ids });
          const hot = await request(server.url, 'PUT', '/resources/v2/customerprofile', {
            key: tenant.key,
            body: { Records: [{ customerId: `hot-${n}`, Attributes: { name: `n${i}` } }] },
          });
          if (hot.status !== 202) throw new Error(`unexpected ${hot.status} ${hot.text}`);
          lastCounter[n] = i;
        } catch (err) {
          if (!isKilled) throw err;
          return;
        }
      }
    };
    // Each hot customer exists before the load, so its updates succeed.
    for (let n = 0; n < LOOPS; n++) {
      const res = await request(server.url, 'POST', '/resources/v2/customerprofile', {
        key: tenant.key,
        body: { Records: [{ customerId: `hot-${n}`, Attributes: { name: 'start' } }] },
        headers: { prefer: 'wait=10' },
      });
      expect(res.body.code).toBe('1000');
    }
    const loops = Array.from({ length: LOOPS }, (_, n) => loop(n));
    await new Promise((resolve) => setTimeout(resolve, 2500));
    isKilled = true;
    await server.kill();
    await Promise.all(loops);
    expect(answered.length).toBeGreaterThan(20);

    server = await spawnServer(env);
    try {
      for (const { transid, ids } of answered) {
        let st = await request(server.url, 'GET', `/resources/v2/profile/status/${transid}`, { key: tenant.key });
        for (let i = 0; st.body.code === '7600' && i < 300; i++) {
          expect(st.body.state).not.toBe('unknown');
          await new Promise((resolve) => setTimeout(resolve, 50));
          st = await request(server.url, 'GET', `/resources/v2/profile/status/${transid}`, { key: tenant.key });
        }
        // Applied exactly once: a second application would have answered 7015 for these creates.
        expect(st.body, transid).toMatchObject({ code: '1000', SuccessCount: 3, Results: ids.map((customerId) => ({ customerId, code: '1000' })) });
      }
      for (let n = 0; n < LOOPS; n++) {
        // The in-flight create of each loop: all three customers or none.
        const found = await request(server.url, 'GET', `/resources/v2/customerprofile?${inflight[n].map((id) => `customerId=${id}`).join('&')}`, {
          key: tenant.key,
        });
        expect([0, 3], `loop ${n}`).toContain(found.body.Records.length);
        // The hot customer holds its last answered update, or the one in flight at the kill.
        const hot = await request(server.url, 'GET', `/resources/v2/customerprofile/hot-${n}`, { key: tenant.key });
        const name = hot.body.Records[0].Attributes.find((e: { Name: string }) => e.Name === 'name').Value;
        const counter = Number(name.slice(1));
        if (lastCounter[n] >= 0) expect([lastCounter[n], lastCounter[n] + 1], `hot-${n}`).toContain(counter);
      }
    } finally {
      await server.stop();
    }
  }, 120_000);
});
