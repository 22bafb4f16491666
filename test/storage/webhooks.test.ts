/**
 * The webhook roles on each store: endpoints, the take from the feed (position and pending
 * deliveries move together, once), each customer's line, the record of attempts, resend, the
 * lease that keeps one deliverer per endpoint, and the purge of old attempts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keysOf, reduceWriteTransactions } from '../../src/domain/apply.js';
import { DEFAULT_TENANT_SETTINGS } from '../../src/domain/tenant-settings.js';
import type { StoredChangeEvent } from '../../src/model/change-event.js';
import type { DeliveryResult } from '../../src/model/webhook.js';
import type { OpenedStore } from '../../src/open-store.js';
import { applierOf, openTestStore, selectedBackends, type TestStore } from '../support/storage-backends.js';
import { waitFor } from '../support/wait.js';
import { newWriteTransaction } from '../support/write-transactions.js';

const DAY = 86_400_000;
const master = [{ name: 'customerId', type: 'string' as const }, { name: 'name', type: 'string' as const }];

describe.each(selectedBackends())('webhook storage: %s', (backend) => {
  let store: TestStore;
  let s: OpenedStore;
  let tenantId: number;
  let otherId: number;

  /** Applies creates of these customers, one write transaction each, and returns their events once readable. */
  async function write(customerIds: string[], after: string | null): Promise<StoredChangeEvent[]> {
    await s.journal.enqueue(customerIds.map((customerId, i) => newWriteTransaction(tenantId, [{ customerId, attributes: { name: `v${i}` } }], { operation: 'updateProfile', isUpsert: true })), DAY);
    while ((await applierOf(s).applyNext(100, keysOf, reduceWriteTransactions)).length > 0);
    return waitFor(
      async () => {
        const { events } = await s.changes.read(tenantId, after, 1000, null);
        return events.length >= customerIds.length && events;
      },
      { timeoutMs: 10_000, description: 'the events readable' },
    );
  }

  const endpoint = (id: string, position: string) => ({ id, url: 'https://example.com/hook', types: null, secret: 'whsec_c2VjcmV0', createdAt: Date.now(), position });
  const delivered = (seq: number, eventId: string): DeliveryResult => ({
    seq,
    attempt: { eventId, attempt: 1, attemptedAt: Date.now(), outcome: 'delivered', status: 200, durationMs: 3, response: 'ok' },
    next: { kind: 'done' },
  });
  const failed = (seq: number, eventId: string, retryAt: number): DeliveryResult => ({
    seq,
    attempt: { eventId, attempt: 1, attemptedAt: Date.now(), outcome: 'failed', status: 500, durationMs: 3, response: 'no' },
    next: { kind: 'retry', retryAt },
  });
  const take = (owner: string, from: string, events: StoredChangeEvent[], id = 'ep_a') =>
    s.webhookDeliveries.take(owner, tenantId, id, from, events.at(-1)!.position, events.map((event) => ({ event, occurredAt: 1 })));

  beforeEach(async () => {
    store = await openTestStore(backend);
    s = store.storage;
    const settings = { ...DEFAULT_TENANT_SETTINGS, upsertOnUpdate: true };
    tenantId = (await s.directory.createTenant('hooks', settings, master)).id;
    otherId = (await s.directory.createTenant('other', settings, master)).id;
  });
  afterEach(() => store.dispose());

  it('creates, lists, enables and removes endpoints of one tenant only', async () => {
    const head = await s.changes.head(tenantId);
    const created = await s.webhooks.createEndpoint(tenantId, { ...endpoint('ep_a', head), types: ['profile.created'] });
    expect(created).toMatchObject({ id: 'ep_a', tenantId, url: 'https://example.com/hook', types: ['profile.created'], disabledAt: null, failingSince: null });
    expect(await s.webhooks.listEndpoints(tenantId)).toEqual([created]);
    expect(await s.webhooks.listEndpoints(otherId)).toEqual([]);
    expect(await s.webhooks.enableEndpoint(otherId, 'ep_a', Date.now())).toBeNull();
    expect(await s.webhooks.removeEndpoint(otherId, 'ep_a')).toBe(false);
    expect(await s.webhooks.removeEndpoint(tenantId, 'ep_a')).toBe(true);
    expect(await s.webhooks.listEndpoints(tenantId)).toEqual([]);
  });

  it('moves events into the pending deliveries and the position forward together, once; a customer waits behind its own earlier event only', async () => {
    await s.webhooks.createEndpoint(tenantId, endpoint('ep_a', await s.changes.head(tenantId)));
    const [leased] = await s.webhookDeliveries.lease('d1', 60_000);
    const events = await write(['a', 'b', 'a', 'c'], leased.position);
    expect(await take('d1', leased.position, events)).toBe(4);
    // The same take again (another deliverer's stale view, or a retry after a lost answer) stores nothing.
    expect(await take('d1', leased.position, events)).toBeNull();
    expect((await s.webhookDeliveries.lease('d1', 60_000))[0]).toMatchObject({ position: events[3].position, pending: 4 });

    const due = await s.webhookDeliveries.due(tenantId, 'ep_a', Date.now(), 10);
    // a's second event waits behind its first; b and c go.
    expect(due.map((d) => [d.seq, d.event.customerId, d.event.id])).toEqual([
      [1, 'a', events[0].id],
      [2, 'b', events[1].id],
      [4, 'c', events[3].id],
    ]);
    expect(due[0].event).toEqual(events[0]);
    // a's first fails and is due later: a's second still waits; b is delivered; c fails, due now.
    const later = Date.now() + 60_000;
    expect(await s.webhookDeliveries.record('d1', tenantId, 'ep_a', [failed(1, events[0].id, later), delivered(2, events[1].id), failed(4, events[3].id, 0)], { failingSince: 5 }, Date.now())).toBe(3);
    expect((await s.webhookDeliveries.due(tenantId, 'ep_a', Date.now(), 10)).map((d) => [d.seq, d.attempts])).toEqual([[4, 1]]);
    expect((await s.webhookDeliveries.due(tenantId, 'ep_a', later, 10)).map((d) => d.seq)).toEqual([1, 4]);
    expect(await s.webhookDeliveries.record('d1', tenantId, 'ep_a', [delivered(1, events[0].id)], {}, Date.now())).toBe(2);
    expect((await s.webhookDeliveries.due(tenantId, 'ep_a', Date.now(), 10)).map((d) => d.seq)).toEqual([3, 4]);

    const attempts = await s.webhooks.listAttempts(tenantId, 'ep_a', null, 10);
    expect(attempts.map((a) => [a.eventId, a.outcome, a.status])).toEqual([
      [events[0].id, 'delivered', 200],
      [events[3].id, 'failed', 500],
      [events[1].id, 'delivered', 200],
      [events[0].id, 'failed', 500],
    ]);
    expect((await s.webhooks.listAttempts(tenantId, 'ep_a', attempts[1].id, 10)).map((a) => a.id)).toEqual(attempts.slice(2).map((a) => a.id));
    expect(await s.webhooks.listAttempts(otherId, 'ep_a', null, 10)).toEqual([]);
    expect((await s.webhooks.listEndpoints(tenantId))[0].failingSince).toBe(5);
  });

  it('gives each endpoint to one owner at a time: the other stores nothing until the lease runs out or is released', async () => {
    const head = await s.changes.head(tenantId);
    await s.webhooks.createEndpoint(tenantId, endpoint('ep_a', head));
    expect((await s.webhookDeliveries.lease('d1', 60_000)).map((e) => e.id)).toEqual(['ep_a']);
    expect(await s.webhookDeliveries.lease('d2', 60_000)).toEqual([]);
    const events = await write(['a'], head);
    expect(await take('d2', head, events)).toBeNull();
    expect(await s.webhookDeliveries.record('d2', tenantId, 'ep_a', [], {}, Date.now())).toBeNull();
    await s.webhookDeliveries.release('d1');
    expect((await s.webhookDeliveries.lease('d2', 1)).map((e) => e.id)).toEqual(['ep_a']);
    // d2's lease of 1 ms runs out: d1 takes it back, and d2 can no longer store anything.
    await waitFor(async () => (await s.webhookDeliveries.lease('d1', 60_000)).length === 1, { timeoutMs: 5000, description: 'd1 to take the lease back' });
    expect(await take('d2', head, events)).toBeNull();
    expect(await take('d1', head, events)).toBe(1);
  });

  it('disables an endpoint on a verdict: it is leased by nobody until enabled, which makes its deliveries due again, counted afresh', async () => {
    const head = await s.changes.head(tenantId);
    await s.webhooks.createEndpoint(tenantId, endpoint('ep_a', head));
    await s.webhookDeliveries.lease('d1', 60_000);
    const events = await write(['a'], head);
    await take('d1', head, events);
    const later = Date.now() + 3_600_000;
    expect(await s.webhookDeliveries.record('d1', tenantId, 'ep_a', [failed(1, events[0].id, later)], { disable: 'the endpoint answered 410 Gone' }, Date.now())).toBe(1);
    expect((await s.webhooks.listEndpoints(tenantId))[0]).toMatchObject({ disabledReason: 'the endpoint answered 410 Gone', disabledAt: expect.any(Number) });
    expect(await s.webhookDeliveries.lease('d1', 60_000)).toEqual([]);
    expect(await s.webhooks.resend(tenantId, 'ep_a', events[0].id, Date.now())).toBe('disabled');
    expect(await s.webhooks.enableEndpoint(tenantId, 'ep_a', Date.now())).toMatchObject({ disabledAt: null, disabledReason: null });
    expect((await s.webhookDeliveries.due(tenantId, 'ep_a', Date.now(), 10)).map((d) => [d.seq, d.attempts])).toEqual([[1, 0]]);
    expect((await s.webhookDeliveries.lease('d2', 60_000)).map((e) => e.id)).toEqual(['ep_a']);
  });

  it('resends an event still in the feed at the end of its customer\'s line, and none it does not hold', async () => {
    const head = await s.changes.head(tenantId);
    await s.webhooks.createEndpoint(tenantId, endpoint('ep_a', head));
    const events = await write(['a', 'b'], head);
    expect(await s.webhooks.resend(tenantId, 'ep_a', events[1].id, Date.now())).toBe('queued');
    expect(await s.webhooks.resend(tenantId, 'ep_a', 'evt_999999', Date.now())).toBe('no-event');
    expect(await s.webhooks.resend(tenantId, 'ep_a', 'nonsense', Date.now())).toBe('no-event');
    expect(await s.webhooks.resend(tenantId, 'ep_b', events[1].id, Date.now())).toBe('no-endpoint');
    expect(await s.webhooks.resend(otherId, 'ep_a', events[1].id, Date.now())).toBe('no-endpoint');
    const [due] = await s.webhookDeliveries.due(tenantId, 'ep_a', Date.now(), 10);
    expect(due.event).toEqual(events[1]);
  });

  it('purges attempts older than a time, of one tenant', async () => {
    const head = await s.changes.head(tenantId);
    await s.webhooks.createEndpoint(tenantId, endpoint('ep_a', head));
    await s.webhookDeliveries.lease('d1', 60_000);
    const events = await write(['a', 'b'], head);
    await take('d1', head, events);
    const old = { ...delivered(1, events[0].id), attempt: { ...delivered(1, events[0].id).attempt, attemptedAt: Date.now() - 31 * DAY } };
    await s.webhookDeliveries.record('d1', tenantId, 'ep_a', [old, delivered(2, events[1].id)], {}, Date.now());
    expect(await s.webhooks.purgeAttempts(otherId, Date.now() - 30 * DAY, 100)).toBe(0);
    expect(await s.webhooks.purgeAttempts(tenantId, Date.now() - 30 * DAY, 100)).toBe(1);
    expect((await s.webhooks.listAttempts(tenantId, 'ep_a', null, 10)).map((a) => a.eventId)).toEqual([events[1].id]);
  });
  it("are erased with their tenant (endpoints with their secrets, deliveries with the events' bodies, attempts), a few at a time; another tenant's stay", async () => {
    await s.webhooks.createEndpoint(tenantId, endpoint('ep_a', await s.changes.head(tenantId)));
    await s.webhooks.createEndpoint(otherId, endpoint('ep_o', await s.changes.head(otherId)));
    const leased = (await s.webhookDeliveries.lease('d1', 60_000)).find((e) => e.id === 'ep_a')!;
    const events = await write(['a', 'b', 'c'], leased.position);
    expect(await take('d1', leased.position, events)).toBe(3);
    expect(await s.webhookDeliveries.record('d1', tenantId, 'ep_a', [delivered(1, events[0].id)], {}, Date.now())).toBe(2);
    expect(await s.erasure.countTenantRows(tenantId)).toMatchObject({ webhookEndpoints: 1, webhookDeliveries: 2, webhookAttempts: 1 });

    await s.directory.removeTenant(tenantId);
    let chunks = 0;
    while (Object.values(await s.erasure.eraseTenantRows(tenantId, 1)).some((n) => n > 0)) chunks++;
    expect(chunks).toBeGreaterThanOrEqual(4);
    expect(await s.erasure.countTenantRows(tenantId)).toMatchObject({ webhookEndpoints: 0, webhookDeliveries: 0, webhookAttempts: 0 });
    expect(await s.erasure.countTenantRows(otherId)).toMatchObject({ webhookEndpoints: 1, webhookDeliveries: 0, webhookAttempts: 0 });
    expect((await s.webhooks.listEndpoints(otherId)).map((e) => e.id)).toEqual(['ep_o']);
  });
});
