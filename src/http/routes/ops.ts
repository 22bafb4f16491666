import type { FastifyInstance } from 'fastify';
import type { Services } from '../app.js';

/** Operations endpoints: liveness, readiness, Prometheus metrics, the OpenAPI document. */
export function opsRoutes(app: FastifyInstance, { storage, metrics, lifecycle, acceptor }: Services): void {
  const tags = ['Operations'];

  app.get('/healthz', { schema: { tags, summary: 'Liveness: the process answers' } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { tags, summary: 'Readiness: the store answers, writes are taken, and the server is not shutting down' } }, async (_request, reply) => {
    if (lifecycle.isShuttingDown) return reply.code(503).send({ status: 'shutting down' });
    if (!acceptor.canAccept) return reply.code(503).send({ status: 'writer restarting' });
    try {
      await storage.configVersion();
      return { status: 'ready' };
    } catch (err) {
      reply.log.warn({ err }, 'readiness check: the store does not answer');
      return reply.code(503).send({ status: 'store unavailable' });
    }
  });

  app.get('/metrics', { schema: { tags, summary: 'Prometheus metrics' } }, async (_request, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  app.get('/openapi.json', { schema: { tags, summary: 'This OpenAPI 3.1 document' } }, async () => app.swagger());
}
