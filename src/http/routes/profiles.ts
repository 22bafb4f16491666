import type { FastifyInstance } from 'fastify';
import { ApiError } from '../../domain/errors.js';
import type { InwardLinkLevel } from '../../domain/profile-reads.js';
import { parseIds } from '../../domain/write-requests.js';
import type { Services } from '../context.js';
import { sendRead } from '../replies.js';
import { cascade, customerIdsQuery, pathIdSchema, LINK_LEVELS, pathParams, readResponses, showInwardLinks, writeBody, writeHeaders, writeResponses } from '../schemas.js';
import { handleWrite } from '../write-handler.js';

type IdQuery = { customerId?: string | string[]; showinwardlinks?: string | string[]; cascade?: string | string[] };

const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

function linkLevel(value: string | string[] | undefined): InwardLinkLevel {
  const text = first(value) ?? '0';
  if (!(LINK_LEVELS as readonly string[]).includes(text)) throw new ApiError('7003', 'showinwardlinks must be 0, 1 or 2');
  return Number(text) as InwardLinkLevel;
}

const isCascade = (value: string | string[] | undefined) => ['1', 'true'].includes(first(value) ?? '');

const customerIdPath = pathParams({ customerId: pathIdSchema('The customer') });

/** Master profiles: getProfile, createProfile, updateProfile, deleteProfile (contract §2). */
export function profileRoutes(app: FastifyInstance, { reader, acceptor, status }: Services): void {
  const tags = ['Master profiles'];

  app.get<{ Params: { customerId: string }; Querystring: IdQuery }>(
    '/customerprofile/:customerId',
    {
      schema: {
        tags,
        summary: 'getProfile',
        operationId: 'getProfile',
        params: customerIdPath,
        querystring: { type: 'object', properties: { showinwardlinks: showInwardLinks } },
        response: readResponses,
      },
    },
    async (request, reply) => {
      const ctx = request.tenantCtx!;
      const [id] = parseIds(request.params.customerId, 'customerId', 1);
      const { records } = await reader.readMasters(ctx, [id], linkLevel(request.query.showinwardlinks));
      if (records.length === 0) throw new ApiError('7014', `No profile for customerId ${id}`);
      return sendRead(reply, request.id, records);
    },
  );

  app.get<{ Querystring: IdQuery }>(
    '/customerprofile',
    {
      schema: {
        tags,
        summary: 'getProfile (many)',
        operationId: 'getProfiles',
        querystring: customerIdsQuery({ showinwardlinks: showInwardLinks }),
        response: readResponses,
      },
    },
    async (request, reply) => {
      const ctx = request.tenantCtx!;
      const ids = parseIds(request.query.customerId, 'customerId', ctx.tenant.settings.batchLimit);
      const { records, notFound } = await reader.readMasters(ctx, ids, linkLevel(request.query.showinwardlinks));
      return sendRead(reply, request.id, records, notFound);
    },
  );

  app.post(
    '/customerprofile',
    { schema: { tags, summary: 'createProfile', operationId: 'createProfile', headers: writeHeaders, body: writeBody, response: writeResponses } },
    (request, reply) => handleWrite(acceptor, status, request, reply, { operation: 'createProfile', appid: null, body: request.body }),
  );

  app.put(
    '/customerprofile',
    { schema: { tags, summary: 'updateProfile', operationId: 'updateProfile', headers: writeHeaders, body: writeBody, response: writeResponses } },
    (request, reply) => handleWrite(acceptor, status, request, reply, { operation: 'updateProfile', appid: null, body: request.body }),
  );

  app.delete<{ Params: { customerId: string }; Querystring: IdQuery }>(
    '/customerprofile/:customerId',
    {
      schema: {
        tags,
        summary: 'deleteProfile',
        operationId: 'deleteProfile',
        headers: writeHeaders,
        params: customerIdPath,
        querystring: { type: 'object', properties: { cascade } },
        response: writeResponses,
      },
    },
    (request, reply) => {
      const ids = parseIds(request.params.customerId, 'customerId', 1);
      return handleWrite(acceptor, status, request, reply, {
        operation: 'deleteProfile',
        appid: null,
        records: ids.map((customerId) => ({ customerId })),
        isCascade: isCascade(request.query.cascade),
      });
    },
  );

  app.delete<{ Querystring: IdQuery }>(
    '/customerprofile',
    {
      schema: {
        tags,
        summary: 'deleteProfile (many)',
        operationId: 'deleteProfiles',
        headers: writeHeaders,
        querystring: customerIdsQuery({ cascade }),
        response: writeResponses,
      },
    },
    (request, reply) => {
      const ids = parseIds(request.query.customerId, 'customerId', request.tenantCtx!.tenant.settings.batchLimit);
      return handleWrite(acceptor, status, request, reply, {
        operation: 'deleteProfile',
        appid: null,
        records: ids.map((customerId) => ({ customerId })),
        isCascade: isCascade(request.query.cascade),
      });
    },
  );
}
