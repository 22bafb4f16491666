import { randomBytes } from 'node:crypto';
import { CHANGE_EVENT_TYPES, type ChangeEventType } from '../model/change-event.js';
import type { DeliveryAttempt, WebhookEndpoint } from '../model/webhook.js';
import { ApiError } from '../domain/errors.js';
import type { ChangeFeed, Webhooks } from '../storage/ports.js';
import { parseTargetUrl, resolveTarget, UnsafeTargetError } from './webhook-targets.js';

/**
 * Managing a tenant's webhook endpoints, for the CLI (`openprofiles webhook …`) and the HTTP API
 * (`/openprofiles/v1/webhooks`), in the wire's camelCase shapes. Refusals are ApiErrors: 7003 a
 * malformed request, 7908 a malformed cursor, 7940 no such endpoint, 7941 a URL refused, 7942 no
 * such event in the feed, 7943 a resend to a disabled endpoint.
 */

export const ATTEMPT_PAGE = Object.freeze({ defaultLimit: 100, maxLimit: 1000 });

/** An endpoint on the wire (never its secret, but once, at creation). */
export interface EndpointJson {
  id: string;
  url: string;
  types: ChangeEventType[] | null;
  isEnabled: boolean;
  disabledAt: string | null;
  disabledReason: string | null;
  failingSince: string | null;
  createdAt: string;
}

export interface AttemptJson {
  id: number;
  eventId: string;
  attempt: number;
  attemptedAt: string;
  outcome: DeliveryAttempt['outcome'];
  status: number | null;
  durationMs: number;
  response: string;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export const endpointJson = (e: WebhookEndpoint): EndpointJson => ({
  id: e.id,
  url: e.url,
  types: e.types,
  isEnabled: e.disabledAt === null,
  disabledAt: iso(e.disabledAt),
  disabledReason: e.disabledReason,
  failingSince: iso(e.failingSince),
  createdAt: iso(e.createdAt)!,
});

const attemptJson = (a: DeliveryAttempt): AttemptJson => ({
  id: a.id,
  eventId: a.eventId,
  attempt: a.attempt,
  attemptedAt: iso(a.attemptedAt)!,
  outcome: a.outcome,
  status: a.status,
  durationMs: a.durationMs,
  response: a.response,
});

/** The types an endpoint takes: null (or absent) for all, else a non-empty list of known types. */
export function parseTypes(value: unknown): ChangeEventType[] | null {
  if (value === undefined || value === null) return null;
  const names = Array.isArray(value) ? value : [];
  const unknown = names.filter((t) => !(CHANGE_EVENT_TYPES as readonly unknown[]).includes(t));
  if (names.length === 0 || unknown.length > 0) {
    throw new ApiError('7003', `types takes null (every type) or a list of ${CHANGE_EVENT_TYPES.join(', ')}${unknown.length ? `; unknown: ${unknown.map(String).join(', ')}` : ''}`);
  }
  return [...new Set(names)] as ChangeEventType[];
}

const CURSOR_PREFIX = 'a1:';
const cursorOf = (id: number) => Buffer.from(`${CURSOR_PREFIX}${id}`).toString('base64url');
function attemptIdOf(cursor: string): number {
  const match = /^a1:([1-9][0-9]{0,15})$/.exec(/^[A-Za-z0-9_-]{1,64}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '');
  if (!match) throw new ApiError('7908', 'cursor is not a cursor of this list');
  return Number(match[1]);
}

export class WebhookEndpoints {
  constructor(
    private readonly store: { webhooks: Webhooks; changes: Pick<ChangeFeed, 'head'> },
    /** PROFILES_WEBHOOK_ALLOW_PRIVATE */
    private readonly allowPrivate: boolean,
  ) {}

  /**
   * Adds an endpoint that receives the events to come (after the feed's head now). Its URL is
   * checked now (and again before every attempt). Returns it with its secret, shown only now.
   */
  async add(tenantId: number, request: { url: unknown; types?: unknown }): Promise<EndpointJson & { secret: string }> {
    if (typeof request.url !== 'string' || request.url === '') throw new ApiError('7003', 'url is required: the https URL that receives the events');
    const types = parseTypes(request.types);
    try {
      await resolveTarget(parseTargetUrl(request.url, this.allowPrivate), this.allowPrivate);
    } catch (err) {
      if (err instanceof UnsafeTargetError) throw new ApiError('7941', `The URL cannot receive webhooks: ${err.message}`);
      throw err;
    }
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    const endpoint = await this.store.webhooks.createEndpoint(tenantId, {
      id: `ep_${randomBytes(9).toString('base64url')}`,
      url: request.url,
      types,
      secret,
      createdAt: Date.now(),
      position: await this.store.changes.head(tenantId),
    });
    return { ...endpointJson(endpoint), secret };
  }

  async list(tenantId: number): Promise<EndpointJson[]> {
    return (await this.store.webhooks.listEndpoints(tenantId)).map(endpointJson);
  }

  async remove(tenantId: number, endpointId: string): Promise<void> {
    if (!(await this.store.webhooks.removeEndpoint(tenantId, endpointIdOf(endpointId)))) throw noEndpoint(endpointId);
  }

  async enable(tenantId: number, endpointId: string): Promise<EndpointJson> {
    const endpoint = await this.store.webhooks.enableEndpoint(tenantId, endpointIdOf(endpointId), Date.now());
    if (!endpoint) throw noEndpoint(endpointId);
    return endpointJson(endpoint);
  }

  /** The endpoint's attempts, newest first, a page at a time. */
  async attempts(tenantId: number, endpointId: string, page: { cursor?: string; limit?: number }): Promise<{ data: AttemptJson[]; nextCursor: string | null }> {
    const limit = page.limit ?? ATTEMPT_PAGE.defaultLimit;
    const before = page.cursor === undefined ? null : attemptIdOf(page.cursor);
    const id = endpointIdOf(endpointId);
    if (!(await this.store.webhooks.listEndpoints(tenantId)).some((e) => e.id === id)) throw noEndpoint(id);
    const attempts = await this.store.webhooks.listAttempts(tenantId, id, before, limit);
    return { data: attempts.map(attemptJson), nextCursor: attempts.length === limit ? cursorOf(attempts.at(-1)!.id) : null };
  }

  /** Delivers an event still in the feed again, with its own id as `webhook-id`, after its customer's pending ones. */
  async resend(tenantId: number, endpointId: string, eventId: unknown): Promise<{ endpointId: string; eventId: string; isQueued: true }> {
    if (typeof eventId !== 'string' || eventId === '') throw new ApiError('7003', 'eventId is required: the id of an event in the feed (evt_…)');
    switch (await this.store.webhooks.resend(tenantId, endpointIdOf(endpointId), eventId, Date.now())) {
      case 'no-endpoint':
        throw noEndpoint(endpointId);
      case 'disabled':
        throw new ApiError('7943', `Webhook endpoint ${endpointId} is disabled; enable it first (its pending deliveries then go too)`);
      case 'no-event':
        throw new ApiError('7942', `The feed holds no event ${eventId} of this tenant (unknown, or purged past retention)`);
      case 'queued':
        return { endpointId, eventId, isQueued: true };
    }
  }
}

const noEndpoint = (endpointId: string) => new ApiError('7940', `The tenant has no webhook endpoint ${endpointId}`);

/**
 * Whether `id` can name an endpoint (`ep_` and base64url, as `create` makes them): any other is
 * answered 7940 without asking the store, whose text columns may refuse it (NUL on PostgreSQL).
 */
const ENDPOINT_ID = /^ep_[A-Za-z0-9_-]{1,64}$/;

/** `endpointId`, when it can name an endpoint; else 7940. */
function endpointIdOf(endpointId: string): string {
  if (!ENDPOINT_ID.test(endpointId)) throw noEndpoint(endpointId);
  return endpointId;
}
