/**
 * The change feed's outbox on each store: the apply writes one event per change in its own
 * database transaction (none for a refused record, none when the apply fails), and the feed reads
 * them in apply order, after a position, of some types; retention purges them and says where the
 * feed now starts. On PostgreSQL, a transaction that commits late is never skipped.
 */
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keysOf, reduceWriteTransactions } from '../../src/domain/apply.js';
import { DEFAULT_TENANT_SETTINGS } from '../../src/domain/tenant-settings.js';
import type { ChangeEventBody, ChangeEventType, StoredChangeEvent } from '../../src/model/change-event.js';
import type { ApplyReducer } from '../../src/model/profile.js';
import type { OpenedStore } from '../../src/open-store.js';
import { InvalidPositionError } from '../../src/storage/ports.js';
import { applierOf, openTestStore, selectedBackends, type TestStore } from '../support/storage-backends.js';
import { waitFor } from '../support/wait.js';
import { newWriteTransaction } from '../support/write-transactions.js';

const DAY = 86_400_000;
const master = [{ name: 'customerId', type: 'string' as const }, { name: 'name', type: 'string' as const }, { name: 'email', type: 'string' as const }];
const body = (e: StoredChangeEvent) => JSON.parse(e.bodyJson) as ChangeEventBody;

describe.each(selectedBackends())('change feed: %s', (backend) => {
  let store: TestStore;
  let s: OpenedStore;
  let tenantId: number;
  let otherId: number;
  const apply = async (wts: ReturnType<typeof newWriteTransaction>[], reduce: ApplyReducer = reduceWriteTransactions) => {
    await s.journal.enqueue(wts, DAY);
    return applierOf(s).applyNext(100, keysOf, reduce);
  };
  /**
   * The tenant's events once `count` are readable. On PostgreSQL an event is read once every
   * older transaction of the cluster has ended, which other tests' databases can delay.
   */
  const read = (count: number, after: string | null = null, tenant = tenantId, types: ChangeEventType[] | null = null) =>
    waitFor(
      async () => {
        const { events } = await s.changes.read(tenant, after, 1000, types);
        return events.length >= count && events;
      },
      { timeoutMs: 10_000, description: `${count} events readable` },
    );

  beforeEach(async () => {
    store = await openTestStore(backend);
    s = store.storage;
    tenantId = (await s.directory.createTenant('feed', { ...DEFAULT_TENANT_SETTINGS }, master)).id;
    otherId = (await s.directory.createTenant('other', { ...DEFAULT_TENANT_SETTINGS }, master)).id;
    await s.directory.createApp(tenantId, 'feed-rt', 'rt', []);
  });
  afterEach(() => store.dispose());

  it('stores each body as the apply wrote it, whatever its ids and values hold (quotes, NUL, lone surrogates, astral characters)', async () => {
    const odd = ['quote"d \\ back', 'nul\u0000', 'lone \ud800 high', '😀', 'line\u2028sep'];
    // Ids as the API takes them (no NUL, no lone surrogate: the API refuses those in ids); values any.
    const id = (i: number) => `c"${i}😀`;
    await apply(odd.map((v, i) => newWriteTransaction(tenantId, [{ customerId: id(i), attributes: { name: v } }])));
    const events = await read(odd.length);
    expect(events.map((e) => body(e).customerId)).toEqual(odd.map((_, i) => id(i)));
    expect(events.map((e) => (body(e).profile as { attributes: Record<string, string> }).attributes.name)).toEqual(odd);
    // The stored text is JSON.stringify's own (one line, no added spaces): the wire event embeds it as it is.
    for (const e of events) expect(e.bodyJson).toBe(JSON.stringify(JSON.parse(e.bodyJson)));
  });

  it("writes one event per change, in apply order, with what changed and the profile after; none for a refused record", async () => {
    const create = newWriteTransaction(tenantId, [{ customerId: 'c1', attributes: { name: 'Ann' } }]);
    const again = newWriteTransaction(tenantId, [{ customerId: 'c1', attributes: { name: 'Not applied' } }]);
    const update = newWriteTransaction(tenantId, [{ customerId: 'c1', attributes: { email: 'ann@example.com', name: null } }], { operation: 'updateProfile' });
    const device = newWriteTransaction(tenantId, [{ customerId: 'c1', deviceId: 'd1', attributes: { deviceId: 'd1' } }], { operation: 'createAppProfile', appid: 'feed-rt' });
    const gone = newWriteTransaction(tenantId, [{ customerId: 'c1' }], { operation: 'deleteProfile', isCascade: true });
    await apply([create, again, update, device, gone]);
    await apply([newWriteTransaction(otherId, [{ customerId: 'c1', attributes: { name: 'Other' } }])]);

    const events = await read(5);
    expect(events.map((e) => [e.type, e.customerId])).toEqual([
      ['profile.created', 'c1'],
      ['profile.updated', 'c1'],
      ['app_profile.created', 'c1'],
      ['profile.deleted', 'c1'],
      ['app_profile.deleted', 'c1'],
    ]);
    const [created, updated, appCreated, deleted, appDeleted] = events.map(body);
    expect(created).toEqual({
      type: 'profile.created',
      occurredAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      customerId: 'c1',
      appId: null,
      deviceId: null,
      transid: create.transid,
      changed: ['name'],
      profile: { customerId: 'c1', attributes: { name: 'Ann' }, appProfiles: [], createdAt: created.occurredAt, updatedAt: created.occurredAt },
    });
    expect(updated).toMatchObject({ transid: update.transid, changed: ['name', 'email'], profile: { attributes: { email: 'ann@example.com' } } });
    expect(appCreated).toMatchObject({
      appId: 'feed-rt',
      deviceId: 'd1',
      changed: ['deviceId'],
      profile: { customerId: 'c1', appId: 'feed-rt', channel: 'rt', deviceId: 'd1', attributes: { deviceId: 'd1' } },
    });
    expect(deleted).toMatchObject({ transid: gone.transid, changed: ['email'], profile: null });
    expect(appDeleted).toMatchObject({ transid: gone.transid, appId: 'feed-rt', deviceId: 'd1', profile: null });
    // Ids are unique, and the same on every read.
    expect(new Set(events.map((e) => e.id)).size).toBe(5);
    expect((await read(5)).map((e) => e.id)).toEqual(events.map((e) => e.id));
    expect((await read(1, null, otherId)).map(body).map((b) => b.profile)).toEqual([expect.objectContaining({ attributes: { name: 'Other' } })]);
  });

  it('reads after a position, a page at a time, of the types asked for', async () => {
    await apply([newWriteTransaction(tenantId, ['a', 'b', 'c'].map((customerId) => ({ customerId, attributes: { name: customerId } })))]);
    await apply([newWriteTransaction(tenantId, [{ customerId: 'b', attributes: { name: 'B' } }], { operation: 'updateProfile' })]);
    await read(4);
    const first = (await s.changes.read(tenantId, null, 2, null)).events;
    expect(first.map((e) => e.customerId)).toEqual(['a', 'b']);
    const rest = (await s.changes.read(tenantId, first[1].position, 10, null)).events;
    expect(rest.map((e) => [e.type, e.customerId])).toEqual([
      ['profile.created', 'c'],
      ['profile.updated', 'b'],
    ]);
    expect((await s.changes.read(tenantId, rest[1].position, 10, null)).events).toEqual([]);
    expect((await read(1, null, tenantId, ['profile.updated'])).map((e) => e.customerId)).toEqual(['b']);
    await expect(s.changes.read(tenantId, 'not-a-position', 10, null)).rejects.toBeInstanceOf(InvalidPositionError);
  });

  it('pages in apply order past ids and positions of more digits (a text sort would not)', async () => {
    const ids = Array.from({ length: 25 }, (_, n) => `c${String(n).padStart(2, '0')}`);
    await apply([newWriteTransaction(tenantId, ids.map((customerId) => ({ customerId, attributes: { name: customerId } })))]);
    await read(25);
    const seen: string[] = [];
    for (let after: string | null = null; ; ) {
      const { events } = await s.changes.read(tenantId, after, 4, null);
      if (events.length === 0) break;
      seen.push(...events.map((e) => e.customerId));
      after = events.at(-1)!.position;
    }
    expect(seen).toEqual(ids);
  });

  it('writes no event when the apply fails, and reads after the head only what comes later', async () => {
    const failing: ApplyReducer = () => {
      throw new Error('reducer failed');
    };
    await expect(apply([newWriteTransaction(tenantId, [{ customerId: 'x', attributes: { name: 'X' } }])], failing)).rejects.toThrow('reducer failed');
    expect((await s.changes.read(tenantId, null, 10, null)).events).toEqual([]);
    const head = await s.changes.head(tenantId);
    await applierOf(s).applyNext(100, keysOf, reduceWriteTransactions);
    const later = await read(1, head);
    expect(later.map((e) => [e.type, e.customerId])).toEqual([['profile.created', 'x']]);
    expect((await s.changes.read(tenantId, await s.changes.head(tenantId), 10, null)).events).toEqual([]);
  });

  it('purges events past retention, oldest first, and says where the feed starts to a reader behind it', async () => {
    await apply([newWriteTransaction(tenantId, ['a', 'b', 'c'].map((customerId) => ({ customerId, attributes: { name: customerId } })))]);
    const [a, b, c] = await read(3);
    expect(await s.changes.purge(tenantId, Date.now() + 1000, 2)).toBe(2);
    expect((await read(1)).map((e) => e.id)).toEqual([c.id]);
    // A reader at a or before it missed b: it is told to start again; one at b missed nothing.
    expect(await s.changes.read(tenantId, a.position, 10, null)).toEqual({ events: [], expired: b.position });
    expect((await s.changes.read(tenantId, b.position, 10, null)).events.map((e) => e.id)).toEqual([c.id]);
    // Another tenant's feed is not affected.
    expect(await s.changes.purge(otherId, Date.now() + 1000, 10)).toBe(0);
    expect(await s.changes.read(otherId, '0'.concat(backend === 'postgres' ? '.0' : ''), 10, null)).toEqual({ events: [], expired: null });
  });

  it.runIf(backend === 'postgres')('never passes a transaction that commits after a later one (PostgreSQL: xid order, below the oldest running)', async () => {
    const url = store.env.PROFILES_DATABASE_URL;
    const [early, late] = [new pg.Client({ connectionString: url }), new pg.Client({ connectionString: url })];
    await early.connect();
    await late.connect();
    const insert = (c: pg.Client, customerId: string) =>
      c.query("INSERT INTO change_events (tenant_id, type, customer_id, occurred_at, body) VALUES ($1, 'profile.updated', $2, 0, '{}')", [tenantId, customerId]);
    try {
      await early.query('BEGIN');
      await insert(early, 'early'); // takes the lower xid (and the lower id)
      await late.query('BEGIN');
      await insert(late, 'late');
      await late.query('COMMIT');
      // `late` is committed, but `early` may still commit before it: nothing is read past it.
      expect((await s.changes.read(tenantId, null, 10, null)).events).toEqual([]);
      await early.query('COMMIT');
      expect((await read(2)).map((e) => e.customerId)).toEqual(['early', 'late']);

      // The same with the ids the other way round: the feed follows the transactions, not the ids.
      const seen = (await read(2)).at(-1)!.position;
      await early.query('BEGIN');
      await early.query('SELECT pg_current_xact_id()'); // the lower xid…
      await late.query('BEGIN');
      await insert(late, 'second'); // …the lower id
      await insert(early, 'first');
      await late.query('COMMIT');
      expect((await s.changes.read(tenantId, seen, 10, null)).events).toEqual([]);
      await early.query('COMMIT');
      expect((await read(2, seen)).map((e) => e.customerId)).toEqual(['first', 'second']);
    } finally {
      await early.end();
      await late.end();
    }
  });
});
