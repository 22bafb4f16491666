import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, runCli, type ServerProcess, spawnServer } from '../support/process.js';
import { freshStoreEnv, selectedBackends } from '../support/test-db.js';
import { waitFor } from '../support/wait.js';
import { type Delivery, startReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

/**
 * Webhooks end to end, on each selected store: real `openprofiles serve` processes deliver to a
 * local HTTPS receiver (self-signed, trusted through PROFILES_WEBHOOK_CA_FILE) that verifies every
 * delivery with the `standardwebhooks` package, as a customer's receiver would.
 */

const WRITES = 10_000;
const PER_REQUEST = 100;
const CUSTOMERS = 500;
const CONCURRENCY = 16;

/** Short timeouts and retries, and enough retries that no delivery is given up at a 20 % failure rate. */
const hooksEnv = (receiver: WebhookReceiver) => ({
  PROFILES_WEBHOOK_ALLOW_PRIVATE: 'true',
  PROFILES_WEBHOOK_CA_FILE: receiver.caFile,
  PROFILES_WEBHOOK_TIMEOUT_MS: '2000',
  PROFILES_WEBHOOK_RETRY_SCHEDULE: '0,10ms,20ms,50ms,100ms,100ms,100ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms',
  PROFILES_WEBHOOK_LEASE_MS: '1500',
  PROFILES_WEBHOOK_CONCURRENCY: String(CONCURRENCY),
});

/** Each customer's accepted deliveries' `name` values, in arrival order. */
function valuesByCustomer(deliveries: Delivery[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const d of deliveries) {
    const list = out.get(d.event.customerId) ?? [];
    list.push(d.event.profile!.attributes.name);
    out.set(d.event.customerId, list);
  }
  return out;
}

describe.each(selectedBackends())('webhooks end to end: %s', (backend) => {
  let dir: string;
  let store: Awaited<ReturnType<typeof freshStoreEnv>>;
  let receiver: WebhookReceiver;
  let env: Record<string, string>;
  let server: ServerProcess;
  let tenant: { id: number; key: string };
  let endpointId: string;
  /** Each customer's values, in the order they were written (and accepted). */
  const sent = new Map<string, string[]>();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'openprofiles-hooks-'));
    store = await freshStoreEnv(backend);
    receiver = await startReceiver(dir);
    env = { ...store.env, ...hooksEnv(receiver) };
    tenant = (await runCli(['tenant', 'create', 'hooks', '--json'], env)).json;
    const updated = await runCli(['tenant', 'update', String(tenant.id), '--rate-limit', '1000000', '--upsert-on-update', 'true', '--json'], env);
    expect(updated.code, updated.stderr).toBe(0);
    server = await spawnServer(env);
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    await receiver?.close();
    await store?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers every event of 10,000 writes, signed, each customer\'s in order, through 500s and timeouts and a kill -9 of the server', async () => {
    const added = await runCli(['webhook', 'add', '--tenant', 'hooks', '--url', `${receiver.url}/hooks`, '--json'], env);
    expect(added.code, added.stderr).toBe(0);
    expect(added.json.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    receiver.secrets.set('/hooks', added.json.secret);
    endpointId = added.json.id;
    // About 20 % answered 500, 0.5 % never answered (the deliverer's timeout ends them), the rest 2xx.
    receiver.answer = () => {
      const roll = Math.random();
      return roll < 0.2 ? { status: 500 } : roll < 0.205 ? 'hang' : { status: 200 };
    };

    // Sequential requests: each customer's values go up in acceptance order, which is apply order.
    for (let r = 0; r < WRITES / PER_REQUEST; r++) {
      const Records = Array.from({ length: PER_REQUEST }, (_, i) => {
        const n = r * PER_REQUEST + i;
        const customerId = `c${(n * 7919) % CUSTOMERS}`;
        const name = String(n).padStart(6, '0');
        sent.set(customerId, [...(sent.get(customerId) ?? []), name]);
        return { customerId, Attributes: { name } };
      });
      const res = await request(server.url, 'PUT', '/resources/v2/customerprofile', { key: tenant.key, body: { Records } });
      expect(res.status, res.text).toBe(202);
    }

    const unique = () => new Set(receiver.accepted().map((d) => d.id)).size;
    await waitFor(() => unique() >= WRITES * 0.3, { timeoutMs: 60_000, description: 'a third of the events delivered' });
    await server.kill();
    const beforeRestart = receiver.accepted().length;
    server = await spawnServer(env);
    await waitFor(() => unique() === WRITES, { timeoutMs: 120_000, intervalMs: 100, description: `all ${WRITES} events delivered (${unique()} so far)` });

    expect(receiver.unverified).toEqual([]);
    const accepted = receiver.accepted();
    // Duplicates only of attempts in flight (or answered and not yet recorded) at the kill: at most one per slot.
    expect(accepted.length - WRITES).toBeLessThanOrEqual(CONCURRENCY);
    expect(beforeRestart).toBeGreaterThan(0);
    // Each customer got every value once at least, in the order written; a repeat comes right after itself.
    const got = valuesByCustomer(accepted);
    for (const [customerId, values] of sent) {
      const seen = got.get(customerId) ?? [];
      expect([...new Set(seen)], customerId).toEqual(values);
      expect([...seen].sort(), customerId).toEqual(seen);
    }
    // A retry carries the event's id: some ids were answered 500 and then 2xx.
    const failedIds = new Set(receiver.received.filter((d) => d.status === 500).map((d) => d.id));
    expect(accepted.filter((d) => failedIds.has(d.id)).length).toBeGreaterThan(0);
    expect(receiver.received.some((d) => d.status === 'hang')).toBe(true);

    const attempts = await runCli(['webhook', 'attempts', endpointId, '--limit', '1000', '--json'], env);
    expect(attempts.code, attempts.stderr).toBe(0);
    const outcomes = new Set(attempts.json.attempts.map((a: { outcome: string }) => a.outcome));
    expect([...outcomes].sort()).toEqual(expect.arrayContaining(['delivered', 'failed']));
    const metrics = await request(server.url, 'GET', '/metrics');
    expect(metrics.text).toMatch(/openprofiles_webhook_attempts_total\{outcome="delivered"\} \d+/);
    expect(metrics.text).toMatch(/openprofiles_webhook_delivery_lag_seconds_count \d+/);
  }, 240_000);

  it('disables an endpoint that answers 410 at once, delivers what came meanwhile once enabled, and resends an event with the same webhook-id', async () => {
    let isGone = true;
    receiver.answer = (_d, path) => (path === '/gone' && isGone ? { status: 410 } : { status: 200 });
    const added = await runCli(['webhook', 'add', '--tenant', String(tenant.id), '--url', `${receiver.url}/gone`, '--types', 'profile.created,profile.updated', '--json'], env);
    expect(added.code, added.stderr).toBe(0);
    receiver.secrets.set('/gone', added.json.secret);
    const gone = added.json.id;
    const write = async (name: string) =>
      expect((await request(server.url, 'PUT', '/resources/v2/customerprofile', { key: tenant.key, body: { Records: [{ customerId: 'c1', Attributes: { name } }] } })).status).toBe(202);

    await write('gone-1');
    await waitFor(
      async () => {
        const list = await runCli(['webhook', 'list', '--tenant', 'hooks', '--json'], env);
        return list.json.endpoints.find((e: { id: string }) => e.id === gone)?.isEnabled === false && list.json.endpoints.find((e: { id: string }) => e.id === gone);
      },
      { timeoutMs: 20_000, intervalMs: 200, description: 'the endpoint disabled' },
    ).then((e) => expect(e.disabledReason).toMatch(/410/));
    await write('gone-2');
    // The other endpoint gets it; the disabled one does not.
    await waitFor(() => receiver.accepted().some((d) => d.event.profile?.attributes.name === 'gone-2'), { timeoutMs: 20_000, description: 'gone-2 at the enabled endpoint' });
    expect(receiver.received.filter((d) => d.event.profile?.attributes.name === 'gone-2')).toHaveLength(1);

    isGone = false;
    expect((await runCli(['webhook', 'enable', gone, '--json'], env)).json).toMatchObject({ id: gone, isEnabled: true });
    await waitFor(() => receiver.accepted().filter((d) => d.event.profile?.attributes.name === 'gone-2').length === 2, { timeoutMs: 20_000, description: 'gone-2 at the enabled again endpoint' });

    const first = receiver.accepted().find((d) => d.event.profile?.attributes.name === 'gone-1')!;
    const before = receiver.accepted().filter((d) => d.id === first.id).length;
    const resent = await runCli(['webhook', 'resend', first.id, '--endpoint', endpointId, '--json'], env);
    expect(resent.json).toMatchObject({ endpointId, eventId: first.id, isQueued: true });
    await waitFor(() => receiver.accepted().filter((d) => d.id === first.id).length === before + 1, { timeoutMs: 20_000, description: 'the resent event' });
    expect(receiver.accepted().filter((d) => d.id === first.id).at(-1)!.event).toEqual(first.event);
    expect((await runCli(['webhook', 'resend', 'evt_999999999', '--endpoint', endpointId], env)).stderr).toMatch(/no event evt_999999999/);
    expect(receiver.unverified).toEqual([]);
  }, 60_000);
});

describe.runIf(selectedBackends().includes('postgres'))('webhooks with two servers on one PostgreSQL database', () => {
  let dir: string;
  let store: Awaited<ReturnType<typeof freshStoreEnv>>;
  let receiver: WebhookReceiver;
  let servers: ServerProcess[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'openprofiles-hooks-'));
    store = await freshStoreEnv('postgres');
    receiver = await startReceiver(dir);
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await receiver?.close();
    await store?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers each event once: one server holds the endpoint\'s lease at a time', async () => {
    // A lease and a timeout no pause of a loaded machine reaches: any repeat would be the lease's fault.
    const env = { ...store.env, ...hooksEnv(receiver), PROFILES_WEBHOOK_LEASE_MS: '10000', PROFILES_WEBHOOK_TIMEOUT_MS: '10000' };
    const tenant = (await runCli(['tenant', 'create', 'pair', '--json'], env)).json;
    await runCli(['tenant', 'update', String(tenant.id), '--rate-limit', '1000000', '--upsert-on-update', 'true', '--json'], env);
    const added = await runCli(['webhook', 'add', '--tenant', 'pair', '--url', `${receiver.url}/pair`, '--json'], env);
    receiver.secrets.set('/pair', added.json.secret);
    servers = [await spawnServer(env), await spawnServer(env)];
    const total = 2000;
    await Promise.all(
      Array.from({ length: total / PER_REQUEST }, async (_, r) => {
        const Records = Array.from({ length: PER_REQUEST }, (_, i) => ({ customerId: `p${(r * PER_REQUEST + i) % 97}`, Attributes: { name: `r${r}-${i}` } }));
        const res = await request(servers[r % 2].url, 'PUT', '/resources/v2/customerprofile', { key: tenant.key, body: { Records } });
        expect(res.status, res.text).toBe(202);
      }),
    );
    await waitFor(() => new Set(receiver.accepted().map((d) => d.id)).size === total, { timeoutMs: 60_000, intervalMs: 100, description: `all ${total} events delivered` });
    expect(receiver.accepted()).toHaveLength(total);
    expect(receiver.received).toHaveLength(total);
    expect(receiver.unverified).toEqual([]);
  }, 120_000);
});
