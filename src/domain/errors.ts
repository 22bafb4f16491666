/**
 * The one registry of API codes (contract §5, §8): description and HTTP status of each.
 * `docs/errors.md` lists the same codes; test/domain/errors.test.ts keeps the two equal.
 */
export const API_CODES = {
  '1000': { description: 'Success', httpStatus: 200, meaning: 'Read answered, write applied, or (batch format) write queued.' },
  '1001': { description: 'Queued', httpStatus: 202, meaning: 'Write accepted and stored durably (legacy format).' },
  '1002': { description: 'Partial success', httpStatus: 200, meaning: 'Write applied, and at least one record failed (status API).' },
  '7000': { description: 'Invalid JSON', httpStatus: 400, meaning: 'The body is not JSON, or not a JSON object.' },
  '7001': { description: 'Authentication failed', httpStatus: 401, meaning: 'The profile key is unknown or revoked.' },
  '7002': { description: 'Service Key Missing', httpStatus: 401, meaning: 'No `key` (or `secretKey`) header.' },
  '7003': {
    description: 'Mandatory parameters missing',
    httpStatus: 400,
    meaning: 'No `Records`, empty `Records`, a record without `customerId`, or an `rt` record without `deviceId`.',
  },
  '7006': { description: 'Internal error occurred', httpStatus: 500, meaning: 'An unexpected failure; logged with the transid.' },
  '7010': { description: 'Source IP is not whitelisted', httpStatus: 403, meaning: "The client address is not in the tenant's allow list." },
  '7011': { description: 'Invalid Attribute Value', httpStatus: 400, meaning: 'An attribute is unknown, malformed or of the wrong type.' },
  '7012': {
    description: 'Batch limit exceeded',
    httpStatus: 400,
    meaning: "More records than the tenant's batch limit (HTTP 413 when the body is over the size limit).",
  },
  '7014': { description: 'Profile not found', httpStatus: 404, meaning: 'No such profile (reads); per-record result of updates and app deletes.' },
  '7015': { description: 'Profile already exists', httpStatus: 409, meaning: 'Per-record result of a create for an existing profile.' },
  '7018': {
    description: 'Invalid app profile or app profile not linked to this client.',
    httpStatus: 403,
    meaning: 'The appid is unknown or belongs to another tenant; per-record result of a write to an app deleted after the write was accepted.',
  },
  '7020': { description: 'Rate limit exceeded', httpStatus: 429, meaning: "Over the tenant's requests per second; see `Retry-After`." },
  '7203': { description: 'Customer profile does not exist', httpStatus: 404, meaning: 'Per-record result of deleting a missing customer.' },
  '7208': { description: 'Source IP is not whitelisted', httpStatus: 403, meaning: 'As 7010, on deleteProfile (as the vendor documents).' },
  '7600': {
    description: 'Request is in progress or unknown',
    httpStatus: 200,
    meaning: 'Status API: the write transaction is not finished (`state`), or unknown to this tenant.',
  },
  '7901': { description: 'Idempotency key reused with another request', httpStatus: 422, meaning: 'Same `Idempotency-Key`, different body, within 24 h.' },
  '7902': { description: 'Service unavailable, retry later', httpStatus: 503, meaning: 'The queue is full or the store cannot take the write; see `Retry-After`.' },
  '7903': { description: 'No such route', httpStatus: 404, meaning: 'No operation has this path (docs: `/openapi.json`).' },
  '7904': { description: 'Method not allowed', httpStatus: 405, meaning: 'The path exists, not with this method; `Allow` lists its methods.' },
  '7905': {
    description: 'Malformed request',
    httpStatus: 400,
    meaning: 'The HTTP request cannot be read: a bad request line (a path whose %-encoding is malformed included) or header (HTTP 431 when the headers are too large).',
  },
  '7906': { description: 'Request timeout', httpStatus: 408, meaning: 'The request was not received in full in time (`PROFILES_REQUEST_TIMEOUT_MS`); the connection is closed.' },
  '7907': {
    description: 'Unsupported media type',
    httpStatus: 415,
    meaning: 'A body not sent as UTF-8 JSON: a `Content-Type` other than `application/json`, `application/*+json` or `text/plain` (none is read as JSON), a charset other than UTF-8, or a `Content-Encoding`; on an import, a body other than `application/x-ndjson` or `text/csv`.',
  },
  '7908': {
    description: 'Invalid cursor',
    httpStatus: 400,
    meaning: "A cursor that is malformed, or was made for another tenant (the change feed's `after`), or for other filters (a listing's).",
  },
  '7909': {
    description: 'Attribute not indexed',
    httpStatus: 400,
    meaning: 'A listing filters by a master attribute the tenant has not marked indexed (`openprofiles attribute add … --indexed`); `errors` names it.',
  },
  '7920': { description: 'Import not found', httpStatus: 404, meaning: 'No import of this tenant has this id.' },
  '7921': {
    description: 'Profile changed during the import',
    httpStatus: 409,
    meaning: 'Per-record result of an import row not applied: its profile changed after the import started, and is kept as stored.',
  },
  '7922': { description: 'Invalid import request', httpStatus: 400, meaning: 'An import whose format or app cannot be read: an unknown `format`, an empty body, or a CSV header without `customerId`.' },
  '7930': {
    description: 'Cursor expired',
    httpStatus: 410,
    meaning: "The change feed deleted events after this cursor (`PROFILES_CHANGES_RETENTION_DAYS`): read again from the cursor in `errors[0].cursor`, the oldest event kept, and re-list what was missed.",
  },
  '7940': { description: 'Webhook endpoint not found', httpStatus: 404, meaning: 'The tenant has no webhook endpoint with that id.' },
  '7941': {
    description: 'Webhook URL refused',
    httpStatus: 400,
    meaning: 'The URL cannot receive webhooks: not https, credentials in it, a host that does not resolve, or one that resolves to a loopback, private, link-local or metadata address (docs/changes.md, "Safe targets").',
  },
  '7942': { description: 'Event not in the feed', httpStatus: 404, meaning: 'A resend names an event the tenant\'s feed does not hold: unknown, or purged past retention.' },
  '7943': { description: 'Webhook endpoint disabled', httpStatus: 409, meaning: 'A resend to a disabled endpoint: enable it first (`webhook enable`).' },
} as const satisfies Record<string, { description: string; httpStatus: number; meaning: string }>;

export type ApiCode = keyof typeof API_CODES;

/** One problem with one record or attribute of a request (the `errors` extension field). */
export interface Problem {
  /** Index of the record in `Records`; absent for problems of the request as a whole. */
  index?: number;
  customerId?: string;
  attribute?: string;
  code: ApiCode;
  reason: string;
  /** Change feed (7930): the cursor to read again from. */
  cursor?: string;
}

/** A refusal with an API code. `problems` name every offending record and attribute. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly code: ApiCode,
    message: string = API_CODES[code].description,
    readonly problems: Problem[] = [],
    /** HTTP status when it differs from the registry's (7012 → 413 for a body over the size limit). */
    readonly httpStatus: number = API_CODES[code].httpStatus,
    /** Seconds after which a retry can help (429, 503). */
    readonly retryAfter?: number,
  ) {
    super(message);
  }

  /** Whether the same request can succeed later. */
  get isRetryable(): boolean {
    return this.code === '7020' || this.code === '7902' || this.code === '7006';
  }
}
