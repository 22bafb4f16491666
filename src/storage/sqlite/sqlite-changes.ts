import type Database from 'better-sqlite3';
import type { ChangeEventType, NewChangeEvent, StoredChangeEvent } from '../../model/change-event.js';
import { InvalidPositionError, type ChangeFeed } from '../ports.js';
import type { SyncPart } from '../roles.js';

interface EventRecord {
  seq: number;
  type: ChangeEventType;
  customer_id: string;
  body: string;
}

const toStored = (r: EventRecord): StoredChangeEvent => ({ position: String(r.seq), id: `evt_${r.seq}`, type: r.type, customerId: r.customer_id, bodyJson: r.body });

/** A position of this store: a `seq`, written in decimal. */
function seqOf(position: string): number {
  if (!/^(0|[1-9][0-9]{0,15})$/.test(position)) throw new InvalidPositionError(`${JSON.stringify(position)} is not a position of this store`);
  return Number(position);
}

/**
 * The change feed on SQLite. One applier writes a store, one database transaction at a time, so
 * `seq` grows in commit order, and a reader that sees an event sees every event before it.
 */
export class SqliteChanges implements SyncPart<ChangeFeed> {
  private readonly s;
  private readonly purgeOldest: (tenantId: number, before: number, limit: number) => number;

  constructor(db: Database.Database) {
    this.s = {
      insert: db.prepare('INSERT INTO change_events (tenant_id, type, customer_id, occurred_at, body) VALUES (?, ?, ?, ?, ?)'),
      after: db.prepare<[number, number, number], EventRecord>('SELECT seq, type, customer_id, body FROM change_events WHERE tenant_id = ? AND seq > ? ORDER BY seq LIMIT ?'),
      afterOfTypes: db.prepare<[number, number, string, number], EventRecord>(
        'SELECT seq, type, customer_id, body FROM change_events WHERE tenant_id = ? AND seq > ? AND type IN (SELECT value FROM json_each(?)) ORDER BY seq LIMIT ?',
      ),
      purgedTo: db.prepare<[number], number>('SELECT seq FROM change_feed_purged WHERE tenant_id = ?').pluck(),
      last: db.prepare<[], number>("SELECT seq FROM sqlite_sequence WHERE name = 'change_events'").pluck(),
      remove: db.prepare<[number, number, number, number]>(
        'DELETE FROM change_events WHERE seq IN (SELECT seq FROM change_events WHERE tenant_id = ? AND occurred_at < ? ORDER BY seq LIMIT ?) AND tenant_id = ? RETURNING seq',
      ),
      notePurged: db.prepare('INSERT INTO change_feed_purged (tenant_id, seq) VALUES (?, ?) ON CONFLICT (tenant_id) DO UPDATE SET seq = max(seq, excluded.seq)'),
    };
    this.purgeOldest = db.transaction((tenantId: number, before: number, limit: number) => {
      const removed = this.s.remove.all(tenantId, before, limit, tenantId) as Array<{ seq: number }>;
      if (removed.length > 0) this.s.notePurged.run(tenantId, Math.max(...removed.map((r) => r.seq)));
      return removed.length;
    });
  }

  /** Stores the apply's events, in its database transaction (called by `SqliteProfiles.write`). */
  append(events: readonly NewChangeEvent[]): void {
    for (const e of events) this.s.insert.run(e.tenantId, e.type, e.customerId, e.occurredAt, JSON.stringify(e.body));
  }

  read(tenantId: number, after: string | null, limit: number, types: readonly ChangeEventType[] | null): { events: StoredChangeEvent[]; expired: string | null } {
    const from = after === null ? 0 : seqOf(after);
    const purgedTo = this.s.purgedTo.get(tenantId) ?? 0;
    if (after !== null && from < purgedTo) return { events: [], expired: String(purgedTo) };
    const rows = types ? this.s.afterOfTypes.all(tenantId, from, JSON.stringify(types), limit) : this.s.after.all(tenantId, from, limit);
    return { events: rows.map(toStored), expired: null };
  }

  head(): string {
    return String(this.s.last.get() ?? 0);
  }

  /** One database transaction: the events go, and the tenant's purged position moves with them. */
  purge(tenantId: number, before: number, limit: number): number {
    return this.purgeOldest(tenantId, before, limit);
  }
}
