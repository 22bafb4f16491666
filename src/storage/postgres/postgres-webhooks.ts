import type pg from 'pg';
import type { ChangeEventType, StoredChangeEvent } from '../../model/change-event.js';
import type { DeliveryAttempt, DeliveryResult, EndpointVerdict, LeasedEndpoint, NewWebhookEndpoint, PendingDelivery, WebhookEndpoint } from '../../model/webhook.js';
import type { ResendResult, WebhookDeliveries, Webhooks } from '../ports.js';
import { type AttemptRow, type DeliveryRow, type EndpointRow, eventSeqOf, toAttempt, toEndpoint, toLeased, toPending } from '../webhook-rows.js';
import type { Atomically, Queryable } from './postgres-pool.js';

/** The endpoint's row, locked, when `owner` holds its lease. */
const HELD = 'SELECT * FROM webhook_endpoints WHERE id = $1 AND tenant_id = $2 AND lease_owner = $3 FOR UPDATE';

async function append(c: Queryable, endpointId: string, firstSeq: number, deliveries: ReadonlyArray<{ event: StoredChangeEvent; occurredAt: number }>, dueAt: number): Promise<void> {
  await c.query(
    `INSERT INTO webhook_deliveries (endpoint_id, seq, event_id, position, type, customer_id, occurred_at, body, next_attempt_at)
     SELECT $1, $2::bigint + n - 1, event_id, position, type, customer_id, occurred_at, body, $9
     FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::text[]) WITH ORDINALITY AS v (event_id, position, type, customer_id, occurred_at, body, n)`,
    [
      endpointId,
      firstSeq,
      deliveries.map((d) => d.event.id),
      deliveries.map((d) => d.event.position),
      deliveries.map((d) => d.event.type),
      deliveries.map((d) => d.event.customerId),
      deliveries.map((d) => d.occurredAt),
      deliveries.map((d) => d.event.bodyJson),
      dueAt,
    ],
  );
  await c.query('UPDATE webhook_endpoints SET next_seq = next_seq + $2, pending = pending + $2 WHERE id = $1', [endpointId, deliveries.length]);
}

/**
 * Webhook endpoints, their pending deliveries and attempts on PostgreSQL. Several servers and
 * workers share the database: the lease is a column of the endpoint's row, and every change a
 * deliverer makes locks that row and checks it still holds it.
 */
export class PostgresWebhooks implements Webhooks, WebhookDeliveries {
  constructor(
    private readonly pool: pg.Pool,
    private readonly atomically: Atomically,
  ) {}

  async createEndpoint(tenantId: number, e: NewWebhookEndpoint): Promise<WebhookEndpoint> {
    const { rows } = await this.pool.query<EndpointRow>(
      'INSERT INTO webhook_endpoints (id, tenant_id, url, types, secret, created_at, position) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *',
      [e.id, tenantId, e.url, e.types, e.secret, e.createdAt, e.position],
    );
    return toEndpoint(rows[0]);
  }

  async listEndpoints(tenantId: number): Promise<WebhookEndpoint[]> {
    const { rows } = await this.pool.query<EndpointRow>('SELECT * FROM webhook_endpoints WHERE tenant_id = $1 ORDER BY created_at, id', [tenantId]);
    return rows.map(toEndpoint);
  }

  removeEndpoint(tenantId: number, endpointId: string): Promise<boolean> {
    return this.atomically(async (c) => {
      const { rowCount } = await c.query('DELETE FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2', [tenantId, endpointId]);
      if (!rowCount) return false;
      await c.query('DELETE FROM webhook_deliveries WHERE endpoint_id = $1', [endpointId]);
      await c.query('DELETE FROM webhook_attempts WHERE tenant_id = $1 AND endpoint_id = $2', [tenantId, endpointId]);
      return true;
    });
  }

  enableEndpoint(tenantId: number, endpointId: string, now: number): Promise<WebhookEndpoint | null> {
    return this.atomically(async (c) => {
      const { rows } = await c.query<EndpointRow>(
        'UPDATE webhook_endpoints SET disabled_at = NULL, disabled_reason = NULL, failing_since = NULL WHERE tenant_id = $1 AND id = $2 RETURNING *',
        [tenantId, endpointId],
      );
      if (rows.length === 0) return null;
      await c.query('UPDATE webhook_deliveries SET attempts = 0, next_attempt_at = $2 WHERE endpoint_id = $1', [endpointId, now]);
      return toEndpoint(rows[0]);
    });
  }

  async listAttempts(tenantId: number, endpointId: string, before: number | null, limit: number): Promise<DeliveryAttempt[]> {
    const { rows } = await this.pool.query<AttemptRow>(
      'SELECT * FROM webhook_attempts WHERE tenant_id = $1 AND endpoint_id = $2 AND ($3::bigint IS NULL OR id < $3) ORDER BY id DESC LIMIT $4',
      [tenantId, endpointId, before, limit],
    );
    return rows.map(toAttempt);
  }

  resend(tenantId: number, endpointId: string, eventId: string, now: number): Promise<ResendResult> {
    return this.atomically(async (c) => {
      const endpoint = (await c.query<EndpointRow>('SELECT * FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2 FOR UPDATE', [tenantId, endpointId])).rows[0];
      if (!endpoint) return 'no-endpoint';
      if (endpoint.disabled_at !== null) return 'disabled';
      const id = eventSeqOf(eventId);
      const { rows } = await c.query<{ position: string; type: ChangeEventType; customer_id: string; occurred_at: string; body: string }>(
        "SELECT xid::text || '.' || id::text AS position, type, customer_id, occurred_at, body FROM change_events WHERE tenant_id = $1 AND id = $2",
        [tenantId, id ?? 0],
      );
      if (id === null || rows.length === 0) return 'no-event';
      const [r] = rows;
      const event = { position: r.position, id: eventId, type: r.type, customerId: r.customer_id, bodyJson: r.body };
      await append(c, endpointId, Number(endpoint.next_seq), [{ event, occurredAt: Number(r.occurred_at) }], now);
      return 'queued';
    });
  }

  async purgeAttempts(tenantId: number, before: number, limit: number): Promise<number> {
    const { rowCount } = await this.pool.query(
      'DELETE FROM webhook_attempts WHERE id IN (SELECT id FROM webhook_attempts WHERE tenant_id = $1 AND attempted_at < $2 ORDER BY attempted_at LIMIT $3)',
      [tenantId, before, limit],
    );
    return rowCount ?? 0;
  }

  async lease(owner: string, leaseMs: number): Promise<LeasedEndpoint[]> {
    const now = Date.now();
    const { rows } = await this.pool.query<EndpointRow>(
      `UPDATE webhook_endpoints SET lease_owner = $1, lease_until = $2
       WHERE disabled_at IS NULL AND tenant_id IN (SELECT id FROM tenants) AND (lease_owner = $1 OR lease_until < $3)
       RETURNING *`,
      [owner, now + leaseMs, now],
    );
    return rows.map(toLeased);
  }

  async release(owner: string): Promise<void> {
    await this.pool.query('UPDATE webhook_endpoints SET lease_owner = NULL, lease_until = 0 WHERE lease_owner = $1', [owner]);
  }

  take(owner: string, tenantId: number, endpointId: string, from: string, to: string, events: ReadonlyArray<{ event: StoredChangeEvent; occurredAt: number }>): Promise<number | null> {
    return this.atomically(async (c) => {
      const endpoint = (await c.query<EndpointRow>(HELD, [endpointId, tenantId, owner])).rows[0];
      if (!endpoint || endpoint.position !== from) return null;
      if (events.length > 0) await append(c, endpointId, Number(endpoint.next_seq), events, 0);
      await c.query('UPDATE webhook_endpoints SET position = $2 WHERE id = $1', [endpointId, to]);
      return endpoint.pending + events.length;
    });
  }

  async due(tenantId: number, endpointId: string, now: number, limit: number): Promise<PendingDelivery[]> {
    const { rows } = await this.pool.query<DeliveryRow>(
      `SELECT * FROM webhook_deliveries d WHERE endpoint_id = $1 AND next_attempt_at <= $2
         AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.endpoint_id = d.endpoint_id AND e.customer_id = d.customer_id AND e.seq < d.seq)
       ORDER BY seq LIMIT $3`,
      [endpointId, now, limit],
    );
    return rows.map(toPending);
  }

  record(owner: string, tenantId: number, endpointId: string, results: readonly DeliveryResult[], verdict: EndpointVerdict, now: number): Promise<number | null> {
    return this.atomically(async (c) => {
      if ((await c.query(HELD, [endpointId, tenantId, owner])).rowCount === 0) return null;
      if (results.length > 0) {
        const a = results.map((r) => r.attempt);
        await c.query(
          `INSERT INTO webhook_attempts (tenant_id, endpoint_id, event_id, attempt, attempted_at, outcome, status, duration_ms, response)
           SELECT $1, $2, * FROM unnest($3::text[], $4::int[], $5::bigint[], $6::text[], $7::int[], $8::int[], $9::text[])`,
          [tenantId, endpointId, a.map((x) => x.eventId), a.map((x) => x.attempt), a.map((x) => x.attemptedAt), a.map((x) => x.outcome), a.map((x) => x.status), a.map((x) => x.durationMs), a.map((x) => x.response)],
        );
      }
      const done = results.filter((r) => r.next.kind === 'done').map((r) => r.seq);
      const later = results.flatMap((r) => (r.next.kind === 'retry' ? [r] : []));
      if (done.length > 0) {
        const { rowCount } = await c.query('DELETE FROM webhook_deliveries WHERE endpoint_id = $1 AND seq = ANY($2::bigint[])', [endpointId, done]);
        await c.query('UPDATE webhook_endpoints SET pending = pending - $2 WHERE id = $1', [endpointId, rowCount ?? 0]);
      }
      if (later.length > 0) {
        await c.query(
          `UPDATE webhook_deliveries d SET attempts = v.attempts, next_attempt_at = v.at
           FROM unnest($2::bigint[], $3::int[], $4::bigint[]) AS v (seq, attempts, at) WHERE d.endpoint_id = $1 AND d.seq = v.seq`,
          [endpointId, later.map((r) => r.seq), later.map((r) => r.attempt.attempt), later.map((r) => (r.next.kind === 'retry' ? r.next.retryAt : 0))],
        );
      }
      if (verdict.failingSince !== undefined) await c.query('UPDATE webhook_endpoints SET failing_since = $2 WHERE id = $1', [endpointId, verdict.failingSince]);
      if (verdict.disable !== undefined) {
        await c.query('UPDATE webhook_endpoints SET disabled_at = $2, disabled_reason = $3, lease_owner = NULL, lease_until = 0 WHERE id = $1', [endpointId, now, verdict.disable]);
      }
      const { rows } = await c.query<{ pending: number }>('SELECT pending FROM webhook_endpoints WHERE id = $1', [endpointId]);
      return rows[0].pending;
    });
  }
}
