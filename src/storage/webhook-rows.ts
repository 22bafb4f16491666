import type { ChangeEventType } from '../model/change-event.js';
import type { AttemptOutcome, DeliveryAttempt, LeasedEndpoint, PendingDelivery, WebhookEndpoint } from '../model/webhook.js';

/**
 * Rows of the webhook tables as both adapters read them (PostgreSQL gives bigints as strings, and
 * `types` as an array; SQLite gives numbers, and `types` as JSON text).
 */

type Num = number | string;
const num = (v: Num): number => Number(v);
const numOrNull = (v: Num | null): number | null => (v === null ? null : Number(v));

export interface EndpointRow {
  id: string;
  tenant_id: number;
  url: string;
  types: string | string[] | null;
  secret: string;
  created_at: Num;
  disabled_at: Num | null;
  disabled_reason: string | null;
  failing_since: Num | null;
  position: string;
  next_seq: Num;
  pending: number;
}

export interface DeliveryRow {
  seq: Num;
  event_id: string;
  position: string;
  type: ChangeEventType;
  customer_id: string;
  occurred_at: Num;
  body: string;
  attempts: number;
}

export interface AttemptRow {
  id: Num;
  endpoint_id: string;
  event_id: string;
  attempt: number;
  attempted_at: Num;
  outcome: AttemptOutcome;
  status: number | null;
  duration_ms: number;
  response: string;
}

export const toEndpoint = (r: EndpointRow): WebhookEndpoint => ({
  id: r.id,
  tenantId: r.tenant_id,
  url: r.url,
  types: (typeof r.types === 'string' ? JSON.parse(r.types) : r.types) as ChangeEventType[] | null,
  createdAt: num(r.created_at),
  disabledAt: numOrNull(r.disabled_at),
  disabledReason: r.disabled_reason,
  failingSince: numOrNull(r.failing_since),
});

export const toLeased = (r: EndpointRow): LeasedEndpoint => ({ ...toEndpoint(r), secret: r.secret, position: r.position, pending: r.pending });

export const toPending = (r: DeliveryRow): PendingDelivery => ({
  seq: num(r.seq),
  event: { position: r.position, id: r.event_id, type: r.type, customerId: r.customer_id, bodyJson: r.body },
  occurredAt: num(r.occurred_at),
  attempts: r.attempts,
});

export const toAttempt = (r: AttemptRow): DeliveryAttempt => ({
  id: num(r.id),
  endpointId: r.endpoint_id,
  eventId: r.event_id,
  attempt: r.attempt,
  attemptedAt: num(r.attempted_at),
  outcome: r.outcome,
  status: r.status,
  durationMs: r.duration_ms,
  response: r.response,
});

/** The number in an event id this store made (`evt_<n>`), else null. */
export function eventSeqOf(eventId: string): number | null {
  const match = /^evt_([1-9][0-9]{0,15})$/.exec(eventId);
  return match ? Number(match[1]) : null;
}
