/**
 * JSON Schemas of the routes, for the OpenAPI document. They document the wire format; the
 * domain validates requests itself so that every refusal carries the vendor's code (contract §5).
 */
const attributeEntry = {
  type: 'object',
  properties: { Name: { type: 'string' }, Value: { type: ['string', 'number', 'boolean'] }, ID: { type: 'integer' } },
};
const entries = { type: 'array', items: attributeEntry };

export const profileRecord = {
  type: 'object',
  properties: {
    Attributes: entries,
    InwardLinks: {
      type: 'array',
      items: { type: 'object', properties: { AppID: { type: 'string' }, Channel: { type: 'string' }, Records: { type: 'array', items: entries } } },
    },
    OutwardLinks: {
      type: 'array',
      items: {
        type: 'object',
        properties: { ProfileID: { type: 'integer' }, ProfileName: { type: 'string' }, Records: { type: 'array', items: entries } },
      },
    },
  },
};

export const readAnswer = {
  description: 'Profiles found (code 1000)',
  type: 'object',
  required: ['Status', 'Description', 'Records', 'code', 'transid'],
  properties: {
    Status: { type: 'integer' },
    Description: { type: 'string' },
    Records: { type: 'array', items: profileRecord },
    code: { type: 'string' },
    transid: { type: 'string', format: 'uuid' },
    NotFound: { type: 'array', items: { type: 'string' }, description: 'Extension: ids asked for and not found' },
  },
};

const problem = {
  type: 'object',
  required: ['reason'],
  properties: { index: { type: 'integer' }, customerId: { type: 'string' }, attribute: { type: 'string' }, reason: { type: 'string' } },
};

/** The legacy format's envelope (contract §5). */
const legacyEnvelope = (description: string, withErrors: boolean) => ({
  description,
  type: 'object',
  required: ['response'],
  properties: {
    response: {
      type: 'object',
      required: ['code', 'description', 'transid', ...(withErrors ? ['errors'] : [])],
      properties: {
        code: { type: 'string' },
        description: { type: 'string' },
        transid: { type: 'string', format: 'uuid' },
        ...(withErrors && { errors: { type: 'array', items: problem } }),
      },
    },
  },
});

const result = {
  type: 'object',
  required: ['customerId', 'code', 'description'],
  properties: {
    customerId: { type: 'string' },
    userId: { type: 'string' },
    deviceId: { type: 'string' },
    code: { type: 'string' },
    description: { type: 'string' },
    reason: { type: 'string' },
  },
};

export const batchAnswer = {
  description: 'Batch format, and the status API: counts and one result per record',
  type: 'object',
  required: ['code', 'description', 'transid'],
  properties: {
    TotalCount: { type: 'integer' },
    SuccessCount: { type: 'integer' },
    FailureCount: { type: 'integer' },
    code: { type: 'string' },
    description: { type: 'string' },
    state: { type: 'string', enum: ['queued', 'processing', 'unknown'], description: 'Extension, with code 7600' },
    Results: { type: 'array', items: result },
    errors: { type: 'array', items: problem, description: 'Extension, on a refusal: every problem of the request' },
    transid: { type: 'string', format: 'uuid' },
  },
};

const writeRecord = {
  type: 'object',
  required: ['customerId'],
  properties: {
    customerId: { type: 'string', maxLength: 128 },
    Attributes: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean', 'null'] } },
  },
};

export const writeBody = {
  description: 'Records to write (`Records`, up to the tenant\'s batch limit). Also accepted: lower-case `attributes`, and a bare single record.',
  anyOf: [{ type: 'object', required: ['Records'], properties: { Records: { type: 'array', minItems: 1, items: writeRecord } } }, writeRecord],
};

export const keyHeaders = {
  type: 'object',
  properties: {
    key: { type: 'string', description: 'Profile key (or header `secretKey`)' },
    'idempotency-key': { type: 'string', description: 'Extension: replay protection for writes, 24 h' },
    prefer: { type: 'string', description: 'Extension: `wait=N` answers once applied, up to 30 s' },
  },
};

/** A refusal, in the tenant's format (legacy before the tenant is known); codes: docs/errors.md. */
const refusal = (description: string) => ({ description, anyOf: [legacyEnvelope('legacy format', true), batchAnswer] });

/**
 * What every Profile API operation can answer besides its own successes: each status with the
 * codes behind it. A test (test/support/documented-answers.ts) fails when a test receives a status
 * its operation does not list here.
 */
const refusals = {
  400: refusal('7003 a missing or malformed parameter, 7011 an id over 128 characters, 7000 a body that is not JSON, 7905 a request the server cannot read (a path whose %-encoding is malformed included)'),
  401: refusal('7002 no profile key, 7001 an unknown or revoked key'),
  403: refusal("7010 (7208 on deleteProfile) an address outside the tenant's allow list, 7018 an appid of no app of the tenant"),
  408: refusal('7906 the request was not received in full in time'),
  415: refusal('7907 a body not sent as UTF-8 JSON (another Content-Type or charset, or a Content-Encoding)'),
  429: refusal("7020 over the tenant's rate limit; see Retry-After"),
  431: refusal('7905 request headers too large'),
  500: refusal('7006 an internal error, logged with the transid'),
  503: refusal('7902 the store or the queue cannot take the request; see Retry-After. While the server shuts down, requests on open connections get 503 (Fastify\'s own body)'),
};

const bodyRefusals = {
  413: refusal('7012 a body over the size limit'),
  422: refusal('7901 an Idempotency-Key reused with another request'),
};

const statusAnswer = { ...batchAnswer, description: 'The status of the write transaction: 1000 applied, 1002 applied with failed records, 7600 not finished or unknown' };

const queuedAnswer = {
  description: 'Queued: 1001 in the legacy format, 1000 with a result per record in the batch format',
  anyOf: [legacyEnvelope('legacy format', false), batchAnswer],
};

export const readResponses = { 200: readAnswer, ...refusals, 404: refusal('7014 no such profile') };
/** Writes with a body. With `Prefer: wait=N`, 200 and the status API's answer. */
export const writeResponses = {
  200: { ...statusAnswer, description: `With Prefer: wait. ${statusAnswer.description}` },
  202: queuedAnswer,
  ...refusals,
  ...bodyRefusals,
};
export const statusResponses = { 200: statusAnswer, ...refusals };

export const customerIdsQuery = {
  type: 'object',
  properties: {
    customerId: { type: 'array', items: { type: 'string' }, description: 'Repeat for several customers' },
    showinwardlinks: { type: 'string', enum: ['0', '1', '2'] },
    cascade: { type: 'string', enum: ['0', '1'], description: 'Extension (deletes): also erase the customer\'s app profiles' },
  },
};

export const appQuery = {
  type: 'object',
  properties: {
    customerId: { type: 'array', items: { type: 'string' } },
    identifier: { type: 'string', description: 'A userId' },
  },
};

/** What the operations endpoints (no key) can refuse. */
export const opsRefusals = { 400: refusals[400], 408: refusals[408], 431: refusals[431], 500: refusals[500], 503: refusals[503] };

export const serviceState = (description: string) => ({
  description,
  type: 'object',
  required: ['status'],
  properties: { status: { type: 'string' } },
});
