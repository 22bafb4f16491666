import type { FastifyInstance } from 'fastify';
import type { Services } from '../context.js';
import { opsRefusals, serviceState } from '../schemas.js';

/** Operations endpoints: liveness, readiness, Prometheus metrics, the OpenAPI document. None takes a key. */
export function opsRoutes(app: FastifyInstance, { store, metrics, lifecycle, acceptor }: Services): void {
  const common = { tags: ['Operations'], security: [] };

  app.get(
    '/healthz',
    { schema: { ...common, summary: 'Liveness: the process answers', operationId: 'health', response: { 200: serviceState('ok'), ...opsRefusals } } },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        ...common,
        summary: 'Readiness: the store answers, writes are taken, and the server is not shutting down',
        operationId: 'ready',
        response: { 200: serviceState('ready'), ...opsRefusals, 503: serviceState('shutting down, committer restarting or store unavailable') },
      },
    },
    async (_request, reply) => {
      if (lifecycle.isShuttingDown) return reply.code(503).send({ status: 'shutting down' });
      if (!acceptor.canAccept) return reply.code(503).send({ status: 'committer restarting' });
      try {
        await store.configVersion();
        return { status: 'ready' };
      } catch (err) {
        reply.log.warn({ err }, 'readiness check: the store does not answer');
        return reply.code(503).send({ status: 'store unavailable' });
      }
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        ...common,
        summary: 'Prometheus metrics',
        operationId: 'metrics',
        response: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } }, ...opsRefusals },
      },
    },
    async (_request, reply) => {
      reply.header('content-type', metrics.registry.contentType);
      return metrics.registry.metrics();
    },
  );

  app.get(
    '/openapi.json',
    {
      schema: {
        ...common,
        summary: 'This OpenAPI 3.1 document',
        operationId: 'openapi',
        response: { 200: { description: 'OpenAPI 3.1', type: 'object', required: ['openapi', 'paths'], additionalProperties: true }, ...opsRefusals },
      },
    },
    async () => app.swagger(),
  );
}
