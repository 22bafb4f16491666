import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import FindMyWay, { type HTTPMethod } from 'find-my-way';
import type { Logger } from 'pino';
import { API_CODES, ApiError, type ApiCode } from '../domain/errors.js';
import { closeLingering, isLingering } from './lingering-close.js';
import { type Metrics, UNREADABLE_ROUTE } from './metrics.js';

/**
 * Answers for requests that reach no operation: a path no route has (7903, 404), a method the
 * path does not take (7904, 405, with `Allow`), an HTTP request Node cannot parse (7905) and one
 * that is not received in time (7906). All in the API's error format (legacy, as no tenant is
 * known), never Fastify's own.
 */

/** The legacy error answer, for answers written straight to the socket (no Fastify reply exists). */
export function rawAnswer(httpStatus: number, code: ApiCode, reason: string): { text: string; transid: string } {
  const transid = randomUUID();
  const body = JSON.stringify({ response: { code, description: API_CODES[code].description, transid, errors: [{ reason }] } });
  const text =
    `HTTP/1.1 ${httpStatus} ${STATUS_CODES[httpStatus]}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  return { text, transid };
}

export const TIMEOUT_REASON = 'The request was not received in full in time; the connection is closed';

/** What Node's HTTP parser refuses: HTTP status, code and reason. */
function clientErrorAnswer(err: NodeJS.ErrnoException): { status: number; code: ApiCode; reason: string } {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return { status: 408, code: '7906', reason: TIMEOUT_REASON };
  if (err.code === 'HPE_HEADER_OVERFLOW') return { status: 431, code: '7905', reason: 'The request headers are larger than the server takes' };
  return { status: 400, code: '7905', reason: `The HTTP request cannot be read (${err.code ?? 'parse error'})` };
}

/**
 * Fastify's `clientErrorHandler`: what Node's HTTP parser refuses, answered in the API's format,
 * logged and counted (route `unreadable`). The connection closes lingering: a client still
 * sending its headers reads the answer rather than a reset.
 */
export function clientErrorHandler(logger: Logger, metrics: Metrics) {
  return function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
    // A reset connection has nobody to answer; a lingering one was answered (its parser fails on every chunk).
    if (err.code === 'ECONNRESET' || socket.destroyed || isLingering(socket)) return;
    if (!socket.writable) return void socket.destroy();
    const { status, code, reason } = clientErrorAnswer(err);
    const { text, transid } = rawAnswer(status, code, reason);
    closeLingering(socket, text);
    logger.info({ transid, res: { statusCode: status }, code, reason: err.code }, 'request refused before it could be read');
    metrics.noteAnswer({ route: UNREADABLE_ROUTE, method: 'unknown', status, code });
  };
}

/**
 * Which methods each path takes, matched by the same router Fastify uses (so parameters, encoding
 * and trailing slashes match exactly as they do for the routes themselves).
 */
export class MethodIndex {
  private readonly router = FindMyWay({ ignoreTrailingSlash: false, maxParamLength: 512 });
  private readonly methods = new Set<HTTPMethod>();

  /** An `onRoute` hook: call before the routes are added. */
  readonly onRoute = (route: RouteOptions): void => {
    for (const method of [route.method].flat() as HTTPMethod[]) {
      this.methods.add(method);
      if (!this.router.find(method, route.url)) this.router.on(method, route.url, () => undefined);
    }
  };

  /** The methods `path` (without query) takes; empty when no route has it. */
  allowed(path: string): HTTPMethod[] {
    return [...this.methods].filter((method) => this.router.find(method, path) !== null).sort();
  }
}

/** Fastify's not-found handler: 405 when the path takes other methods, else 404. */
export function unroutedError(index: MethodIndex, request: FastifyRequest, reply: FastifyReply): ApiError {
  const path = request.url.split('?', 1)[0];
  const allowed = index.allowed(path);
  if (allowed.length === 0) return new ApiError('7903', `No operation has the path ${path}`);
  reply.header('allow', allowed.join(', '));
  return new ApiError('7904', `${path} takes ${allowed.join(', ')}, not ${request.method}`);
}

/** Registers the index on `app`, whose routes are all added after this call. */
export function indexMethods(app: FastifyInstance): MethodIndex {
  const index = new MethodIndex();
  app.addHook('onRoute', index.onRoute);
  return index;
}
