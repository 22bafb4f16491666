import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { CONTENT_TYPES, EXPORT_FORMATS, type ExportFormat, exportTenant } from '../../bulk/export.js';
import { parseListingQuery, ProfileListing } from '../../bulk/listing.js';
import { ApiError } from '../../domain/errors.js';
import type { Services } from '../context.js';
import { exportQuery, exportResponses, LISTING_DESCRIPTION, listingQuery, listingResponses } from '../bulk-schemas.js';
import { send } from '../replies.js';

type Query = Record<string, string | string[] | undefined>;

const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

/** The chunks of `rest` after `head`, which was taken already. */
async function* resumed(head: IteratorResult<string>, rest: AsyncGenerator<string>): AsyncGenerator<string> {
  if (head.done) return;
  yield head.value;
  yield* rest;
}

/** Bulk data out (docs/bulk-data.md): listProfiles (listing and find by value) and exportProfiles. */
export function bulkRoutes(app: FastifyInstance, { directory, profileScan }: Services): void {
  const tags = ['Bulk data'];
  const listing = new ProfileListing(profileScan, directory);

  app.get<{ Querystring: Query }>(
    '/profiles',
    { schema: { tags, summary: 'listProfiles', description: LISTING_DESCRIPTION, operationId: 'listProfiles', querystring: listingQuery, response: listingResponses } },
    async (request, reply) => {
      const ctx = request.tenantCtx!;
      return send(reply, 200, '1000', await listing.list(ctx, parseListingQuery(ctx, request.query)));
    },
  );

  app.get<{ Querystring: Query }>(
    '/export',
    {
      schema: {
        tags,
        summary: 'exportProfiles',
        description: "The tenant's profiles from one consistent snapshot, streamed: NDJSON or CSV, all customers or one app's app profiles. docs/bulk-data.md",
        operationId: 'exportProfiles',
        querystring: exportQuery,
        response: exportResponses,
      },
    },
    async (request, reply) => {
      const ctx = request.tenantCtx!;
      const format = (first(request.query.format) ?? 'ndjson') as ExportFormat;
      if (!EXPORT_FORMATS.includes(format)) throw new ApiError('7003', `format takes ${EXPORT_FORMATS.join(' or ')}`);
      const appid = first(request.query.app);
      const app = appid === undefined ? null : directory.app(ctx.tenant.id, appid);
      if (appid !== undefined && !app) throw new ApiError('7018', `The tenant has no app ${appid}`);
      const chunks = exportTenant(profileScan, directory, { tenantId: ctx.tenant.id, format, app });
      // The snapshot opens with the first chunk: a store that cannot serve is still answered as an error, not a cut stream.
      const head = await chunks.next();
      reply.header('content-type', CONTENT_TYPES[format]);
      reply.header('content-disposition', `attachment; filename="${ctx.tenant.name}${app ? `-${app.appid}` : ''}.${format}"`);
      // Readable.from asks for the next chunk only when the client has taken the last (backpressure).
      return send(reply, 200, '1000', Readable.from(resumed(head, chunks)));
    },
  );
}
