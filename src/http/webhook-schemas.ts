import { CHANGE_EVENT_TYPES } from '../model/change-event.js';
import { ATTEMPT_PAGE } from '../changes/webhook-endpoints.js';
import { pathParams, refusal, refusals } from './schemas.js';

/**
 * JSON Schemas of the webhook operations (`/openprofiles/v1/webhooks`), for the OpenAPI document.
 * docs/changes.md ("Webhooks") describes them; src/changes/webhook-endpoints.ts checks requests.
 */

const iso = { type: 'string', format: 'date-time', description: 'ISO 8601 UTC with milliseconds' };
const types = {
  description: 'Only events of these types; null: every type',
  anyOf: [{ type: 'array', minItems: 1, items: { type: 'string', enum: CHANGE_EVENT_TYPES } }, { type: 'null' }],
};

const endpoint = {
  type: 'object',
  required: ['id', 'url', 'types', 'isEnabled', 'disabledAt', 'disabledReason', 'failingSince', 'createdAt'],
  additionalProperties: false,
  properties: {
    id: { type: 'string', description: 'ep_…' },
    url: { type: 'string' },
    types,
    isEnabled: { type: 'boolean' },
    disabledAt: { type: ['string', 'null'], format: 'date-time', description: 'When it was disabled (410 Gone, or failing for PROFILES_WEBHOOK_DISABLE_AFTER_HOURS); null while enabled' },
    disabledReason: { type: ['string', 'null'] },
    failingSince: { type: ['string', 'null'], format: 'date-time', description: 'Since when every attempt has failed; null after a success' },
    createdAt: iso,
  },
};

const attempt = {
  type: 'object',
  required: ['id', 'eventId', 'attempt', 'attemptedAt', 'outcome', 'status', 'durationMs', 'response'],
  additionalProperties: false,
  properties: {
    id: { type: 'integer' },
    eventId: { type: 'string', description: 'The event, and the webhook-id header of every attempt of it' },
    attempt: { type: 'integer', minimum: 1, description: '1 for the first attempt of a delivery' },
    attemptedAt: iso,
    outcome: { type: 'string', enum: ['delivered', 'failed', 'timeout', 'refused', 'unreachable'] },
    status: { type: ['integer', 'null'], description: "The receiver's HTTP status; null when none came" },
    durationMs: { type: 'integer' },
    response: { type: 'string', description: 'The start of the answer (at most 1 KiB), or why none came' },
  },
};

const endpointId = pathParams({ id: { type: 'string', minLength: 1, description: 'A webhook endpoint of the tenant (else 7940)' } });

const webhookRefusals = {
  ...refusals,
  400: refusal('7003 a missing or malformed field or parameter (url, types, eventId, limit), 7000 a body that is not JSON, 7908 a cursor this server did not make, 7941 a URL that cannot receive webhooks (not https, or resolving to a loopback, private, link-local or metadata address), 7905 a request the server cannot read'),
  413: refusal('7012 a body over the size limit'),
};

export const webhookSchemas = {
  create: {
    summary: 'createWebhook',
    operationId: 'createWebhook',
    description: 'Adds an endpoint that receives the tenant\'s change events from now on, signed per Standard Webhooks with the secret answered here, and never again. docs/changes.md',
    body: {
      type: 'object',
      required: ['url'],
      properties: { url: { type: 'string', minLength: 1, maxLength: 2048, description: 'https URL (http only with PROFILES_WEBHOOK_ALLOW_PRIVATE=true)' }, types },
    },
    response: {
      201: {
        description: 'The endpoint, with its secret (shown only now)',
        ...endpoint,
        required: [...endpoint.required, 'secret'],
        properties: { ...endpoint.properties, secret: { type: 'string', pattern: '^whsec_[A-Za-z0-9+/]+=*$', description: 'Signs every delivery; shown only in this answer' } },
      },
      ...webhookRefusals,
    },
  },
  list: {
    summary: 'listWebhooks',
    operationId: 'listWebhooks',
    description: "The tenant's webhook endpoints, oldest first (never their secrets)",
    response: { 200: { description: 'The endpoints', type: 'object', required: ['data'], additionalProperties: false, properties: { data: { type: 'array', items: endpoint } } }, ...webhookRefusals },
  },
  remove: {
    summary: 'deleteWebhook',
    operationId: 'deleteWebhook',
    description: 'Removes the endpoint, its pending deliveries and its attempts (7940 when the tenant has none with that id)',
    params: endpointId,
    response: { 204: { description: 'Removed', type: 'null' }, ...webhookRefusals },
  },
  enable: {
    summary: 'enableWebhook',
    operationId: 'enableWebhook',
    description: 'Enables a disabled endpoint: its pending deliveries go at once, with their retries counted afresh, then the events after them',
    params: endpointId,
    response: { 200: { description: 'The endpoint, enabled', ...endpoint }, ...webhookRefusals },
  },
  attempts: {
    summary: 'listWebhookAttempts',
    operationId: 'listWebhookAttempts',
    description: "The endpoint's delivery attempts, newest first, kept 30 days",
    params: endpointId,
    querystring: {
      type: 'object',
      properties: {
        limit: { type: 'integer', minimum: 1, maximum: ATTEMPT_PAGE.maxLimit, default: ATTEMPT_PAGE.defaultLimit, description: 'Attempts per page' },
        cursor: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$', description: "The previous page's nextCursor (7908 when it is not one this server made)", 'x-issued-by-server': true },
      },
    },
    response: {
      200: {
        description: 'A page of attempts',
        type: 'object',
        required: ['data', 'nextCursor'],
        additionalProperties: false,
        properties: { data: { type: 'array', items: attempt }, nextCursor: { type: ['string', 'null'], description: 'Pass as cursor for older attempts; null on the last page' } },
      },
      ...webhookRefusals,
    },
  },
  resend: {
    summary: 'resendWebhookEvent',
    operationId: 'resendWebhookEvent',
    description: "Delivers an event still in the feed to the endpoint again, with the same webhook-id, after that customer's pending deliveries (7942 when the feed does not hold it, 7943 when the endpoint is disabled)",
    params: endpointId,
    body: { type: 'object', required: ['eventId'], properties: { eventId: { type: 'string', minLength: 1, description: 'evt_…' } } },
    response: {
      202: {
        description: 'Queued for delivery',
        type: 'object',
        required: ['endpointId', 'eventId', 'isQueued'],
        additionalProperties: false,
        properties: { endpointId: { type: 'string' }, eventId: { type: 'string' }, isQueued: { type: 'boolean', const: true } },
      },
      ...webhookRefusals,
      409: refusal('7943 the endpoint is disabled: enable it first'),
    },
  },
};
