import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../domain/errors.js';
import type { WriteAcceptor, WriteRequest } from '../write/2-accept.js';
import { MAX_WAIT_S, type StatusReader } from '../write/5-status.js';
import { send, sendQueued, statusBody } from './replies.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Hex SHA-256 of the raw body, set by the JSON parser. */
    bodyHash?: string;
    /** The body's text, set by the JSON parser when it parsed. */
    bodyText?: string;
  }
}

/** What an Idempotency-Key may be; the OpenAPI document's header schema is made from it (schemas.ts). */
export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** `Prefer: wait=N` (RFC 7240), capped at 30 s; null without one. */
function preferredWait(header: string | string[] | undefined): number | null {
  const text = Array.isArray(header) ? header.join(',') : header;
  const match = text ? /(?:^|[,;\s])wait=(\d+)/i.exec(text) : null;
  return match ? Math.min(Number(match[1]), MAX_WAIT_S) : null;
}

/** Accepts a write and answers it: queued (202), or with `Prefer: wait` its status (200). */
export async function handleWrite(
  acceptor: WriteAcceptor,
  status: StatusReader,
  request: FastifyRequest,
  reply: FastifyReply,
  write: Omit<WriteRequest, 'transid' | 'idempotencyKey' | 'requestHash'>,
): Promise<FastifyReply> {
  const ctx = request.tenantCtx!;
  const rawKey = request.headers['idempotency-key'];
  const idempotencyKey = Array.isArray(rawKey) ? rawKey[0] : rawKey;
  if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
    throw new ApiError('7003', 'Idempotency-Key must be 1 to 255 visible ASCII characters');
  }
  const requestHash = idempotencyKey
    ? createHash('sha256').update(`${request.method} ${request.url}\n`).update(request.bodyHash ?? '').digest('hex')
    : null;
  const prepared = await acceptor.prepare(ctx, { ...write, transid: request.id, bodyText: request.bodyText, idempotencyKey: idempotencyKey ?? null, requestHash });
  // Neither the body nor its parse outlives validation (see WriteAcceptor.prepare). A refusal from
  // here on quotes each record's customerId, as it would from the body: the ids validation gave.
  const isBodyWrite = write.body !== undefined;
  request.body = undefined;
  request.bodyText = undefined;
  write.body = undefined;
  let accepted;
  try {
    accepted = await acceptor.accept(ctx, prepared);
  } catch (err) {
    if (isBodyWrite) request.body = { Records: prepared.recordIds.map((customerId) => ({ customerId })) };
    throw err;
  }
  const wait = preferredWait(request.headers.prefer);
  if (wait === null) return sendQueued(reply, ctx.tenant.settings.responseFormat, accepted.transid, accepted.recordIds);
  reply.header('preference-applied', `wait=${wait}`);
  const current = await status.waitFor(ctx.tenant.id, accepted.transid, wait * 1000);
  const { code, body } = statusBody(accepted.transid, current);
  return send(reply, 200, code, body);
}
