import { createHash } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../domain/errors.js';
import { TURN_BODY_BYTES, TenantTurns } from '../write/1-take.js';

/**
 * How the server reads a request body: only UTF-8 JSON, under the size limit, asked for (`100
 * Continue`) only once the request passed authentication and its announced size fits.
 *
 * Accepted as JSON: `application/json`, `application/*+json`, `text/plain` (what `fetch` sends
 * for a string body) and no `Content-Type` at all, with no charset or a UTF-8 one (`us-ascii`,
 * a subset, too). Anything else, another charset, or a `Content-Encoding` is refused with 7907
 * (HTTP 415) before the body is read: a form or a latin-1 or gzip body read as UTF-8 JSON would
 * store something other than what the client sent.
 */

const JSON_TYPE = /^(application\/json|application\/[^/;\s]+\+json|text\/plain)$/;
const UTF8_CHARSET = /^"?(utf-8|utf8|us-ascii)"?$/;

/** Why the body's headers refuse it, or null when it is UTF-8 JSON. */
export function mediaTypeProblem(headers: FastifyRequest['headers']): string | null {
  const encoding = headers['content-encoding']?.trim().toLowerCase();
  if (encoding && encoding !== 'identity') return `Content-Encoding ${encoding} is not accepted: send the JSON body uncompressed`;
  const contentType = headers['content-type'];
  if (contentType === undefined || contentType.trim() === '') return null;
  const [type, ...parameters] = contentType.split(';').map((part) => part.trim().toLowerCase());
  if (!JSON_TYPE.test(type)) return `Content-Type ${type} is not accepted: send application/json`;
  const charset = parameters.find((p) => p.startsWith('charset='))?.slice('charset='.length);
  if (charset !== undefined && !UTF8_CHARSET.test(charset)) return `charset ${charset} is not accepted: JSON bodies are UTF-8`;
  return null;
}

/** Whether the request announces a body (a length over 0, or chunks). */
export const hasBody = (request: FastifyRequest) =>
  request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length'] ?? 0) > 0;

/** Requests that sent `Expect: 100-continue` and have not been told to go on. */
const awaitingContinue = new WeakSet<IncomingMessage>();

/**
 * Node answers `Expect: 100-continue` with `100 Continue` at once unless the server listens for
 * `checkContinue`; this listener defers it to `checkBody`, so a request refused first (no key,
 * too large) is never told to send its body.
 */
export function deferContinue(server: Server): void {
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    awaitingContinue.add(req);
    server.emit('request', req, res);
  });
}

/**
 * A `preParsing` hook for the Profile API (after authentication): refuses a body that is not
 * UTF-8 JSON (7907), and sends `100 Continue` to a client waiting for it whose body fits the limit
 * (a larger one is refused 413 by its `content-length` without it).
 */
export function bodyChecker(bodyLimit: number) {
  return async function checkBody(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (hasBody(request)) {
      const problem = mediaTypeProblem(request.headers);
      if (problem) throw new ApiError('7907', problem);
    }
    if (awaitingContinue.delete(request.raw) && !(Number(request.headers['content-length']) > bodyLimit)) reply.raw.writeContinue();
  };
}

/** Tells a client waiting with `Expect: 100-continue` to send its body (a bulk upload, whose size has no limit). */
export function sendContinue(request: FastifyRequest, reply: FastifyReply): void {
  if (awaitingContinue.delete(request.raw)) reply.raw.writeContinue();
}

/**
 * Reads every body as JSON (the type was checked by `checkBody`). Tenants take turns to have their
 * bodies parsed and validated (validation follows the parse in the same turn of the event loop),
 * so one tenant's burst of large writes cannot hold the thread while another's waits (TenantTurns).
 */
export function parseJsonBodies(app: FastifyInstance, tenantTurnBytes: number | undefined): void {
  app.removeAllContentTypeParsers();
  const turns = new TenantTurns(tenantTurnBytes === 0 ? Infinity : (tenantTurnBytes ?? TURN_BODY_BYTES));
  app.addContentTypeParser('*', { parseAs: 'string' }, (request: FastifyRequest, body: string | Buffer, done) => {
    turns.run(request.tenantCtx?.tenant.id ?? 0, body.length, () => {
      const text = typeof body === 'string' ? body : body.toString('utf8');
      if (request.headers['idempotency-key'] !== undefined) request.bodyHash = createHash('sha256').update(text).digest('hex');
      if (text.trim() === '') return done(null, undefined);
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (err) {
        return done(new ApiError('7000', `The body is not valid JSON: ${(err as Error).message}`), undefined);
      }
      request.bodyText = text;
      done(null, parsed);
    });
  });
}
