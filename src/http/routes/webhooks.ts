import type { FastifyInstance } from 'fastify';
import { ApiError } from '../../domain/errors.js';
import { ATTEMPT_PAGE } from '../../changes/webhook-endpoints.js';
import type { Services } from '../context.js';
import { send } from '../replies.js';
import { webhookSchemas } from '../webhook-schemas.js';

type Query = Record<string, string | string[] | undefined>;
type Body = Record<string, unknown> | undefined;

const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

function limitOf(query: Query): number {
  const text = first(query.limit);
  if (text === undefined) return ATTEMPT_PAGE.defaultLimit;
  const n = /^\d{1,4}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= ATTEMPT_PAGE.maxLimit)) throw new ApiError('7003', `limit must be an integer from 1 to ${ATTEMPT_PAGE.maxLimit}`);
  return n;
}

/** Webhook endpoints of the key's tenant (docs/changes.md, "Webhooks"). */
export function webhookRoutes(app: FastifyInstance, { webhooks }: Services): void {
  const tags = ['Webhooks'];
  const tenantOf = (request: { tenantCtx?: { tenant: { id: number } } }) => request.tenantCtx!.tenant.id;

  app.post<{ Body: Body }>('/webhooks', { schema: { tags, ...webhookSchemas.create } }, async (request, reply) => {
    const body = request.body ?? {};
    return send(reply, 201, '1000', await webhooks.add(tenantOf(request), { url: body.url, types: body.types }));
  });

  app.get('/webhooks', { schema: { tags, ...webhookSchemas.list } }, async (request, reply) => send(reply, 200, '1000', { data: await webhooks.list(tenantOf(request)) }));

  app.delete<{ Params: { id: string } }>('/webhooks/:id', { schema: { tags, ...webhookSchemas.remove } }, async (request, reply) => {
    await webhooks.remove(tenantOf(request), request.params.id);
    return send(reply, 204, '1000', undefined);
  });

  app.post<{ Params: { id: string } }>('/webhooks/:id/enable', { schema: { tags, ...webhookSchemas.enable } }, async (request, reply) =>
    send(reply, 200, '1000', await webhooks.enable(tenantOf(request), request.params.id)),
  );

  app.get<{ Params: { id: string }; Querystring: Query }>('/webhooks/:id/attempts', { schema: { tags, ...webhookSchemas.attempts } }, async (request, reply) => {
    const page = { cursor: first(request.query.cursor), limit: limitOf(request.query) };
    return send(reply, 200, '1000', await webhooks.attempts(tenantOf(request), request.params.id, page));
  });

  app.post<{ Params: { id: string }; Body: Body }>('/webhooks/:id/resend', { schema: { tags, ...webhookSchemas.resend } }, async (request, reply) =>
    send(reply, 202, '1000', await webhooks.resend(tenantOf(request), request.params.id, (request.body ?? {}).eventId)),
  );
}
