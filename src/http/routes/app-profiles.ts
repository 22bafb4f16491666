import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TenantContext } from '../../domain/directory.js';
import { ApiError } from '../../domain/errors.js';
import { parseIds } from '../../domain/write-requests.js';
import type { App } from '../../model/directory.js';
import type { Services } from '../context.js';
import { sendRead } from '../replies.js';
import { appidParam, appQuery, appSelector, pathIdSchema, pathParams, readResponses, writeBody, writeHeaders, writeResponses } from '../schemas.js';
import { handleWrite } from '../write-handler.js';

type AppQuery = { customerId?: string | string[]; identifier?: string | string[] };

/** App profiles per channel: getAppProfile, create, update, deleteAppProfile, deleteDevice (contract §2). */
export function appProfileRoutes(app: FastifyInstance, { directory, reader, acceptor, status }: Services): void {
  const tags = ['App profiles'];

  /** The tenant's app named in the path; 7018 for an unknown appid or another tenant's. */
  const appOf = (request: FastifyRequest<{ Params: { appid: string } }>): { ctx: TenantContext; app: App } => {
    const ctx = request.tenantCtx!;
    const found = directory.app(ctx.tenant.id, request.params.appid);
    if (!found) throw new ApiError('7018', `appid ${request.params.appid} is not an app of this tenant`);
    return { ctx, app: found };
  };

  /** `?identifier=` (one userId) or `?customerId=` (repeatable). */
  const selector = (ctx: TenantContext, query: AppQuery): { userId: string } | { customerIds: string[] } =>
    query.identifier !== undefined
      ? { userId: parseIds(Array.isArray(query.identifier) ? query.identifier[0] : query.identifier, 'identifier', 1)[0] }
      : { customerIds: parseIds(query.customerId, 'customerId', ctx.tenant.settings.batchLimit) };

  const appPath = pathParams({ appid: appidParam });
  const appCustomerPath = pathParams({ appid: appidParam, customerId: pathIdSchema('The customer') });

  app.get<{ Params: { appid: string; customerId: string } }>(
    '/customerappprofile/:appid/:customerId',
    { schema: { tags, summary: 'getAppProfile', operationId: 'getAppProfile', params: appCustomerPath, response: readResponses } },
    async (request, reply) => {
      const { ctx, app: target } = appOf(request);
      const ids = parseIds(request.params.customerId, 'customerId', 1);
      const { records } = await reader.readAppsByCustomer(ctx, target, ids);
      if (records.length === 0) throw new ApiError('7014', `No app profile for customerId ${ids[0]} in app ${target.appid}`);
      return sendRead(reply, request.id, records);
    },
  );

  app.get<{ Params: { appid: string }; Querystring: AppQuery }>(
    '/customerappprofile/:appid',
    {
      schema: {
        tags,
        summary: 'getAppProfile (many, or by identifier)',
        operationId: 'getAppProfiles',
        params: appPath,
        querystring: appQuery,
        ...appSelector,
        response: readResponses,
      },
    },
    async (request, reply) => {
      const { ctx, app: target } = appOf(request);
      const which = selector(ctx, request.query);
      if ('userId' in which) return sendRead(reply, request.id, await reader.readAppsByUserId(ctx, target, which.userId));
      const { records, notFound } = await reader.readAppsByCustomer(ctx, target, which.customerIds);
      return sendRead(reply, request.id, records, notFound);
    },
  );

  app.post<{ Params: { appid: string } }>(
    '/customerappprofile/:appid',
    { schema: { tags, summary: 'createAppProfile', operationId: 'createAppProfile', headers: writeHeaders, params: appPath, body: writeBody, response: writeResponses } },
    (request, reply) =>
      handleWrite(acceptor, status, request, reply, { operation: 'createAppProfile', appid: request.params.appid, body: request.body }),
  );

  // The seed's path and the newer docs' path: one operation, two operationIds.
  for (const [path, operationId] of [
    ['/customerprofiles/:appid', 'updateAppProfile'],
    ['/customerappprofile/:appid', 'updateCustomerAppProfile'],
  ]) {
    app.put<{ Params: { appid: string } }>(
      path,
      { schema: { tags, summary: 'updateAppProfile', operationId, headers: writeHeaders, params: appPath, body: writeBody, response: writeResponses } },
      (request, reply) =>
        handleWrite(acceptor, status, request, reply, { operation: 'updateAppProfile', appid: request.params.appid, body: request.body }),
    );
  }

  app.delete<{ Params: { appid: string; customerId: string } }>(
    '/customerappprofile/:appid/:customerId',
    { schema: { tags, summary: 'deleteAppProfile', operationId: 'deleteAppProfile', headers: writeHeaders, params: appCustomerPath, response: writeResponses } },
    (request, reply) => {
      const { app: target } = appOf(request);
      const ids = parseIds(request.params.customerId, 'customerId', 1);
      return handleWrite(acceptor, status, request, reply, {
        operation: 'deleteAppProfile',
        appid: target.appid,
        records: ids.map((customerId) => ({ customerId })),
      });
    },
  );

  app.delete<{ Params: { appid: string }; Querystring: AppQuery }>(
    '/customerappprofile/:appid',
    {
      schema: {
        tags,
        summary: 'deleteAppProfile (many, or by identifier)',
        operationId: 'deleteAppProfiles',
        headers: writeHeaders,
        params: appPath,
        querystring: appQuery,
        ...appSelector,
        response: writeResponses,
      },
    },
    (request, reply) => {
      const { ctx, app: target } = appOf(request);
      const which = selector(ctx, request.query);
      const records = 'userId' in which ? [{ userId: which.userId }] : which.customerIds.map((customerId) => ({ customerId }));
      return handleWrite(acceptor, status, request, reply, { operation: 'deleteAppProfile', appid: target.appid, records });
    },
  );

  app.delete<{ Params: { appid: string; customerId: string; deviceId: string } }>(
    '/customerappprofile/:appid/:customerId/:deviceId',
    {
      schema: {
        tags,
        summary: 'deleteDeviceAppProfile',
        operationId: 'deleteDeviceAppProfile',
        headers: writeHeaders,
        params: pathParams({ appid: appidParam, customerId: pathIdSchema('The customer, or a userId'), deviceId: pathIdSchema('The device') }),
        response: writeResponses,
      },
    },
    (request, reply) => {
      const { app: target } = appOf(request);
      const [customerId] = parseIds(request.params.customerId, 'customerIdOrUserId', 1);
      const [deviceId] = parseIds(request.params.deviceId, 'deviceId', 1);
      return handleWrite(acceptor, status, request, reply, { operation: 'deleteDevice', appid: target.appid, records: [{ customerId, deviceId }] });
    },
  );
}
