import type { FastifyInstance } from 'fastify';
import type { Services } from '../context.js';
import { send, statusBody } from '../replies.js';
import { pathParams, statusResponses } from '../schemas.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** getProfileStatus (contract §7). Another tenant's transid reads as unknown. */
export function statusRoutes(app: FastifyInstance, { status }: Services): void {
  app.get<{ Params: { transid: string } }>(
    '/profile/status/:transid',
    {
      schema: {
        tags: ['Status'],
        summary: 'getProfileStatus',
        operationId: 'getProfileStatus',
        params: pathParams({ transid: { type: 'string', description: 'The transid of a write; any other text reads as unknown (7600)' } }),
        response: statusResponses,
      },
    },
    async (request, reply) => {
      const { transid } = request.params;
      const found = UUID.test(transid) ? await status.get(request.tenantCtx!.tenant.id, transid.toLowerCase()) : null;
      const { code, body } = statusBody(transid, found);
      return send(reply, 200, code, body);
    },
  );
}
