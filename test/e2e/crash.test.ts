import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, runCli, spawnServer, type ServerProcess } from '../support/process.js';
import { freshStoreEnv } from '../support/test-db.js';
import { waitFor } from '../support/wait.js';

/**
 * kill -9 while the server takes writes, restart it, again and again (CRASH_CYCLES, default 2;
 * `npm run test:crash-cycles` runs 20), then check: every answered transid completed exactly once,
 * every hot customer reflects its writes in order, no unanswered write was half applied, and the
 * change feed holds exactly one event per applied change and none for a change that did not apply.
 */
const CYCLES = Number(process.env.CRASH_CYCLES ?? 2);
const LOOPS = 8;

describe('crash: kill -9 under write load', () => {
  let store: Awaited<ReturnType<typeof freshStoreEnv>>;
  let env: Record<string, string>;
  beforeAll(async () => {
    store = await freshStoreEnv();
    // On PostgreSQL a dead worker's claim is taken back when its lease runs out (the visibility
    // timeout, 30 s by default); a short one keeps this test short. SQLite takes it back at once.
    env = { ...store.env, PROFILES_WORKER_LEASE_MS: '2000' };
  });
  afterAll(() => store.dispose());

  it(`loses no answered write and half-applies no unanswered one, over ${CYCLES} crashes`, async () => {
    const tenant = (await runCli(['tenant', 'create', 'crash', '--json'], env)).json;
    // The load is not about the rate limit.
    await runCli(['tenant', 'update', String(tenant.id), '--rate-limit', '1000000', '--json'], env);
    const answered: Array<{ transid: string; ids: string[] }> = [];
    /** Creates sent but not answered when the server died: each must be all there or not at all. */
    const unanswered: string[][] = [];
    const lastCounter = new Array<number>(LOOPS).fill(-1);
    /** The transid of each hot customer's last answered update. */
    const lastHot = new Array<string | null>(LOOPS).fill(null);
    /** Every answered update of a hot customer. */
    const answeredHot: Array<{ transid: string; customerId: string }> = [];
    const next = new Array<number>(LOOPS).fill(0);

    let server: ServerProcess = await spawnServer(env);
    // Each hot customer exists before the load, so its updates succeed.
    for (let n = 0; n < LOOPS; n++) {
      const res = await request(server.url, 'POST', '/resources/v2/customerprofile', {
        key: tenant.key,
        body: { Records: [{ customerId: `hot-${n}`, Attributes: { name: 'start' } }] },
        headers: { prefer: 'wait=10' },
      });
      expect(res.body.code).toBe('1000');
    }

    for (let cycle = 0; cycle < CYCLES; cycle++) {
      if (cycle > 0) server = await spawnServer(env);
      let isKilled = false;
      const loop = async (n: number) => {
        while (!isKilled) {
          const i = next[n]++;
          const ids = ['a', 'b', 'c'].map((s) => `L${n}-${i}-${s}`);
          try {
            const created = await request(server.url, 'POST', '/resources/v2/customerprofile', {
              key: tenant.key,
              body: { Records: ids.map((customerId) => ({ customerId, Attributes: { name: `n${i}` } })) },
            });
            if (created.status !== 202) throw new Error(`unexpected ${created.status} ${created.text}`);
            answered.push({ transid: created.body.response.transid, ids });
          } catch (err) {
            if (!isKilled) throw err;
            unanswered.push(ids);
            return;
          }
          try {
            const hot = await request(server.url, 'PUT', '/resources/v2/customerprofile', {
              key: tenant.key,
              body: { Records: [{ customerId: `hot-${n}`, Attributes: { name: `n${i}` } }] },
            });
            if (hot.status !== 202) throw new Error(`unexpected ${hot.status} ${hot.text}`);
            lastCounter[n] = i;
            lastHot[n] = hot.body.response.transid;
            answeredHot.push({ transid: hot.body.response.transid, customerId: `hot-${n}` });
          } catch (err) {
            if (!isKilled) throw err;
            return;
          }
        }
      };
      const loops = Array.from({ length: LOOPS }, (_, n) => loop(n));
      // kill -9 at a random point of the load: once 20 to 200 more writes were answered.
      const killAt = answered.length + 20 + Math.floor(Math.random() * 180);
      await Promise.race([waitFor(() => answered.length >= killAt, { timeoutMs: 30_000, description: `${killAt} writes answered` }), Promise.all(loops)]);
      isKilled = true;
      await server.kill();
      await Promise.all(loops);
    }
    expect(answered.length).toBeGreaterThan(10 * CYCLES);

    server = await spawnServer(env);
    /** The status once applied; an answered transid is never unknown. */
    const finalStatus = async (transid: string) => {
      const st = await waitFor(
        async () => {
          const answer = await request(server.url, 'GET', `/resources/v2/profile/status/${transid}`, { key: tenant.key });
          return (answer.body.code !== '7600' || answer.body.state === 'unknown') && answer;
        },
        { timeoutMs: 15_000, intervalMs: 50, description: `${transid} applied` },
      );
      expect(st.body.state, transid).not.toBe('unknown');
      return st;
    };
    type Event = { id: string; type: string; customerId: string; transid: string; profile: { attributes: Record<string, string> } | null };
    /** The whole feed, once every answered write's events are in it (on PostgreSQL a transaction still open elsewhere holds it back), checked. */
    const changeEvents = async (): Promise<Event[]> => {
      const readAll = async () => {
        const events: Event[] = [];
        for (let after = ''; ; ) {
          const page = await request(server.url, 'GET', `/openprofiles/v1/changes?limit=1000${after}`, { key: tenant.key });
          expect(page.status, page.text.slice(0, 200)).toBe(200);
          events.push(...page.body.data);
          if (page.body.data.length === 0) return events;
          after = `&after=${page.body.nextCursor}`;
        }
      };
      const answeredIds = new Set([...answered.map((a) => a.transid), ...answeredHot.map((h) => h.transid)]);
      const events = await waitFor(
        async () => {
          const all = await readAll();
          const seen = new Set(all.map((e) => e.transid));
          return [...answeredIds].every((t) => seen.has(t)) && all;
        },
        { timeoutMs: 30_000, intervalMs: 200, description: 'the events of every answered write in the feed' },
      );
      expect(new Set(events.map((e) => e.id)).size, 'event ids are unique').toBe(events.length);
      const byChange = new Map<string, number>();
      for (const e of events) byChange.set(`${e.transid} ${e.customerId} ${e.type}`, (byChange.get(`${e.transid} ${e.customerId} ${e.type}`) ?? 0) + 1);
      expect([...byChange.entries()].filter(([, count]) => count > 1), 'one event per change').toEqual([]);
      // Every answered create: its three profiles' created events, and nothing else.
      for (const { transid, ids } of answered) {
        expect(events.filter((e) => e.transid === transid).map((e) => `${e.type} ${e.customerId}`).sort(), transid).toEqual(ids.map((id) => `profile.created ${id}`));
      }
      for (const { transid, customerId } of answeredHot) {
        expect(events.filter((e) => e.transid === transid).map((e) => `${e.type} ${e.customerId}`), transid).toEqual([`profile.updated ${customerId}`]);
      }
      // An unanswered create has its events if and only if its profiles exist.
      for (const ids of unanswered) {
        const query = ids.map((id) => `customerId=${id}`).join('&');
        const found = (await request(server.url, 'GET', `/resources/v2/customerprofile?${query}`, { key: tenant.key })).body.Records.length;
        expect(events.filter((e) => ids.includes(e.customerId)).length, ids.join()).toBe(found);
      }
      // No event without its change: every event's write transaction applied that customer's record.
      const byTransid = new Map<string, Event[]>();
      for (const e of events) byTransid.set(e.transid, [...(byTransid.get(e.transid) ?? []), e]);
      for (const [transid, own] of byTransid) {
        if (answeredIds.has(transid)) continue; // checked above
        const st = await finalStatus(transid);
        for (const e of own) expect(st.body.Results.find((r: { customerId: string }) => r.customerId === e.customerId), `${transid} ${e.customerId}`).toMatchObject({ code: '1000' });
      }
      // Each hot customer's last event is its state now.
      for (let n = 0; n < LOOPS; n++) {
        const last = events.filter((e) => e.customerId === `hot-${n}`).at(-1)!;
        const stored = (await request(server.url, 'GET', `/resources/v2/customerprofile/hot-${n}`, { key: tenant.key })).body.Records[0].Attributes;
        expect(last.profile!.attributes.name, `hot-${n}`).toBe(stored.find((e: { Name: string }) => e.Name === 'name').Value);
      }
      return events;
    };
    try {
      for (const { transid, ids } of answered) {
        const st = await finalStatus(transid);
        // Applied exactly once: a second application would have answered 7015 for these creates.
        expect(st.body, transid).toMatchObject({ code: '1000', SuccessCount: 3, Results: ids.map((customerId) => ({ customerId, code: '1000' })) });
      }
      for (const ids of unanswered) {
        const query = ids.map((id) => `customerId=${id}`).join('&');
        const found = await request(server.url, 'GET', `/resources/v2/customerprofile?${query}`, { key: tenant.key });
        expect([0, 3], ids.join()).toContain(found.body.Records.length);
      }
      for (let n = 0; n < LOOPS; n++) {
        // The hot customer holds its last answered update, or a later one that was in flight at a
        // kill. On PostgreSQL other customers' writes do not wait for it, so wait for it first.
        if (lastHot[n]) expect((await finalStatus(lastHot[n]!)).body, `hot-${n}`).toMatchObject({ code: '1000' });
        const hot = await request(server.url, 'GET', `/resources/v2/customerprofile/hot-${n}`, { key: tenant.key });
        const name = hot.body.Records[0].Attributes.find((e: { Name: string }) => e.Name === 'name').Value;
        if (lastCounter[n] >= 0) {
          const counter = Number(name.slice(1));
          expect(counter, `hot-${n}`).toBeGreaterThanOrEqual(lastCounter[n]);
          expect(counter, `hot-${n}`).toBeLessThan(next[n]);
        }
      }
      const events = await changeEvents();
      console.log(
        `crash: ${CYCLES} kill -9 cycles, ${answered.length} answered writes all applied once, ${unanswered.length} unanswered ones whole or absent, ${events.length} change events, one per applied change`,
      );
    } finally {
      await server.stop();
    }
  }, 60_000 + CYCLES * 15_000);
});
