/**
 * The nouns of webhooks (docs/changes.md, "Webhooks").
 *
 * - webhook endpoint: a URL of a tenant's that receives its change events, signed with the
 *   endpoint's secret (Standard Webhooks), all of them or of some types. It holds a feed position:
 *   the events after it are still to be taken.
 * - pending delivery: an event taken from the feed for one endpoint and not yet delivered (or given
 *   up); each customer's wait in line, in feed order.
 * - attempt: one HTTP request of a delivery, with its outcome; kept 30 days.
 * - deliverer: what sends an endpoint's pending deliveries. It holds the endpoint's lease, so one
 *   deliverer works on an endpoint at a time, across processes.
 */
import type { ChangeEventType, StoredChangeEvent } from './change-event.js';

export interface WebhookEndpoint {
  /** `ep_…` */
  id: string;
  tenantId: number;
  url: string;
  /** Only events of these types; null: every type. */
  types: ChangeEventType[] | null;
  /** ms since the epoch. */
  createdAt: number;
  /** When it was disabled (ms), and why; null while enabled. */
  disabledAt: number | null;
  disabledReason: string | null;
  /** Since when every attempt has failed (ms); null after a success. */
  failingSince: number | null;
}

/** An endpoint as it is created: its feed position is where the feed's head is then. */
export interface NewWebhookEndpoint {
  id: string;
  url: string;
  types: ChangeEventType[] | null;
  /** `whsec_` + base64: signs every delivery. */
  secret: string;
  createdAt: number;
  position: string;
}

/** An endpoint as its deliverer holds it (under its lease): with its secret. */
export interface LeasedEndpoint extends WebhookEndpoint {
  secret: string;
  /** Where the endpoint's next take from the feed starts. */
  position: string;
  /** Pending deliveries it holds. */
  pending: number;
}

/** An event waiting for delivery to one endpoint. */
export interface PendingDelivery {
  /** Its place in the endpoint's line (feed order; a resend joins at the end). */
  seq: number;
  event: StoredChangeEvent;
  /** ms since the epoch: when the change was applied. */
  occurredAt: number;
  /** Attempts made so far. */
  attempts: number;
}

/** How one attempt ended. */
export type AttemptOutcome = 'delivered' | 'failed' | 'timeout' | 'refused' | 'unreachable';

export interface DeliveryAttempt {
  id: number;
  endpointId: string;
  eventId: string;
  /** 1 for the first attempt of a delivery. */
  attempt: number;
  /** ms since the epoch. */
  attemptedAt: number;
  outcome: AttemptOutcome;
  /** The receiver's HTTP status; null when none came. */
  status: number | null;
  durationMs: number;
  /** The start of the receiver's answer (at most 1 KiB), or why none came. */
  response: string;
}

/** What a deliverer stores of one attempt: the attempt, and what becomes of its delivery. */
export interface DeliveryResult {
  seq: number;
  attempt: Omit<DeliveryAttempt, 'id' | 'endpointId'>;
  /** done: delivered or given up (it leaves the line); retry: next attempt at `retryAt` (ms). */
  next: { kind: 'done' } | { kind: 'retry'; retryAt: number };
}

/** What the deliverer decides about the endpoint after a round of attempts. */
export interface EndpointVerdict {
  /** Set at the first failure after a success, cleared by a success; unchanged when undefined. */
  failingSince?: number | null;
  /** Disables the endpoint, with this reason. */
  disable?: string;
}
