import { createHash, randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { Logger } from 'pino';
import type { DirectoryCache } from '../domain/directory.js';
import { ApiError } from '../domain/errors.js';
import type { ProfileReader } from '../domain/profile-reads.js';
import { RETRY_AFTER_S, type WriteAcceptor } from '../queue/accept.js';
import type { StatusReader } from '../queue/status.js';
import { StorageUnavailableError, type ResponseFormat, type Storage } from '../storage/storage.js';
import { authenticator } from './auth.js';
import type { Metrics } from './metrics.js';
import { RateLimiter } from './rate-limit.js';
import { TURN_BODY_BYTES, TenantTurns } from './tenant-turns.js';
import { clientErrorHandler, indexMethods, TIMEOUT_RESPONSE, unroutedError } from './protocol-errors.js';
import { sendError } from './replies.js';
import { appProfileRoutes } from './routes/app-profiles.js';
import { opsRoutes } from './routes/ops.js';
import { profileRoutes } from './routes/profiles.js';
import { statusRoutes } from './routes/status.js';

/** What the routes use. Built by the composition root (src/main.ts) or a test. */
export interface Services {
  storage: Storage;
  directory: DirectoryCache;
  reader: ProfileReader;
  acceptor: WriteAcceptor;
  status: StatusReader;
  metrics: Metrics;
  lifecycle: { isShuttingDown: boolean };
}

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

/**
 * Ends a request whose body is still arriving `ms` after it began (a client trickling bytes holds
 * a connection and a parser otherwise): answers 408 on the socket and closes it, as Node does for
 * its own request timeout. Node 20's requestTimeout does not cut a body that keeps trickling.
 */
function bodyDeadline(ms: number) {
  return async function startDeadline(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (request.raw.complete) return;
    const timer = setTimeout(() => {
      if (request.raw.complete) return;
      const socket = request.raw.socket;
      // Answered already (a refusal before the body was read): close quietly, nothing is lost.
      if (reply.raw.headersSent) {
        request.log.debug({ timeoutMs: ms }, 'the rest of an answered request\'s body did not arrive in time; closing the connection');
        return socket.destroy();
      }
      request.log.warn({ timeoutMs: ms }, 'request body not received in time; closing the connection');
      socket.end(TIMEOUT_RESPONSE);
      socket.destroySoon?.();
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
    frameworkErrors: (err, request, reply) => answerError(err, request, reply),
    // What Node's HTTP parser refuses (a bad request line, headers too large) gets a vendor-format answer too.
    clientErrorHandler: clientErrorHandler(options.logger),
    // Headers that never finish: Node's own headersTimeout. A body that never finishes: `bodyDeadline`.
    requestTimeout: options.requestTimeoutMs,
    ...(options.https && { https: { ...options.https, minVersion: 'TLSv1.2' as const } }),
  };
  const app = Fastify(serverOptions) as unknown as FastifyInstance;
  const methods = indexMethods(app);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'OpenProfiles: Profile API v2',
        version: '0.1.0',
        description: 'Customer profiles, wire-compatible with the IMIconnect / Webex Connect Profile API v2. Codes: docs/errors.md.',
      },
      // Relative: the document is served by the server it describes.
      servers: [{ url: '/', description: 'This server' }],
      components: { securitySchemes: { profileKey: { type: 'apiKey', in: 'header', name: 'key' } } },
      security: [{ profileKey: [] }],
    },
  });

  // Route schemas document the wire format; the domain validates with the vendor's codes.
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  // Every body is read as JSON whatever its content type (vendor clients are not all careful).
  app.removeAllContentTypeParsers();
  // Tenants take turns to have their bodies parsed and validated (validation follows the parse in
  // the same turn of the event loop), so one tenant's burst of large writes cannot hold the thread
  // while another's waits (see TenantTurns).
  const turns = new TenantTurns(options.tenantTurnBytes === 0 ? Infinity : (options.tenantTurnBytes ?? TURN_BODY_BYTES));
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

  app.setErrorHandler((err: FastifyError | ApiError | Error, request, reply) =>
    // A request with no route can fail before the not-found handler (a QUERY without content type).
    answerError(request.is404 ? unroutedError(methods, request, reply) : err, request, reply),
  );
  app.setNotFoundHandler((request, reply) => answerError(unroutedError(methods, request, reply), request, reply));

  app.addHook('onRequest', bodyDeadline(options.requestTimeoutMs));

  const m = services.metrics;
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    m.requests.inc({ route, method: request.method, status: reply.statusCode, code: reply.apiCode ?? '' });
    m.latency.observe({ route, method: request.method }, reply.elapsedTime / 1000);
  });

  opsRoutes(app, services);
  await app.register(
    async (api) => {
      api.addHook('onRequest', authenticator(services.directory, new RateLimiter(), options.rateLimitHoldMs));
      profileRoutes(api, services);
      appProfileRoutes(api, services);
      statusRoutes(api, services);
    },
    { prefix: API_PREFIX },
  );
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
    else if (code === 'FST_ERR_BAD_URL') apiError = new ApiError('7003', 'The URL is malformed');
    else if (code?.startsWith('FST_ERR_CTP_')) apiError = new ApiError('7000', err.message, [], status ?? 400);
    else if (status !== null) apiError = new ApiError('7905', err.message, [], status);
    else {
      request.log.error({ err }, 'internal error');
      apiError = new ApiError('7006', 'Internal error; quote the transid to the operator');
    }
  }
  // The code only: messages may quote the body, and logs never hold attribute values at info.
  if (apiError.httpStatus < 500) request.log.info({ code: apiError.code }, 'request refused');
  return sendError(reply, format, apiError, request.id, request.body);
}
