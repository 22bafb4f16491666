import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import FindMyWay, { type HTTPMethod } from 'find-my-way';
import type { Logger } from 'pino';
import { API_CODES, ApiError, type ApiCode } from '../domain/errors.js';

/**
 * Answers for requests that reach no operation: a path no route has (7903, 404), a method the
 * path does not take (7904, 405, with `Allow`), an HTTP request Node cannot parse (7905) and one
 * that is not received in time (7906). All in the API's error format (legacy, as no tenant is
 * known), never Fastify's own.
 */

/** The legacy error body, for answers written straight to the socket (no Fastify reply exists). */
function rawAnswer(httpStatus: number, code: ApiCode, reason: string): string {
  const body = JSON.stringify({ response: { code, description: API_CODES[code].description, transid: randomUUID(), errors: [{ reason }] } });
  return (
    `HTTP/1.1 ${httpStatus} ${STATUS_CODES[httpStatus]}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

export const TIMEOUT_RESPONSE = rawAnswer(408, '7906', 'The request was not received in full in time; the connection is closed');

/** Fastify's `clientErrorHandler`: what Node's HTTP parser refuses, answered in the API's format. */
export function clientErrorHandler(logger: Logger) {
  return function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
    // A reset connection has nobody to answer.
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    let answer: string;
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') answer = TIMEOUT_RESPONSE;
    else if (err.code === 'HPE_HEADER_OVERFLOW') answer = rawAnswer(431, '7905', 'The request headers are larger than the server takes');
    else answer = rawAnswer(400, '7905', `The HTTP request cannot be read (${err.code ?? 'parse error'})`);
    logger.debug({ err }, 'malformed HTTP request');
    if (socket.writable) socket.end(answer);
    socket.destroySoon?.();
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
