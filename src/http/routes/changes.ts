import type { FastifyInstance } from 'fastify';
import { parseFeedQuery } from '../../changes/feed.js';
import type { Services } from '../context.js';
import { changesQuery, changesResponses } from '../changes-schemas.js';
import { send } from '../replies.js';

/** The change feed (docs/changes.md): readChanges. */
export function changeRoutes(app: FastifyInstance, { changes }: Services): void {
  app.get<{ Querystring: Record<string, string | string[] | undefined> }>(
    '/changes',
    {
      schema: {
        tags: ['Change events'],
        summary: 'readChanges',
        description: "The tenant's change events after a cursor, in apply order for each customer; long-polled with `wait`. docs/changes.md",
        operationId: 'readChanges',
        querystring: changesQuery,
        response: changesResponses,
      },
    },
    async (request, reply) => {
      const page = await changes.read(request.tenantCtx!.tenant.id, parseFeedQuery(request.query));
      reply.header('content-type', 'application/json; charset=utf-8');
      return send(reply, 200, '1000', page.json);
    },
  );
}
