import { FEED_LIMITS } from '../changes/feed.js';
import { CHANGE_EVENT_TYPES } from '../model/change-event.js';
import { appProfileDocument, profileDocument } from './bulk-schemas.js';
import { refusal, refusals } from './schemas.js';

/**
 * JSON Schemas of the change feed (`GET /openprofiles/v1/changes`), for the OpenAPI document;
 * docs/changes.md describes the event.
 */

/** An app profile after its change: a line of an app's export (its document with its customerId). */
const changedAppProfile = {
  ...appProfileDocument,
  required: ['customerId', ...appProfileDocument.required],
  properties: { customerId: { type: 'string' }, ...appProfileDocument.properties },
};

/** A change event (docs/changes.md), as the feed gives it and a webhook delivers it. */
export const changeEvent = {
  type: 'object',
  required: ['id', 'cursor', 'type', 'occurredAt', 'customerId', 'appId', 'deviceId', 'transid', 'changed', 'profile'],
  additionalProperties: false,
  properties: {
    id: { type: 'string', pattern: '^evt_', description: 'The same on every read and every webhook retry' },
    cursor: { type: 'string', description: 'Read after it (`after`) to continue past this event' },
    type: { type: 'string', enum: CHANGE_EVENT_TYPES },
    occurredAt: appProfileDocument.properties.createdAt,
    customerId: { type: 'string' },
    appId: { type: ['string', 'null'], description: 'app_profile.*: the app; null on profile.*' },
    deviceId: { type: ['string', 'null'], description: 'app_profile.* on per-device channels (rt): the device; else null' },
    transid: { type: 'string', description: 'The write transaction whose record made the change' },
    changed: { type: 'array', items: { type: 'string' }, description: 'The attributes the change added, changed or removed' },
    profile: {
      description: 'The state after the change: the master profile (appProfiles empty) or the app profile; null after a delete',
      oneOf: [profileDocument, changedAppProfile, { type: 'null' }],
    },
  },
};

export const changesQuery = {
  type: 'object',
  properties: {
    after: {
      type: 'string',
      pattern: '^([A-Za-z0-9_-]{1,200}|now)$',
      description: 'A cursor (an event\'s, or a page\'s nextCursor), or `now` for events to come only. Absent: from the oldest event kept. 7908 when it is not one of this tenant\'s; 410 (7930) when events after it were deleted past retention',
      'x-issued-by-server': true,
    },
    limit: { type: 'integer', minimum: 1, maximum: FEED_LIMITS.maxLimit, default: FEED_LIMITS.defaultLimit, description: 'Events per page' },
    wait: {
      type: 'integer',
      minimum: 0,
      maximum: FEED_LIMITS.maxWaitS,
      default: 0,
      description: 'Seconds to wait for an event when there is none yet (long poll)',
      'x-long-poll': true,
    },
    types: { type: 'string', pattern: `^(${CHANGE_EVENT_TYPES.join('|').replaceAll('.', '[.]')})(,(${CHANGE_EVENT_TYPES.join('|').replaceAll('.', '[.]')}))*$`, description: 'Comma list: only events of these types' },
  },
};

export const changesResponses = {
  200: {
    description: 'A page of events in feed order (code 1000): each customer\'s in the order its changes were applied',
    type: 'object',
    required: ['data', 'nextCursor'],
    additionalProperties: false,
    properties: {
      data: { type: 'array', items: changeEvent },
      nextCursor: { type: 'string', description: 'Pass as `after` for the next page; `after` itself on an empty page' },
    },
  },
  ...refusals,
  400: refusal('7003 a malformed limit, wait or types; 7908 a cursor that is not one of this tenant\'s'),
  410: refusal('7930: events after this cursor were deleted past retention; errors[0].cursor is the oldest cursor kept'),
};
