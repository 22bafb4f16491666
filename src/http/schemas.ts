import type { SwaggerOptions } from '@fastify/swagger';
import { ATTRIBUTE_NAME, LIMITS } from '../domain/attributes.js';
import { API_CODES } from '../domain/errors.js';
import { MAX_BATCH_LIMIT } from '../domain/tenant-settings.js';
import { ID_RULE } from '../domain/write-requests.js';
import { IDEMPOTENCY_KEY } from './write-handler.js';

/**
 * JSON Schemas of the routes, for the OpenAPI document. They document the wire format; the
 * domain validates requests itself so that every refusal carries the vendor's code (contract §5),
 * with the same rules: the id, attribute-name, batch and Idempotency-Key rules below are the
 * validators' own constants. Every answer a test receives is checked against these schemas
 * (test/support/documented-answers.ts).
 */

const code = { type: 'string', enum: Object.keys(API_CODES) };
const transid = { type: 'string', format: 'uuid' };

/** A customerId, userId or deviceId, as `customerIdProblem` (src/domain/write-requests.ts) takes it. */
const idRule = { type: 'string', maxLength: ID_RULE.maxLength, pattern: `^[^${ID_RULE.controlCharacters}]*$` };
export const idSchema = (description: string) => ({ ...idRule, minLength: 1, description });
/**
 * An id as a path segment: not `.` or `..`, which URLs treat as dot segments (RFC 3986 §5.2.4;
 * clients and the router remove them, `%2E` too), so the id never arrives. The query and body
 * forms take them.
 */
export const pathIdSchema = (description: string) => ({ ...idSchema(`${description} (not "." or "..": a URL drops them)`), not: { enum: ['.', '..'] } });

/** Repeatable ids in the query (`parseIds`): empty values are ignored, at least one is not. */
const idList = (description: string) => ({
  type: 'array',
  items: idRule,
  contains: { minLength: 1 },
  maxContains: MAX_BATCH_LIMIT,
  description: `${description}. Repeat for several, up to the tenant's batch limit (7012 past it); empty values are ignored.`,
});

/** The values of `showinwardlinks` (routes/profiles.ts refuses any other with 7003). */
export const LINK_LEVELS = ['0', '1', '2'] as const;

const attributeEntry = {
  type: 'object',
  required: ['Name', 'Value', 'ID'],
  additionalProperties: false,
  properties: { Name: { type: 'string' }, Value: { type: ['string', 'number', 'boolean'] }, ID: { type: 'integer' } },
};
const entries = { type: 'array', items: attributeEntry };

const profileRecord = {
  type: 'object',
  required: ['Attributes', 'InwardLinks', 'OutwardLinks'],
  additionalProperties: false,
  properties: {
    Attributes: entries,
    InwardLinks: {
      type: 'array',
      items: {
        type: 'object',
        required: ['AppID', 'Channel', 'Records'],
        additionalProperties: false,
        properties: { AppID: { type: 'string' }, Channel: { type: 'string' }, Records: { type: 'array', items: entries } },
      },
    },
    OutwardLinks: {
      type: 'array',
      items: {
        type: 'object',
        required: ['ProfileID', 'ProfileName', 'Records'],
        additionalProperties: false,
        properties: { ProfileID: { type: 'integer' }, ProfileName: { type: 'string' }, Records: { type: 'array', items: entries } },
      },
    },
  },
};

const readAnswer = {
  description: 'Profiles found (code 1000)',
  type: 'object',
  required: ['Status', 'Description', 'Records', 'code', 'transid'],
  additionalProperties: false,
  properties: {
    Status: { type: 'integer' },
    Description: { type: 'string' },
    Records: { type: 'array', items: profileRecord },
    code,
    transid,
    NotFound: { type: 'array', items: { type: 'string' }, description: 'Extension: ids asked for and not found' },
  },
};

const problem = {
  type: 'object',
  required: ['reason'],
  additionalProperties: false,
  properties: { index: { type: 'integer' }, customerId: { type: 'string' }, attribute: { type: 'string' }, reason: { type: 'string' } },
};

/** The legacy format's envelope (contract §5). */
const legacyEnvelope = (description: string, withErrors: boolean) => ({
  description,
  type: 'object',
  required: ['response'],
  additionalProperties: false,
  properties: {
    response: {
      type: 'object',
      required: ['code', 'description', 'transid', ...(withErrors ? ['errors'] : [])],
      additionalProperties: false,
      properties: {
        code,
        description: { type: 'string' },
        transid,
        ...(withErrors && { errors: { type: 'array', items: problem } }),
      },
    },
  },
});

const result = {
  type: 'object',
  required: ['customerId', 'code', 'description'],
  additionalProperties: false,
  properties: {
    customerId: { type: 'string' },
    userId: { type: 'string' },
    deviceId: { type: 'string' },
    code,
    description: { type: 'string' },
    reason: { type: 'string' },
    errors: { type: 'array', items: problem, description: 'Extension, on a refusal: what is wrong with this record' },
  },
};

const batchAnswer = {
  description: 'Batch format, and the status API: counts and one result per record',
  type: 'object',
  required: ['code', 'description', 'transid'],
  additionalProperties: false,
  properties: {
    TotalCount: { type: 'integer' },
    SuccessCount: { type: 'integer' },
    FailureCount: { type: 'integer' },
    code,
    description: { type: 'string' },
    state: { type: 'string', enum: ['queued', 'processing', 'unknown'], description: 'Extension, with code 7600' },
    Results: { type: 'array', items: result },
    errors: { type: 'array', items: problem, description: 'Extension, on a refusal: every problem of the request' },
    transid,
  },
};

/** A record of a write body, as `parseWriteBody` (src/domain/write-requests.ts) takes it. */
const writeRecord = {
  type: 'object',
  required: ['customerId'],
  properties: {
    customerId: {
      anyOf: [idSchema('The customer'), { type: 'integer', minimum: Number.MIN_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER }],
    },
    Attributes: {
      type: 'object',
      description: "Name/value pairs: the master schema's attributes (each of its type), or an app's; `null` removes one. Also accepted as `attributes`.",
      maxProperties: LIMITS.attributesPerProfile,
      propertyNames: { pattern: ATTRIBUTE_NAME.source },
      additionalProperties: { type: ['string', 'number', 'boolean', 'null'] },
    },
  },
};

export const writeBody = {
  description: "Records to write (`Records`, up to the tenant's batch limit). Also accepted: lower-case `attributes`, and a bare single record.",
  anyOf: [
    { type: 'object', required: ['Records'], properties: { Records: { type: 'array', minItems: 1, maxItems: MAX_BATCH_LIMIT, items: writeRecord } } },
    writeRecord,
  ],
};

/** The headers a write reads (write-handler.ts); the profile key is the security scheme. */
export const writeHeaders = {
  type: 'object',
  properties: {
    'idempotency-key': { type: 'string', pattern: IDEMPOTENCY_KEY.source, description: 'Extension: replay protection for writes, 24 h; 1 to 255 visible ASCII characters' },
    prefer: { type: 'string', description: 'Extension: `wait=N` answers once applied, up to 30 s' },
  },
};

/** Path parameters, each required. */
export const pathParams = (properties: Record<string, object>) => ({ type: 'object', required: Object.keys(properties), properties });
export const appidParam = { type: 'string', minLength: 1, description: 'An app of the tenant (else 7018)' };

/** Fastify's own answer to a request on an open connection while the server shuts down. */
const closingAnswer = {
  description: "Fastify's answer while the server shuts down",
  type: 'object',
  required: ['error', 'message', 'statusCode'],
  additionalProperties: false,
  properties: { error: { type: 'string' }, message: { type: 'string' }, statusCode: { type: 'integer', const: 503 } },
};

/** A refusal, in the tenant's format (legacy before the tenant is known); codes: docs/errors.md. */
export const refusal = (description: string) => ({ description, anyOf: [legacyEnvelope('legacy format', true), batchAnswer] });

/**
 * What every Profile API operation can answer besides its own successes: each status with the
 * codes behind it. A test (test/support/documented-answers.ts) fails when a test receives a status
 * its operation does not list here, or a body its schema does not take.
 */
export const refusals = {
  400: refusal('7003 a missing or malformed parameter, 7011 an id over 128 characters or with control characters, 7012 more ids than the batch limit, 7000 a body that is not JSON, 7905 a request the server cannot read (a path whose %-encoding is malformed included)'),
  401: refusal('7002 no profile key, 7001 an unknown or revoked key'),
  403: refusal("7010 (7208 on deleteProfile) an address outside the tenant's allow list, 7018 an appid of no app of the tenant"),
  408: refusal('7906 the request was not received in full in time'),
  415: refusal('7907 a body not sent as UTF-8 JSON (another Content-Type or charset, or a Content-Encoding)'),
  429: refusal("7020 over the tenant's rate limit; see Retry-After"),
  431: refusal('7905 request headers too large'),
  500: refusal('7006 an internal error, logged with the transid'),
  503: {
    description: "7902 the store or the queue cannot take the request; see Retry-After. While the server shuts down, requests on open connections get 503 (Fastify's own body)",
    anyOf: [legacyEnvelope('legacy format', true), batchAnswer, closingAnswer],
  },
};

const bodyRefusals = {
  413: refusal('7012 a body over the size limit'),
  422: refusal('7901 an Idempotency-Key reused with another request'),
};

const statusAnswer = {
  ...batchAnswer,
  description: 'The status of the write transaction: 1000 applied, 1002 applied with failed records, 7600 not finished or unknown',
  properties: { ...batchAnswer.properties, transid: { type: 'string', description: 'The transid asked about, as given (a UUID unless unknown)' } },
};

const queuedAnswer = {
  description: 'Queued: 1001 in the legacy format, 1000 with a result per record in the batch format',
  anyOf: [legacyEnvelope('legacy format', false), batchAnswer],
};

/** Reads; their 404 (7014 no such profile) is the shared `notFound` (see `openApiOptions`). */
export const readResponses = { 200: readAnswer, ...refusals };
/** Writes with a body. With `Prefer: wait=N`, 200 and the status API's answer. */
export const writeResponses = {
  200: { ...statusAnswer, description: `With Prefer: wait. ${statusAnswer.description}` },
  202: queuedAnswer,
  ...refusals,
  ...bodyRefusals,
};
export const statusResponses = { 200: statusAnswer, ...refusals };

export const showInwardLinks = { type: 'string', enum: LINK_LEVELS, description: '0 (default) the master profile only, 1 with its app profiles\' key attributes, 2 with all their attributes' };
export const cascade = { type: 'string', description: 'Extension: `1` or `true` also erases the customer\'s app profiles; any other value does not' };

/** `?customerId=` (required, repeatable) and the operation's other query parameters. */
export const customerIdsQuery = (others: Record<string, object>) => ({
  type: 'object',
  required: ['customerId'],
  properties: { customerId: idList('The customers'), ...others },
});

/** `?identifier=` or `?customerId=`: the server reads the first of them present (`x-first-of`), and needs one. */
export const appQuery = {
  type: 'object',
  properties: {
    customerId: idList('The customers; ignored when `identifier` is given'),
    identifier: idSchema('A userId: the app profiles whose `userId` attribute it is'),
  },
};
export const appSelector = {
  description: 'Takes `identifier` or `customerId` (7003 with neither); with both, `identifier` is read and `customerId` ignored (`x-first-of`: the first present is read).',
  'x-first-of': ['identifier', 'customerId'],
};

/** What the operations endpoints (no key) can refuse. */
export const opsRefusals = { 400: refusals[400], 408: refusals[408], 431: refusals[431], 500: refusals[500], 503: refusals[503] };

export const serviceState = (description: string) => ({
  description,
  type: 'object',
  required: ['status'],
  additionalProperties: false,
  properties: { status: { type: 'string' } },
});

const json = (schema: object) => ({ 'application/json': { schema } });

/**
 * Answers of requests no operation takes, listed on every operation (under the shared names): a
 * path no route has (7903), a method the path does not take (7904); on reads, 404 is also 7014.
 */
const sharedResponses = {
  notFound: { description: '7903 no operation has this path; on reads, 7014 no such profile', content: json(refusal('legacy format or the tenant\'s')) },
  methodNotAllowed: {
    description: '7904 the path takes other methods, listed in Allow',
    headers: { Allow: { schema: { type: 'string' }, description: 'The methods the path takes' } },
    content: json(refusal('legacy format')),
  },
};

type Operations = Record<string, Record<string, { responses: Record<string, unknown> }>>;

/** The OpenAPI document's frame, and the shared 404/405 answers added to every operation. */
export const openApiOptions: SwaggerOptions = {
  openapi: {
    openapi: '3.1.0',
    info: {
      title: 'OpenProfiles: Profile API v2',
      version: '0.1.0',
      description: 'Customer profiles, wire-compatible with the IMIconnect / Webex Connect Profile API v2. Codes: docs/errors.md.',
    },
    // Relative: the document is served by the server it describes.
    servers: [{ url: '/', description: 'This server' }],
    components: {
      securitySchemes: {
        profileKey: { type: 'apiKey', in: 'header', name: 'key' },
        secretKey: { type: 'apiKey', in: 'header', name: 'secretKey', description: "The same profile key, under the vendor's other name" },
      },
      // Plain JSON Schema, which the OpenAPI 3.0 types of the plugin do not describe.
      responses: sharedResponses as never,
    },
    security: [{ profileKey: [] }, { secretKey: [] }],
  },
  transformObject: (document) => {
    const { openapiObject } = document as { openapiObject: { paths: unknown } };
    for (const operations of Object.values(openapiObject.paths as Operations)) {
      for (const operation of Object.values(operations)) {
        operation.responses['404'] = { $ref: '#/components/responses/notFound' };
        operation.responses['405'] = { $ref: '#/components/responses/methodNotAllowed' };
      }
    }
    return openapiObject as never;
  },
};
