import type Database from 'better-sqlite3';
import type { ChangeEventType, StoredChangeEvent } from '../../model/change-event.js';
import type { DeliveryAttempt, DeliveryResult, EndpointVerdict, LeasedEndpoint, NewWebhookEndpoint, PendingDelivery, WebhookEndpoint } from '../../model/webhook.js';
import type { ResendResult, WebhookDeliveries, Webhooks } from '../ports.js';
import type { SyncPart } from '../roles.js';
import { type AttemptRow, type DeliveryRow, type EndpointRow, eventSeqOf, toAttempt, toEndpoint, toLeased, toPending } from '../webhook-rows.js';

/**
 * Webhook endpoints, their pending deliveries and attempts on SQLite. Several processes may
 * share a data directory: the lease is a column of the endpoint's row, taken in a write
 * database transaction, and every change a deliverer makes checks it holds it.
 */
export class SqliteWebhooks implements SyncPart<Webhooks>, SyncPart<WebhookDeliveries> {
  private readonly s;
  private readonly atomically: <T>(fn: () => T) => T;

  /** A deliverer's database transaction: committed without waiting for the disk (see the constructor). */
  private readonly quickly: <T>(fn: () => T) => T;

  constructor(db: Database.Database) {
    this.atomically = <T>(fn: () => T): T => db.transaction(fn).immediate();
    // The deliverer's commits (take, record) do not wait for the disk (synchronous=NORMAL, durable
    // across a crash of the process, not of the machine): a power cut can undo the last of them,
    // and a take undone comes back with the position it moved (nothing is lost), an attempt undone
    // is sent again (at least once). The connection's other commits keep synchronous=FULL.
    this.quickly = <T>(fn: () => T): T => {
      db.pragma('synchronous = NORMAL');
      try {
        return db.transaction(fn).immediate();
      } finally {
        db.pragma('synchronous = FULL');
      }
    };
    this.s = {
      insert: db.prepare('INSERT INTO webhook_endpoints (id, tenant_id, url, types, secret, created_at, position) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      one: db.prepare<[number, string], EndpointRow>('SELECT * FROM webhook_endpoints WHERE tenant_id = ? AND id = ?'),
      ofTenant: db.prepare<[number], EndpointRow>('SELECT * FROM webhook_endpoints WHERE tenant_id = ? ORDER BY created_at, id'),
      remove: db.prepare<[number, string]>('DELETE FROM webhook_endpoints WHERE tenant_id = ? AND id = ?'),
      removeDeliveries: db.prepare<[string]>('DELETE FROM webhook_deliveries WHERE endpoint_id = ?'),
      removeAttempts: db.prepare<[number, string]>('DELETE FROM webhook_attempts WHERE tenant_id = ? AND endpoint_id = ?'),
      enable: db.prepare<[number, string]>('UPDATE webhook_endpoints SET disabled_at = NULL, disabled_reason = NULL, failing_since = NULL WHERE tenant_id = ? AND id = ?'),
      restart: db.prepare<[number, string]>('UPDATE webhook_deliveries SET attempts = 0, next_attempt_at = ? WHERE endpoint_id = ?'),
      attempts: db.prepare<[number, string, number, number], AttemptRow>(
        'SELECT * FROM webhook_attempts WHERE tenant_id = ? AND endpoint_id = ? AND id < ? ORDER BY id DESC LIMIT ?',
      ),
      event: db.prepare<[number, number], { seq: number; type: ChangeEventType; customer_id: string; occurred_at: number; body: string }>(
        'SELECT seq, type, customer_id, occurred_at, body FROM change_events WHERE tenant_id = ? AND seq = ?',
      ),
      append: db.prepare(
        'INSERT INTO webhook_deliveries (endpoint_id, seq, event_id, position, type, customer_id, occurred_at, body, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      grow: db.prepare<[number, number, string]>('UPDATE webhook_endpoints SET next_seq = next_seq + ?, pending = pending + ? WHERE id = ?'),
      purge: db.prepare<[number, number, number]>(
        'DELETE FROM webhook_attempts WHERE id IN (SELECT id FROM webhook_attempts WHERE tenant_id = ? AND attempted_at < ? ORDER BY attempted_at LIMIT ?)',
      ),
      lease: db.prepare<[string, number, string, number], EndpointRow>(
        `UPDATE webhook_endpoints SET lease_owner = ?, lease_until = ?
         WHERE disabled_at IS NULL AND tenant_id IN (SELECT id FROM tenants) AND (lease_owner = ? OR lease_until < ?)
         RETURNING *`,
      ),
      release: db.prepare<[string]>('UPDATE webhook_endpoints SET lease_owner = NULL, lease_until = 0 WHERE lease_owner = ?'),
      held: db.prepare<[string, number, string], EndpointRow>('SELECT * FROM webhook_endpoints WHERE id = ? AND tenant_id = ? AND lease_owner = ?'),
      move: db.prepare<[string, string]>('UPDATE webhook_endpoints SET position = ? WHERE id = ?'),
      due: db.prepare<[string, number, number], DeliveryRow>(
        `SELECT * FROM webhook_deliveries d WHERE endpoint_id = ? AND next_attempt_at <= ?
           AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.endpoint_id = d.endpoint_id AND e.customer_id = d.customer_id AND e.seq < d.seq)
         ORDER BY seq LIMIT ?`,
      ),
      log: db.prepare(
        'INSERT INTO webhook_attempts (tenant_id, endpoint_id, event_id, attempt, attempted_at, outcome, status, duration_ms, response) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      finish: db.prepare<[string, number]>('DELETE FROM webhook_deliveries WHERE endpoint_id = ? AND seq = ?'),
      later: db.prepare<[number, number, string, number]>('UPDATE webhook_deliveries SET attempts = ?, next_attempt_at = ? WHERE endpoint_id = ? AND seq = ?'),
      shrink: db.prepare<[number, string]>('UPDATE webhook_endpoints SET pending = pending - ? WHERE id = ?'),
      failing: db.prepare<[number | null, string]>('UPDATE webhook_endpoints SET failing_since = ? WHERE id = ?'),
      disable: db.prepare<[number, string, string]>('UPDATE webhook_endpoints SET disabled_at = ?, disabled_reason = ?, lease_owner = NULL, lease_until = 0 WHERE id = ?'),
      pending: db.prepare<[string], number>('SELECT pending FROM webhook_endpoints WHERE id = ?').pluck(),
    };
  }

  createEndpoint(tenantId: number, e: NewWebhookEndpoint): WebhookEndpoint {
    this.s.insert.run(e.id, tenantId, e.url, e.types && JSON.stringify(e.types), e.secret, e.createdAt, e.position);
    return toEndpoint(this.s.one.get(tenantId, e.id)!);
  }

  listEndpoints(tenantId: number): WebhookEndpoint[] {
    return this.s.ofTenant.all(tenantId).map(toEndpoint);
  }

  removeEndpoint(tenantId: number, endpointId: string): boolean {
    return this.atomically(() => {
      if (this.s.remove.run(tenantId, endpointId).changes === 0) return false;
      this.s.removeDeliveries.run(endpointId);
      this.s.removeAttempts.run(tenantId, endpointId);
      return true;
    });
  }

  enableEndpoint(tenantId: number, endpointId: string, now: number): WebhookEndpoint | null {
    return this.atomically(() => {
      if (this.s.enable.run(tenantId, endpointId).changes === 0) return null;
      this.s.restart.run(now, endpointId);
      return toEndpoint(this.s.one.get(tenantId, endpointId)!);
    });
  }

  listAttempts(tenantId: number, endpointId: string, before: number | null, limit: number): DeliveryAttempt[] {
    return this.s.attempts.all(tenantId, endpointId, before ?? Number.MAX_SAFE_INTEGER, limit).map(toAttempt);
  }

  resend(tenantId: number, endpointId: string, eventId: string, now: number): ResendResult {
    return this.atomically(() => {
      const endpoint = this.s.one.get(tenantId, endpointId);
      if (!endpoint) return 'no-endpoint';
      if (endpoint.disabled_at !== null) return 'disabled';
      const seq = eventSeqOf(eventId);
      const row = seq === null ? undefined : this.s.event.get(tenantId, seq);
      if (!row) return 'no-event';
      this.s.append.run(endpointId, endpoint.next_seq, eventId, String(row.seq), row.type, row.customer_id, row.occurred_at, row.body, now);
      this.s.grow.run(1, 1, endpointId);
      return 'queued';
    });
  }

  purgeAttempts(tenantId: number, before: number, limit: number): number {
    return this.s.purge.run(tenantId, before, limit).changes;
  }

  lease(owner: string, leaseMs: number): LeasedEndpoint[] {
    const now = Date.now();
    return this.s.lease.all(owner, now + leaseMs, owner, now).map(toLeased);
  }

  release(owner: string): void {
    this.s.release.run(owner);
  }

  take(owner: string, tenantId: number, endpointId: string, from: string, to: string, events: ReadonlyArray<{ event: StoredChangeEvent; occurredAt: number }>): number | null {
    return this.quickly(() => {
      const endpoint = this.s.held.get(endpointId, tenantId, owner);
      if (!endpoint || endpoint.position !== from) return null;
      let seq = Number(endpoint.next_seq);
      for (const { event: e, occurredAt } of events) this.s.append.run(endpointId, seq++, e.id, e.position, e.type, e.customerId, occurredAt, e.bodyJson, 0);
      this.s.grow.run(events.length, events.length, endpointId);
      this.s.move.run(to, endpointId);
      return endpoint.pending + events.length;
    });
  }

  due(_tenantId: number, endpointId: string, now: number, limit: number): PendingDelivery[] {
    return this.s.due.all(endpointId, now, limit).map(toPending);
  }

  record(owner: string, tenantId: number, endpointId: string, results: readonly DeliveryResult[], verdict: EndpointVerdict, now: number): number | null {
    return this.quickly(() => {
      if (!this.s.held.get(endpointId, tenantId, owner)) return null;
      let finished = 0;
      for (const { seq, attempt: a, next } of results) {
        this.s.log.run(tenantId, endpointId, a.eventId, a.attempt, a.attemptedAt, a.outcome, a.status, a.durationMs, a.response);
        if (next.kind === 'done') finished += this.s.finish.run(endpointId, seq).changes;
        else this.s.later.run(a.attempt, next.retryAt, endpointId, seq);
      }
      if (finished > 0) this.s.shrink.run(finished, endpointId);
      if (verdict.failingSince !== undefined) this.s.failing.run(verdict.failingSince, endpointId);
      if (verdict.disable !== undefined) this.s.disable.run(now, verdict.disable, endpointId);
      return this.s.pending.get(endpointId)!;
    });
  }
}
