import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Server as TlsServer } from 'node:tls';
import swagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { Logger } from 'pino';
import { ApiError } from '../domain/errors.js';
import { RETRY_AFTER_S } from '../write/2-admission.js';
import { StorageUnavailableError } from '../storage/ports.js';
import type { ResponseFormat } from '../model/directory.js';
import { authenticator } from './auth.js';
import type { Services } from './context.js';
import { isLingering, lingerAfterAnswer } from './lingering-close.js';
import { type Metrics, UNMATCHED_ROUTE, UNREADABLE_ROUTE } from './metrics.js';
import { answerPlainHttp } from './plain-http.js';
import { RateLimiter } from './rate-limit.js';
import { bodyChecker, deferContinue, hasBody, parseJsonBodies } from './request-body.js';
import { clientErrorHandler, indexMethods, rawAnswer, TIMEOUT_REASON, unroutedError } from './protocol-errors.js';
import { sendError } from './replies.js';
import { appProfileRoutes } from './routes/app-profiles.js';
import { bulkRoutes } from './routes/bulk.js';
import { changeRoutes } from './routes/changes.js';
import { importRoutes, IMPORTS_PREFIX } from './routes/imports.js';
import { opsRoutes } from './routes/ops.js';
import { profileRoutes } from './routes/profiles.js';
import { statusRoutes } from './routes/status.js';
import { webhookRoutes } from './routes/webhooks.js';
import { openApiOptions } from './schemas.js';

export interface AppOptions {
  logger: Logger;
  bodyLimit: number;
  /** Proxy addresses/CIDRs whose X-Forwarded-For is believed; empty trusts none. */
  trustProxy: string[];
  /** TLS options for HTTPS; null for plain HTTP (behind a TLS-terminating proxy only). */
  https: { key: string | Buffer; cert: string | Buffer } | null;
  /** Longest time a client may take to send a whole request, ms; past it the server answers 408 and closes the connection. */
  requestTimeoutMs: number;
  /** How long a request over its tenant's rate limit is held before its 7020 answer, ms. */
  rateLimitHoldMs: number;
  /** Body bytes per tenant per turn of the event loop (TenantTurns); 0: no turns. Default TURN_BODY_BYTES. */
  tenantTurnBytes?: number;
}

export const API_PREFIX = '/resources/v2';
/** The extension API's paths (contract §10): tenant data takes the same profile key, allow list and rate limit. */
export const EXTENSION_PREFIX = '/openprofiles/v1';

/**
 * Requests answered beside Fastify's lifecycle, which neither logs their completion nor runs the
 * `onResponse` hook for them: a router error's answer and a 408 written on the socket. Each is
 * logged and counted here, once.
 */
const answeredAside = new WeakSet<IncomingMessage>();

function accountAside(metrics: Metrics, request: FastifyRequest, route: string, status: number, code: string, seconds: number): void {
  if (answeredAside.has(request.raw)) return;
  answeredAside.add(request.raw);
  request.log.info({ res: { statusCode: status }, code, responseTime: seconds * 1000 }, 'request completed');
  metrics.noteAnswer({ route, method: request.method, status, code, seconds });
}

/**
 * Ends a request whose body is still arriving `ms` after it began (a client trickling bytes holds
 * a connection and a parser otherwise): answers 408 on the socket and closes it, as Node does for
 * its own request timeout. Node 20's requestTimeout does not cut a body that keeps trickling.
 */
function bodyDeadline(ms: number, metrics: Metrics) {
  return async function startDeadline(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    // A request that announces no body has none to wait for; a bulk upload may take as long as its size needs.
    if (request.raw.complete || !hasBody(request) || request.routeOptions.config?.isUpload) return;
    const timer = setTimeout(() => {
      if (request.raw.complete) return;
      const socket = request.raw.socket;
      // Answered already (a refusal before the body was read): close quietly, nothing is lost.
      if (reply.raw.headersSent) {
        request.log.debug({ timeoutMs: ms }, 'the rest of an answered request\'s body did not arrive in time; closing the connection');
        return socket.destroy();
      }
      request.log.warn({ timeoutMs: ms }, 'request body not received in time; closing the connection');
      // Closed at once, not lingering: the rest of the body must not reach the parser and the handler.
      socket.end(rawAnswer(408, '7906', TIMEOUT_REASON).text);
      socket.destroySoon?.();
      accountAside(metrics, request, request.routeOptions.url ?? UNMATCHED_ROUTE, 408, '7906', reply.elapsedTime / 1000);
    }, ms);
    timer.unref();
    request.raw.once('end', () => clearTimeout(timer));
    request.raw.once('close', () => clearTimeout(timer));
  };
}

/** The server's format for answers given before the tenant is known (7001, 7002, 7000 …). */
const DEFAULT_FORMAT: ResponseFormat = 'legacy';

/** Builds the Fastify app. It never listens by itself: `main.ts` does, tests use `inject()`. */
export async function buildApp(services: Services, options: AppOptions): Promise<FastifyInstance> {
  const m = services.metrics;
  const authenticate = authenticator(services.directory, new RateLimiter(), options.rateLimitHoldMs);
  /**
   * A router error (a path whose %-encoding is malformed, a path parameter over the router's
   * limit): on a Profile API path the caller is authenticated first, as on every other request.
   */
  async function answerUnreadable(err: FastifyError, request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const started = performance.now();
    reply.raw.once('finish', () => accountAside(m, request, UNREADABLE_ROUTE, reply.statusCode, reply.apiCode ?? '', (performance.now() - started) / 1000));
    if (request.url.startsWith(`${API_PREFIX}/`) || request.url.startsWith(`${EXTENSION_PREFIX}/`)) {
      try {
        await authenticate(request, reply);
      } catch (authError) {
        answerError(authError as ApiError, request, reply);
        return;
      }
    }
    answerError(err, request, reply);
  }
  const serverOptions: FastifyServerOptions = {
    loggerInstance: options.logger,
    bodyLimit: options.bodyLimit,
    trustProxy: options.trustProxy.length > 0 ? options.trustProxy : false,
    genReqId: () => randomUUID(),
    logController: new LogController({ requestIdLogLabel: 'transid' }),
    requestIdHeader: false,
    // Names such as __proto__ reach validation as plain keys and are refused there with 7011.
    onProtoPoisoning: 'ignore',
    onConstructorPoisoning: 'ignore',
    return503OnClosing: true,
    // Longer than any id the API takes (128), so our own checks answer with the precise reason.
    routerOptions: { maxParamLength: 512 },
    // Router errors (a path parameter over that, a malformed URL) get vendor codes too.
    frameworkErrors: (err, request, reply) => void answerUnreadable(err, request, reply),
    // What Node's HTTP parser refuses (a bad request line, headers too large) gets a vendor-format answer too.
    clientErrorHandler: clientErrorHandler(options.logger, m),
    // Headers that never finish: Node's own headersTimeout. A body that never finishes: `bodyDeadline`.
    requestTimeout: options.requestTimeoutMs,
    ...(options.https && { https: { ...options.https, minVersion: 'TLSv1.2' as const } }),
  };
  const app = Fastify(serverOptions) as unknown as FastifyInstance;
  const methods = indexMethods(app);
  deferContinue(app.server);
  if (options.https) {
    answerPlainHttp(app.server as unknown as TlsServer, options.requestTimeoutMs, () => {
      options.logger.info({ transid: randomUUID(), res: { statusCode: 400 } }, 'plain HTTP on the HTTPS port: answered with a hint to use https://');
      m.noteAnswer({ route: UNREADABLE_ROUTE, method: 'unknown', status: 400, code: '' });
    });
  }

  await app.register(swagger, openApiOptions);

  // Route schemas document the wire format; the domain validates with the vendor's codes.
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  parseJsonBodies(app, options.tenantTurnBytes);

  app.setErrorHandler((err: FastifyError | ApiError | Error, request, reply) =>
    // A request with no route can fail before the not-found handler (a QUERY without content type).
    answerError(request.is404 ? unroutedError(methods, request, reply) : err, request, reply),
  );
  app.setNotFoundHandler((request, reply) => answerError(unroutedError(methods, request, reply), request, reply));

  // A request pipelined behind a refusal that closes its connection is not served.
  app.addHook('onRequest', async (request, reply) => {
    if (!isLingering(request.raw.socket)) return;
    reply.hijack();
    request.raw.socket.destroy();
  });
  app.addHook('onRequest', bodyDeadline(options.requestTimeoutMs, m));

  app.addHook('onResponse', async (request, reply) => {
    if (answeredAside.has(request.raw)) return;
    const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
    m.noteAnswer({ route, method: request.method, status: reply.statusCode, code: reply.apiCode ?? '', seconds: reply.elapsedTime / 1000 });
  });

  opsRoutes(app, services);
  /** Operations behind the tenant's profile key, allow list and rate limit; bodies within the body limit unless `hasLongBodies`. */
  const tenantApi = (prefix: string, routes: Array<(api: FastifyInstance, services: Services) => void>, hasLongBodies = false) =>
    app.register(
      async (api) => {
        api.addHook('onRequest', authenticate);
        if (!hasLongBodies) api.addHook('preParsing', bodyChecker(options.bodyLimit));
        for (const add of routes) add(api, services);
      },
      { prefix },
    );
  await tenantApi(API_PREFIX, [profileRoutes, appProfileRoutes, statusRoutes]);
  await tenantApi(EXTENSION_PREFIX, [bulkRoutes, changeRoutes, webhookRoutes]);
  // An import's body is streamed to a file, whatever its size.
  await tenantApi(IMPORTS_PREFIX, [importRoutes], true);
  return app;
}

/** The 4xx status of a framework error (a client's fault), else null. */
function clientStatus(err: Error): number | null {
  const status = (err as FastifyError).statusCode;
  return status !== undefined && status >= 400 && status < 500 ? status : null;
}

/** Maps every failure to an API code and the tenant's format; a 500 never carries its internal message. */
function answerError(err: FastifyError | ApiError | Error, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const format = request.tenantCtx?.tenant.settings.responseFormat ?? DEFAULT_FORMAT;
  let apiError: ApiError;
  if (err instanceof ApiError) apiError = err;
  else if (err instanceof StorageUnavailableError) {
    request.log.warn({ err }, 'the store is unavailable');
    apiError = new ApiError('7902', 'The store cannot take the request right now; retry later', [], 503, RETRY_AFTER_S);
  } else {
    const code = (err as FastifyError).code;
    const status = clientStatus(err);
    if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') apiError = new ApiError('7012', err.message, [], 413);
    else if (code === 'FST_ERR_MAX_PARAM_LENGTH') apiError = new ApiError('7011', 'A path parameter is longer than any id the API accepts (128 characters)');
    else if (code === 'FST_ERR_BAD_URL') apiError = new ApiError('7905', "The path's %-encoding is malformed", [], 400);
    else if (code?.startsWith('FST_ERR_CTP_')) apiError = new ApiError('7000', err.message, [], status ?? 400);
    else if (status !== null) apiError = new ApiError('7905', err.message, [], status);
    else {
      request.log.error({ err }, 'internal error');
      apiError = new ApiError('7006', 'Internal error; quote the transid to the operator');
    }
  }
  // The code only: messages may quote the body, and logs never hold attribute values at info.
  if (apiError.httpStatus < 500) request.log.info({ code: apiError.code }, 'request refused');
  // Fastify closes the connection after refusing a body it did not read (over the size limit).
  if (!request.raw.complete && reply.getHeader('connection') === 'close') lingerAfterAnswer(request.raw.socket);
  return sendError(reply, format, apiError, request.id, request.body);
}
