import type { FastifyReply } from 'fastify';
import { API_CODES, type ApiCode, type ApiError, type Problem } from '../domain/errors.js';
import type { RecordResult, WriteTransactionStatus } from '../model/write-transaction.js';
import type { ResponseFormat } from '../model/directory.js';

/**
 * The wire shapes of answers (contract §4, §5, §7). The vendor's field names stay the vendor's
 * here and nowhere else.
 */

declare module 'fastify' {
  interface FastifyReply {
    /** The API code of the answer, for metrics and logs. */
    apiCode?: ApiCode;
  }
}

export function send(reply: FastifyReply, httpStatus: number, code: ApiCode, body: unknown): FastifyReply {
  reply.apiCode = code;
  return reply.code(httpStatus).send(body);
}

/** HTTP 202 with the tenant's queued acknowledgement. */
export function sendQueued(reply: FastifyReply, format: ResponseFormat, transid: string, recordIds: string[]): FastifyReply {
  if (format === 'legacy') {
    return send(reply, 202, '1001', { response: { code: '1001', description: 'Queued', transid } });
  }
  return send(reply, 202, '1000', {
    TotalCount: recordIds.length,
    SuccessCount: recordIds.length,
    FailureCount: 0,
    code: '1000',
    description: 'QUEUED',
    Results: recordIds.map((customerId) => ({ customerId, code: '1000', description: 'QUEUED' })),
    transid,
  });
}

const wireProblem = ({ index, customerId, attribute, reason, cursor }: Problem) => ({
  ...(index !== undefined && { index }),
  ...(customerId !== undefined && { customerId }),
  ...(attribute !== undefined && { attribute }),
  reason,
  ...(cursor !== undefined && { cursor }),
});

/** The records of the refused body, for the batch format's one-result-per-record errors. */
function bodyRecords(body: unknown): Array<{ customerId?: unknown }> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return [];
  const records = (body as { Records?: unknown }).Records;
  if (Array.isArray(records)) return records.map((r) => (typeof r === 'object' && r !== null ? r : {}));
  return 'customerId' in body ? [body as { customerId?: unknown }] : [];
}

/** An error in the tenant's format; `errors` (legacy) or per-record `Results` (batch) say precisely what is wrong. */
export function sendError(reply: FastifyReply, format: ResponseFormat, err: ApiError, transid: string, body?: unknown): FastifyReply {
  const { code } = err;
  const description = API_CODES[code].description;
  const errors = err.problems.length > 0 ? err.problems.map(wireProblem) : [{ reason: err.message }];
  if (err.retryAfter !== undefined) reply.header('retry-after', String(err.retryAfter));
  if (format === 'legacy') {
    return send(reply, err.httpStatus, code, { response: { code, description, transid, errors } });
  }
  const records = bodyRecords(body);
  const Results = records.map((record, index) => {
    const own = err.problems.filter((p) => p.index === index);
    const customerId = typeof record.customerId === 'string' ? record.customerId : String(record.customerId ?? '');
    return own.length > 0
      ? { customerId, code: own[0].code, description: API_CODES[own[0].code].description, errors: own.map(wireProblem) }
      : { customerId, code, description, errors: [{ reason: 'not queued: the request was refused as a whole' }] };
  });
  return send(reply, err.httpStatus, code, {
    TotalCount: records.length,
    SuccessCount: 0,
    FailureCount: records.length,
    code,
    description,
    Results,
    errors,
    transid,
  });
}

const resultDescription = (code: RecordResult['code']) => (code === '1000' ? 'SUCCESS' : API_CODES[code].description);

/** The status API's body (contract §7); also the answer of a write with `Prefer: wait`. */
export function statusBody(transid: string, status: WriteTransactionStatus | null): { code: ApiCode; body: unknown } {
  if (!status) {
    return { code: '7600', body: { code: '7600', description: API_CODES['7600'].description, state: 'unknown', transid } };
  }
  if (status.state !== 'done' || !status.results) {
    return {
      code: '7600',
      body: { code: '7600', description: API_CODES['7600'].description, state: status.state, TotalCount: status.totalCount, transid },
    };
  }
  const failures = status.results.filter((r) => r.code !== '1000').length;
  const code: ApiCode = failures === 0 ? '1000' : '1002';
  return {
    code,
    body: {
      TotalCount: status.results.length,
      SuccessCount: status.results.length - failures,
      FailureCount: failures,
      code,
      description: failures === 0 ? 'SUCCESS' : 'Partial success',
      Results: status.results.map((r) => ({
        customerId: r.customerId,
        ...(r.userId !== undefined && { userId: r.userId }),
        ...(r.deviceId !== undefined && { deviceId: r.deviceId }),
        code: r.code,
        description: resultDescription(r.code),
        ...(r.reason !== undefined && { reason: r.reason }),
      })),
      transid,
    },
  };
}

/** A read answer (contract §4). */
export function sendRead(reply: FastifyReply, transid: string, records: unknown[], notFound?: string[]): FastifyReply {
  return send(reply, 200, '1000', {
    Status: 0,
    Description: 'success',
    Records: records,
    code: '1000',
    transid,
    ...(notFound && notFound.length > 0 && { NotFound: notFound }),
  });
}
