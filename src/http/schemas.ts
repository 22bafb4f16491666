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
  description: 'Profiles found (HTTP 200, code 1000); a single unknown customer is 7014 (HTTP 404)',
  type: 'object',
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
  properties: { index: { type: 'integer' }, customerId: { type: 'string' }, attribute: { type: 'string' }, reason: { type: 'string' } },
};

export const legacyAnswer = {
  description: 'Legacy format (the default): queued (HTTP 202, code 1001) or an error with `errors` naming each problem',
  type: 'object',
  properties: {
    response: {
      type: 'object',
      properties: { code: { type: 'string' }, description: { type: 'string' }, transid: { type: 'string' }, errors: { type: 'array', items: problem } },
    },
  },
};

const result = {
  type: 'object',
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
  properties: {
    TotalCount: { type: 'integer' },
    SuccessCount: { type: 'integer' },
    FailureCount: { type: 'integer' },
    code: { type: 'string' },
    description: { type: 'string' },
    state: { type: 'string', enum: ['queued', 'processing', 'unknown'], description: 'Extension, with code 7600' },
    Results: { type: 'array', items: result },
    transid: { type: 'string' },
  },
};

export const writeBody = {
  description: 'Records to write. Also accepted: lower-case `attributes`, and a bare single record.',
  type: 'object',
  properties: {
    Records: {
      type: 'array',
      items: {
        type: 'object',
        properties: { customerId: { type: 'string' }, Attributes: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean', 'null'] } } },
      },
    },
  },
};

export const keyHeaders = {
  type: 'object',
  properties: {
    key: { type: 'string', description: 'Profile key (or header `secretKey`)' },
    'idempotency-key': { type: 'string', description: 'Extension: replay protection for writes, 24 h' },
    prefer: { type: 'string', description: 'Extension: `wait=N` answers once applied, up to 30 s' },
  },
};

export const writeResponses = { 202: legacyAnswer, 200: batchAnswer, 400: legacyAnswer, 401: legacyAnswer, 403: legacyAnswer, 429: legacyAnswer, 503: legacyAnswer };
export const readResponses = { 200: readAnswer, 404: legacyAnswer, 401: legacyAnswer, 403: legacyAnswer };

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
