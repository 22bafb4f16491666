import type pg from 'pg';
import type { ChangeEventType, NewChangeEvent, StoredChangeEvent } from '../../model/change-event.js';
import { type ChangeFeed, InvalidPositionError } from '../ports.js';
import type { Queryable } from './postgres-pool.js';

interface EventRecord {
  xid_text: string;
  id_text: string;
  type: ChangeEventType;
  customer_id: string;
  body: string;
}

const toStored = (r: EventRecord): StoredChangeEvent => ({ position: `${r.xid_text}.${r.id_text}`, id: `evt_${r.id_text}`, type: r.type, customerId: r.customer_id, bodyJson: r.body });

/** A position of this store: `<xid>.<id>`, both in decimal. */
function parse(position: string): [xid: string, id: string] {
  const match = /^(0|[1-9][0-9]{0,19})\.(0|[1-9][0-9]{0,18})$/.exec(position);
  if (!match) throw new InvalidPositionError(`${JSON.stringify(position)} is not a position of this store`);
  return [match[1], match[2]];
}

/** Only rows of transactions older than every one still running: none can commit before them any more. */
const SETTLED = 'xid < pg_snapshot_xmin(pg_current_snapshot())';

/**
 * Stores the apply's events, in its database transaction (called by `writeChanges`). The bodies go
 * as one JSON array, expanded by `json_array_elements`, whose elements' text is what was sent (as
 * the profiles' attributes, `attributesOf`): a `text[]` of JSON texts has the driver escape every
 * quote in JavaScript.
 */
export async function appendEvents(c: Queryable, events: readonly NewChangeEvent[]): Promise<void> {
  if (events.length === 0) return;
  await c.query(
    `INSERT INTO change_events (tenant_id, type, customer_id, occurred_at, body)
     SELECT tenant_id, type, customer_id, occurred_at, body::text
     FROM ROWS FROM (unnest($1::int[]), unnest($2::text[]), unnest($3::text[]), unnest($4::bigint[]), json_array_elements($5::json))
       AS e (tenant_id, type, customer_id, occurred_at, body)`,
    [events.map((e) => e.tenantId), events.map((e) => e.type), events.map((e) => e.customerId), events.map((e) => e.occurredAt), JSON.stringify(events.map((e) => e.body))],
  );
}

/**
 * The change feed on PostgreSQL, where several appliers commit at once: a sequence alone would
 * let a reader pass an id whose transaction commits later. Rows are read in (xid, id) order and
 * only below the oldest running transaction (SETTLED); an apply's transaction takes its xid at its
 * first write, after the claim that orders it behind any earlier conflicting apply, so each
 * customer's events keep apply order.
 */
export class PostgresChanges implements ChangeFeed {
  constructor(private readonly pool: pg.Pool) {}

  async read(tenantId: number, after: string | null, limit: number, types: readonly ChangeEventType[] | null): Promise<{ events: StoredChangeEvent[]; expired: string | null }> {
    const [xid, id] = after === null ? ['0', '0'] : parse(after);
    if (after !== null) {
      const purged = await this.pool.query<{ xid: string; id: string }>('SELECT xid::text, id::text FROM change_feed_purged WHERE tenant_id = $1 AND (xid, id) > ($2::xid8, $3::bigint)', [
        tenantId,
        xid,
        id,
      ]);
      if (purged.rows.length > 0) return { events: [], expired: `${purged.rows[0].xid}.${purged.rows[0].id}` };
    }
    // Ordered by the columns themselves: an output column of the same name (the text) would sort as text.
    const rows = await this.pool.query<EventRecord>(
      `SELECT e.xid::text AS xid_text, e.id::text AS id_text, e.type, e.customer_id, e.body FROM change_events e
       WHERE e.tenant_id = $1 AND (e.xid, e.id) > ($2::xid8, $3::bigint) AND e.${SETTLED} AND ($5::text[] IS NULL OR e.type = ANY ($5::text[]))
       ORDER BY e.xid, e.id LIMIT $4`,
      [tenantId, xid, id, limit, types],
    );
    return { events: rows.rows.map(toStored), expired: null };
  }

  async head(): Promise<string> {
    const { rows } = await this.pool.query<{ xmin: string }>('SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin');
    return `${rows[0].xmin}.0`;
  }

  async purge(tenantId: number, before: number, limit: number): Promise<number> {
    const { rows } = await this.pool.query<{ xid: string; id: string }>(
      `WITH gone AS (
         DELETE FROM change_events WHERE id IN (
           SELECT id FROM change_events WHERE tenant_id = $1 AND occurred_at < $2 AND ${SETTLED} ORDER BY xid, id LIMIT $3)
         RETURNING xid, id),
       last AS (SELECT xid, id FROM gone ORDER BY xid DESC, id DESC LIMIT 1),
       noted AS (
         INSERT INTO change_feed_purged (tenant_id, xid, id) SELECT $1, xid, id FROM last
         ON CONFLICT (tenant_id) DO UPDATE SET xid = excluded.xid, id = excluded.id
           WHERE (change_feed_purged.xid, change_feed_purged.id) < (excluded.xid, excluded.id))
       SELECT xid::text, id::text FROM gone`,
      [tenantId, before, limit],
    );
    return rows.length;
  }
}
