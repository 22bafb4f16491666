import { execSync } from 'node:child_process';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, runCli, spawnServer, spawnWorker, type ServerProcess } from '../support/process.js';
import { applySequentially, type ModelOp, requestFor } from '../support/profile-model.js';
import { freshStoreEnv, selectedBackends } from '../support/test-db.js';
import { waitFor } from '../support/wait.js';

/**
 * Scale-out on PostgreSQL: 2 API processes (`serve --no-worker`) and 4 worker processes on one
 * database, interleaved writes to a few hot customers from many clients through both nodes; the
 * change feed read from the start has each change once, each customer's in acceptance order.
 * Runs when STORAGE_BACKENDS selects postgres (as CI does).
 */
const HOT = ['hot-a', 'hot-b', 'hot-c'];
const CLIENTS = 8;

function randomRequest(client: number, i: number): ModelOp[] {
  const kind = (['create', 'update', 'update', 'delete'] as const)[Math.floor(Math.random() * 4)];
  const n = 1 + Math.floor(Math.random() * 3);
  return Array.from({ length: n }, (_, j) => {
    const customerId = HOT[Math.floor(Math.random() * HOT.length)];
    if (kind === 'delete') return { kind, customerId };
    // A value unique to this request and record: any reordering shows in the final state.
    const attributes: Record<string, string | null> = { name: `c${client}-r${i}-${j}` };
    if (Math.random() < 0.3) attributes.email = null;
    else if (Math.random() < 0.5) attributes.email = `c${client}r${i}@example.com`;
    return { kind, customerId, attributes };
  });
}

describe.runIf(selectedBackends().includes('postgres'))('scale-out on PostgreSQL', () => {
  let store: Awaited<ReturnType<typeof freshStoreEnv>>;
  let env: Record<string, string>;
  let apis: ServerProcess[] = [];
  let workers: ServerProcess[] = [];
  let tenant: { id: number; key: string };

  beforeAll(async () => {
    store = await freshStoreEnv('postgres');
    // A short lease, so that claims of killed workers come back quickly.
    env = { ...store.env, PROFILES_WORKER_LEASE_MS: '1500' };
    tenant = (await runCli(['tenant', 'create', 'scale', '--json'], env)).json;
    await runCli(['tenant', 'update', String(tenant.id), '--rate-limit', '1000000', '--json'], env);
    apis = [await spawnServer(env, ['--no-worker']), await spawnServer(env, ['--no-worker'])];
    workers = await Promise.all(Array.from({ length: 4 }, () => spawnWorker(env, ['--concurrency', '1'])));
  }, 60_000);
  afterAll(async () => {
    await Promise.all([...apis, ...workers].map((p) => p.stop().catch(() => undefined)));
    await store?.dispose();
  });

  /** Waits for a final status (asking both nodes in turn); returns its per-record codes. An accepted transid is never unknown. */
  async function finalCodes(transid: string): Promise<string[]> {
    let asked = 0;
    const body = await waitFor(
      async () => {
        const st = await request(apis[asked++ % 2].url, 'GET', `/resources/v2/profile/status/${transid}`, { key: tenant.key });
        return (st.body.code !== '7600' || st.body.state === 'unknown') && st.body;
      },
      { timeoutMs: 30_000, intervalMs: 50, description: `${transid} applied` },
    );
    expect(body.state).not.toBe('unknown');
    return body.Results.map((r: { code: string }) => r.code);
  }

  it('applies each customer\'s writes in acceptance order and each write once, while workers are killed and replaced', async () => {
    const sent = new Map<string, ModelOp[]>();
    let killed = false;
    const client = async (c: number) => {
      for (let i = 0; i < 40; i++) {
        const ops = randomRequest(c, i);
        const { method, path, body } = requestFor(ops);
        const res = await request(apis[(c + i) % 2].url, method, `/resources/v2${path}`, { key: tenant.key, body });
        expect(res.status, res.text).toBe(202);
        sent.set(res.body.response.transid, ops);
        if (c === 0 && i === 15 && !killed) {
          // kill -9 two workers mid-load, start two new ones.
          killed = true;
          await Promise.all(workers.slice(0, 2).map((w) => w.kill()));
          workers = [...workers.slice(2), await spawnWorker(env), await spawnWorker(env)];
        }
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));

    const codes = new Map<string, string[]>();
    for (const transid of sent.keys()) codes.set(transid, await finalCodes(transid));

    // Acceptance order is `seq`, read from the store itself.
    const db = new pg.Client({ connectionString: env.PROFILES_DATABASE_URL });
    await db.connect();
    const { rows } = await db.query<{ transid: string; success_count: number; failure_count: number }>(
      'SELECT transid, success_count, failure_count FROM write_transactions WHERE tenant_id = $1 ORDER BY seq',
      [tenant.id],
    );
    await db.end();
    expect(rows).toHaveLength(sent.size);
    const order = rows.map((r) => r.transid);
    const expected = applySequentially(order.map((t) => sent.get(t)!));
    expect(order.map((t) => codes.get(t))).toEqual(expected.codes);
    for (const r of rows) expect(r.success_count + r.failure_count).toBe(sent.get(r.transid)!.length);
    for (const id of HOT) {
      const read = await request(apis[0].url, 'GET', `/resources/v2/customerprofile/${id}`, { key: tenant.key });
      const want = expected.state.get(id);
      if (!want) expect(read.status).toBe(404);
      else {
        const got = Object.fromEntries(read.body.Records[0].Attributes.map((e: { Name: string; Value: string }) => [e.Name, e.Value]));
        expect(got).toEqual({ customerId: id, ...want });
      }
    }

    // The change feed, read from the start through the other node: one event per record that
    // changed a profile, each customer's in acceptance order, the last one its state now.
    const wanted = new Map<string, string[]>(HOT.map((id) => [id, []]));
    for (const transid of order) sent.get(transid)!.forEach((op, j) => codes.get(transid)![j] === '1000' && wanted.get(op.customerId)!.push(transid));
    const total = [...wanted.values()].reduce((n, list) => n + list.length, 0);
    type Event = { customerId: string; transid: string; profile: { attributes: Record<string, string> } | null };
    const events = await waitFor(
      async () => {
        const all: Event[] = [];
        for (let after = ''; ; ) {
          const page = await request(apis[1].url, 'GET', `/openprofiles/v1/changes?limit=1000${after}`, { key: tenant.key });
          expect(page.status, page.text.slice(0, 200)).toBe(200);
          all.push(...page.body.data);
          if (page.body.data.length === 0) return all.length >= total && all;
          after = `&after=${page.body.nextCursor}`;
        }
      },
      { timeoutMs: 30_000, intervalMs: 200, description: `${total} change events` },
    );
    expect(events).toHaveLength(total);
    for (const id of HOT) {
      const own = events.filter((e) => e.customerId === id);
      expect(own.map((e) => e.transid), id).toEqual(wanted.get(id));
      const want = expected.state.get(id);
      expect(own.at(-1)?.profile?.attributes ?? null, id).toEqual(want ?? null);
    }
  }, 180_000);

  // Restarting the database would break every other test using it at the same moment, so this one
  // runs alone: `.ci/run` runs it in a separate pass with OPENPROFILES_RESTART_DATABASE=1.
  it.runIf(process.env.OPENPROFILES_RESTART_DATABASE === '1')('loses nothing acknowledged across a database restart under load, and recovers by itself', async () => {
    const accepted: Array<{ transid: string; id: string }> = [];
    let refused = 0;
    let isRunning = true;
    const client = async (c: number) => {
      for (let i = 0; isRunning; i++) {
        const id = `r-${c}-${i}`;
        const res = await request(apis[i % 2].url, 'POST', '/resources/v2/customerprofile', {
          key: tenant.key,
          body: { Records: [{ customerId: id, Attributes: { name: id } }] },
        }).catch(() => null);
        if (res?.status === 202) accepted.push({ transid: res.body.response.transid, id });
        else {
          refused++;
          if (res) expect([503], res.text).toContain(res.status);
          // A client on purpose: refused, it pauses a moment before it sends again.
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    };
    const clients = Array.from({ length: 4 }, (_, c) => client(c));
    await waitFor(() => accepted.length >= 20, { timeoutMs: 30_000, description: '20 writes accepted before the restart' });
    execSync(`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main restart`, { stdio: 'inherit' });
    // Recovered by itself: writes are accepted again, under the same load.
    const atRestart = accepted.length;
    await waitFor(() => accepted.length >= atRestart + 20, { timeoutMs: 60_000, description: '20 writes accepted after the restart' });
    isRunning = false;
    await Promise.all(clients);
    for (const { transid } of accepted) expect(await finalCodes(transid)).toEqual(['1000']);
    console.log(`database restart: ${accepted.length} writes acknowledged and applied, ${refused} refused while it was down`);
  }, 180_000);
});
