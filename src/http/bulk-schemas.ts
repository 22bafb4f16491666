import { LIMITS } from '../domain/attributes.js';
import { EXPORT_FORMATS } from '../bulk/export.js';
import { DATE_TIME, INCLUDES, LISTING_LIMITS } from '../bulk/listing.js';
import { idSchema, refusal, refusals } from './schemas.js';

/**
 * JSON Schemas of the bulk operations (`/openprofiles/v1/profiles`, `/openprofiles/v1/export`),
 * for the OpenAPI document; the rules are the listing's and the export's own constants
 * (src/bulk). docs/bulk-data.md describes the shapes.
 */

const iso = { type: 'string', format: 'date-time', description: 'ISO 8601 UTC with milliseconds' };
const attributes = { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] } };

export const appProfileDocument = {
  type: 'object',
  required: ['appId', 'channel', 'deviceId', 'attributes', 'createdAt', 'updatedAt'],
  additionalProperties: false,
  properties: {
    appId: { type: 'string' },
    channel: { type: 'string' },
    deviceId: { type: ['string', 'null'], description: 'The device on per-device channels (rt); null on the others' },
    attributes,
    createdAt: iso,
    updatedAt: iso,
  },
};

/** A listed profile document: always a master profile (export alone has customers without one). */
export const profileDocument = {
  type: 'object',
  required: ['customerId', 'attributes', 'appProfiles', 'createdAt', 'updatedAt'],
  additionalProperties: false,
  properties: {
    customerId: { type: 'string' },
    attributes,
    appProfiles: { type: 'array', items: appProfileDocument, description: 'With include=appProfiles: by appId, then deviceId; else empty' },
    createdAt: iso,
    updatedAt: iso,
  },
};

const profilePage = {
  description: 'A page of master profiles in customerId order (code 1000)',
  type: 'object',
  required: ['data', 'nextCursor'],
  additionalProperties: false,
  properties: {
    data: { type: 'array', items: profileDocument },
    nextCursor: { type: ['string', 'null'], description: 'Pass as `cursor` for the next page, with the same filters; null on the last page' },
  },
};

/** Repeatable values of an attribute filter: profiles holding any of them match. */
const values = (description: string, item: object = { type: 'string', minLength: 1, maxLength: LIMITS.valueLength }) => ({
  type: 'array',
  items: item,
  maxItems: LISTING_LIMITS.maxValuesPerAttribute,
  description: `${description} Repeat for several (any of them matches), up to ${LISTING_LIMITS.maxValuesPerAttribute}.`,
});

export const listingQuery = {
  type: 'object',
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: LISTING_LIMITS.maxLimit, default: LISTING_LIMITS.defaultLimit, description: 'Profiles per page' },
    cursor: {
      type: 'string',
      pattern: '^[A-Za-z0-9_-]{1,1024}$',
      description: "The previous page's nextCursor. 7908 when it is not one this server made for this tenant and these filters",
      'x-issued-by-server': true,
    },
    updatedSince: {
      type: 'string',
      format: 'date-time',
      pattern: DATE_TIME.source,
      description: 'Only profiles changed at or after this time (ISO 8601 with seconds and a zone). Filters the primary-key scan: a page may read many rows to fill',
    },
    include: { type: 'string', enum: INCLUDES, description: 'appProfiles: each profile with its app profiles in every app of the tenant' },
    email: values('Find by email (indexed for every tenant).'),
    msisdn: values('Find by msisdn (indexed for every tenant).'),
    customerId: values('Find by customerId (the primary key).', idSchema('A customerId')),
  },
};

export const LISTING_DESCRIPTION =
  'Keyset pages of master profiles in customerId order. Find by value: email, msisdn, customerId, and any other master attribute the tenant marked indexed (`openprofiles attribute add … --indexed`) under its own name, match values stored as strings (7909 for an attribute not indexed); several filters must all hold. Parameters named for no master attribute are ignored. docs/bulk-data.md';

export const exportQuery = {
  type: 'object',
  properties: {
    format: { type: 'string', enum: EXPORT_FORMATS, default: 'ndjson', description: 'ndjson: one profile document per line; csv: master profiles, one column per attribute (docs/bulk-data.md)' },
    app: { type: 'string', minLength: 1, description: "Export this app's app profiles instead (7018 when the tenant has no such app)" },
  },
};

const bulkRefusals = {
  ...refusals,
  400: refusal('7003 a malformed parameter (limit, updatedSince, include, format, an empty filter value), 7011 a customerId over 128 characters or with control characters, 7908 a cursor this server did not make for this tenant and these filters, 7909 a filter on a master attribute that is not indexed'),
};

export const listingResponses = { 200: profilePage, ...bulkRefusals };

export const exportResponses = {
  200: {
    description: 'The export, streamed from one consistent snapshot (code 1000); docs/bulk-data.md gives the formats',
    content: {
      'application/x-ndjson': { schema: { type: 'string', description: 'One profile document per line (with app: one app profile per line)' } },
      'text/csv': { schema: { type: 'string', description: 'A header, then one master profile (with app: one app profile) per line' } },
    },
  },
  ...bulkRefusals,
};
