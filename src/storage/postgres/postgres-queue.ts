import type { ApplyReducer, KeysOf } from '../../model/profile.js';
import type { ClaimedWriteTransaction, EnqueueResult, NewWriteTransaction, QueueStats, RecordResult, WriteTransactionStatus } from '../../model/write-transaction.js';
import { QUEUE_COLUMNS, type QueueRow, type StatusRow, type TenantQueueRow, claimedOf, tallyOf, toQueueStats, toStatus } from '../rows.js';
import { REMOVAL_LOCK } from './postgres-directory.js';
import type { StoreRules } from '../ports.js';
import type { Atomically, Queryable } from './postgres-pool.js';
import { lockedSnapshot, writeChanges } from './postgres-profiles.js';

/** Advisory locks (any constants): enqueues take one so that `seq` order is commit order; claims take the other. */
const ENQUEUE_LOCK = 0x0b9e_0001;
const CLAIM_LOCK = 0x0b9e_0002;
export const QUEUE_CHANNEL = 'openprofiles_queue';

/** Candidates a claim reads per slot while other work is in flight (with none, the first `limit` all qualify). */
const SCAN_FACTOR = 8;
/** Most records a claim takes (its first write transaction whatever its size), which bounds a batch's memory (256 writes of 100). */
export const CLAIM_RECORDS = 25_600;

/**
 * The write transaction queue in PostgreSQL. Several API nodes enqueue and several appliers claim
 * at once; per-customer order comes from `seq` being commit order (ENQUEUE_LOCK) and from the
 * conflict-key scheduler at claim time (see docs/scaling.md).
 */
export class PostgresQueue {
  constructor(
    private readonly pool: Queryable,
    private readonly atomically: Atomically,
    private readonly rules: Pick<StoreRules, 'conflictKeysOf' | 'recordsOf'>,
  ) {}

  enqueue(batch: NewWriteTransaction[], windowMs: number): Promise<EnqueueResult[]> {
    return this.atomically(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [ENQUEUE_LOCK]);
      const results: EnqueueResult[] = new Array(batch.length);
      const inserts: NewWriteTransaction[] = [];
      const seenKeys = new Map<string, NewWriteTransaction>();
      for (const [i, wt] of batch.entries()) {
        if (wt.idempotencyKey === null) {
          inserts.push(wt);
          results[i] = { outcome: 'accepted', transid: wt.transid };
          continue;
        }
        const sameBatch = seenKeys.get(`${wt.tenantId}/${wt.idempotencyKey}`);
        const earlier = sameBatch
          ? { transid: sameBatch.transid, request_hash: sameBatch.requestHash, accepted_at: String(sameBatch.acceptedAt) }
          : (
              await c.query<{ transid: string; request_hash: string | null; accepted_at: string }>(
                'SELECT transid, request_hash, accepted_at FROM write_transactions WHERE tenant_id = $1 AND idempotency_key = $2',
                [wt.tenantId, wt.idempotencyKey],
              )
            ).rows[0];
        if (earlier && Number(earlier.accepted_at) >= wt.acceptedAt - windowMs) {
          results[i] = { outcome: earlier.request_hash === wt.requestHash ? 'replayed' : 'conflict', transid: earlier.transid };
          continue;
        }
        if (earlier) {
          await c.query('UPDATE write_transactions SET idempotency_key = NULL WHERE tenant_id = $1 AND idempotency_key = $2', [wt.tenantId, wt.idempotencyKey]);
        }
        seenKeys.set(`${wt.tenantId}/${wt.idempotencyKey}`, wt);
        inserts.push(wt);
        results[i] = { outcome: 'accepted', transid: wt.transid };
      }
      if (inserts.length) {
        const { conflictKeysOf, recordsOf } = this.rules;
        const keys = inserts.map((w) => conflictKeysOf({ ...w, records: recordsOf(w.recordsJson) }));
        // The records and the key lists travel as one JSON array each (arrays of arrays do not pass
        // through unnest, and in a text[] the driver escapes every quote of the records in JavaScript).
        await c.query(
          `INSERT INTO write_transactions (transid, tenant_id, operation, appid, records, is_upsert, is_cascade, total_count,
             exclusive_keys, shared_keys, idempotency_key, request_hash, accepted_at)
           SELECT t, tenant, op, app, recs::text, ups, cas, n,
             ARRAY(SELECT json_array_elements_text(ek)), ARRAY(SELECT json_array_elements_text(sk)), ik, rh, at
           FROM ROWS FROM (unnest($1::uuid[]), unnest($2::int[]), unnest($3::text[]), unnest($4::text[]), json_array_elements($5::json),
                           unnest($6::boolean[]), unnest($7::boolean[]), unnest($8::int[]), json_array_elements($9::json), json_array_elements($10::json),
                           unnest($11::text[]), unnest($12::text[]), unnest($13::bigint[]))
             WITH ORDINALITY AS v (t, tenant, op, app, recs, ups, cas, n, ek, sk, ik, rh, at, ord)
           ORDER BY ord`,
          [
            inserts.map((w) => w.transid),
            inserts.map((w) => w.tenantId),
            inserts.map((w) => w.operation),
            inserts.map((w) => w.appid),
            `[${inserts.map((w) => w.recordsJson).join(',')}]`,
            inserts.map((w) => w.isUpsert),
            inserts.map((w) => w.isCascade),
            inserts.map((w) => w.recordCount),
            JSON.stringify(keys.map((k) => k.exclusive)),
            JSON.stringify(keys.map((k) => k.shared)),
            inserts.map((w) => w.idempotencyKey),
            inserts.map((w) => w.requestHash),
            inserts.map((w) => w.acceptedAt),
          ],
        );
        await c.query(`NOTIFY ${QUEUE_CHANNEL}`);
      }
      return results;
    });
  }

  async getWriteTransactionStatus(tenantId: number, transid: string): Promise<WriteTransactionStatus | null> {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(transid)) return null;
    const { rows } = await this.pool.query<StatusRow>(
      'SELECT transid, state, total_count, results, accepted_at, finished_at FROM write_transactions WHERE tenant_id = $1 AND transid = $2',
      [tenantId, transid],
    );
    return rows[0] ? toStatus(rows[0]) : null;
  }

  async queueStats(): Promise<QueueStats> {
    const { rows } = await this.pool.query<TenantQueueRow>(
      "SELECT tenant_id, COUNT(*) AS depth, SUM(total_count) AS records, MIN(accepted_at) AS oldest FROM write_transactions WHERE state <> 'done' GROUP BY tenant_id",
    );
    return toQueueStats(rows);
  }

  async purgeWriteTransactions(tenantId: number, before: number, limit: number): Promise<number> {
    const { rowCount } = await this.pool.query(
      `DELETE FROM write_transactions WHERE seq IN (
         SELECT seq FROM write_transactions WHERE tenant_id = $1 AND state = 'done' AND finished_at < $2 LIMIT $3)`,
      [tenantId, before, limit],
    );
    return rowCount ?? 0;
  }
}

/**
 * One applier: claims (`claim`) as `applierId`, for `leaseMs`, then applies what it still
 * holds. A batch it failed to apply comes back to it first.
 */
export class PostgresApplier {
  constructor(
    private readonly atomically: Atomically,
    private readonly toClaimed: ReturnType<typeof claimedOf>,
    private readonly schedule: StoreRules['schedule'],
    private readonly applierId: string,
    private readonly leaseMs: number,
  ) {}

  /**
   * Claims, for `leaseMs`, up to `limit` (and `CLAIM_RECORDS` records) of the oldest write transactions
   * that are queued, already claimed by this applier (a batch it failed to apply comes back first), or
   * whose claim expired, leaving out any that conflict with earlier work another applier holds, in order.
   */
  private claim(limit: number): Promise<ClaimedWriteTransaction[]> {
    const { applierId, leaseMs } = this;
    return this.atomically(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [CLAIM_LOCK]);
      const now = Date.now();
      type KeyRow = { seq: string; total_count: number; exclusive_keys: string[]; shared_keys: string[] };
      // The key lists come back as JSON (parsed natively by the driver): the driver's text[] parser
      // reads each candidate's hundreds of quoted keys character by character in JavaScript.
      const KEYS = 'seq, total_count, to_json(exclusive_keys) AS exclusive_keys, to_json(shared_keys) AS shared_keys';
      const inFlight = await c.query<KeyRow>(
        `SELECT ${KEYS} FROM write_transactions WHERE state = 'processing' AND lease_until >= $1 AND claimed_by <> $2`,
        [now, applierId],
      );
      const candidates = await c.query<KeyRow>(
        `SELECT ${KEYS} FROM write_transactions
         WHERE state = 'queued' OR (state = 'processing' AND (lease_until < $1 OR claimed_by = $3)) ORDER BY seq LIMIT $2`,
        [now, inFlight.rows.length > 0 ? limit * SCAN_FACTOR : limit, applierId],
      );
      const asSchedulable = (r: KeyRow) => ({ seq: Number(r.seq), records: r.total_count, keys: { exclusive: r.exclusive_keys, shared: r.shared_keys } });
      const chosen = this.schedule(inFlight.rows.map(asSchedulable), candidates.rows.map(asSchedulable), limit, CLAIM_RECORDS);
      if (chosen.length === 0) return [];
      const { rows } = await c.query<QueueRow>(
        `UPDATE write_transactions SET state = 'processing', claimed_by = $1, lease_until = $2
         WHERE seq = ANY($3::bigint[]) AND (state = 'queued' OR (state = 'processing' AND (lease_until < $4 OR claimed_by = $1)))
         RETURNING ${QUEUE_COLUMNS}`,
        [applierId, now + leaseMs, chosen.map((x) => x.seq), now],
      );
      return rows.map(this.toClaimed).sort((a, b) => a.seq - b.seq);
    });
  }

  /**
   * Claims the next batch (`claim`), then applies, in one database transaction, what this applier
   * still holds of it: a claim that expired meanwhile may have been taken over.
   */
  async applyNext(limit: number, keysOf: KeysOf, reduce: ApplyReducer): Promise<ClaimedWriteTransaction[]> {
    const batch = await this.claim(limit);
    if (batch.length === 0) return batch;
    return this.atomically(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock_shared($1)', [REMOVAL_LOCK]);
      const { rows } = await c.query<{ seq: string }>(
        "SELECT seq FROM write_transactions WHERE seq = ANY($1::bigint[]) AND state = 'processing' AND claimed_by = $2 FOR UPDATE",
        [batch.map((wt) => wt.seq), this.applierId],
      );
      const held = new Set(rows.map((r) => Number(r.seq)));
      const kept = batch.filter((wt) => held.has(wt.seq));
      if (kept.length === 0) return [];
      const live = await this.dropRemovedTenants(c, kept);
      if (live.length > 0) await this.applyLive(c, live, keysOf, reduce);
      return kept;
    });
  }

  /** Deletes the write transactions whose tenant was removed (it is being erased); returns the others. */
  private async dropRemovedTenants(c: Queryable, kept: readonly ClaimedWriteTransaction[]): Promise<readonly ClaimedWriteTransaction[]> {
    const { rows } = await c.query<{ id: number }>('SELECT id FROM tenants WHERE id = ANY($1::int[])', [[...new Set(kept.map((wt) => wt.tenantId))]]);
    const present = new Set(rows.map((r) => r.id));
    const dropped = kept.filter((wt) => !present.has(wt.tenantId));
    if (dropped.length === 0) return kept;
    await c.query('DELETE FROM write_transactions WHERE seq = ANY($1::bigint[])', [dropped.map((wt) => wt.seq)]);
    return kept.filter((wt) => present.has(wt.tenantId));
  }

  /** Applies held write transactions of present tenants, and finishes them. */
  private async applyLive(c: Queryable, kept: readonly ClaimedWriteTransaction[], keysOf: KeysOf, reduce: ApplyReducer): Promise<void> {
    const now = Date.now();
    const { changes, results } = reduce(kept, await lockedSnapshot(c, keysOf(kept)), now);
    await writeChanges(c, changes);
    const own = kept.map((wt): RecordResult[] => results.get(wt.transid) ?? []);
    await c.query(
      `UPDATE write_transactions w SET state = 'done', results = v.results::text, success_count = v.ok, failure_count = v.failed,
         finished_at = $5, claimed_by = NULL, lease_until = NULL, records = '[]'
       FROM ROWS FROM (unnest($1::bigint[]), json_array_elements($2::json), unnest($3::int[]), unnest($4::int[])) AS v (seq, results, ok, failed)
       WHERE w.seq = v.seq`,
      [
        kept.map((wt) => wt.seq),
        JSON.stringify(own),
        own.map((r) => r.filter((x) => x.code === '1000').length),
        own.map((r) => r.filter((x) => x.code !== '1000').length),
        now,
      ],
    );
    const imported = kept.flatMap((wt, i) => (wt.operation === 'importProfiles' ? [{ transid: wt.transid, ...tallyOf(own[i]) }] : []));
    if (imported.length > 0) {
      await c.query(
        'UPDATE import_chunks c SET applied = v.applied, skipped = v.skipped FROM unnest($1::uuid[], $2::int[], $3::int[]) AS v (transid, applied, skipped) WHERE c.transid = v.transid',
        [imported.map((x) => x.transid), imported.map((x) => x.applied), imported.map((x) => x.skipped)],
      );
    }
  }
}
