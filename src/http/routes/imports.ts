import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../../domain/errors.js';
import { IMPORT_FORMATS, type ImportFormat } from '../../model/import.js';
import type { Services } from '../context.js';
import { send } from '../replies.js';
import { sendContinue } from '../request-body.js';
import { pathParams, refusals } from '../schemas.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A bulk upload: its body may take as long as its size needs (no body deadline). */
    isUpload?: boolean;
  }
}

/** The extension API's paths (contract §10). */
export const IMPORTS_PREFIX = '/openprofiles/v1';

/** The body types an import takes, and the format each is. */
const MEDIA_TYPES: Record<string, ImportFormat> = { 'application/x-ndjson': 'ndjson', 'text/csv': 'csv' };

/** The form of an import's id (`describeImport`); any other id is no import, and is not looked up. */
const IMPORT_ID = /^imp_[0-9a-f]{32}$/;

const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

const rows = {
  type: 'object',
  required: ['total', 'applied', 'rejected', 'skipped'],
  additionalProperties: false,
  properties: {
    total: { type: 'integer', description: 'Rows of the file read so far (all of them once the import is finished)' },
    applied: { type: 'integer' },
    rejected: { type: 'integer', description: 'Refused by validation: listed by getImportRejects' },
    skipped: { type: 'integer', description: "Valid, not applied: the profile changed after the import started (7921), or the row's app was deleted (7018); see each transid's status" },
  },
};
const importAnswer = {
  description: 'The import: its state, its rows, and the transids of its write transactions so far (one per chunk, in order)',
  type: 'object',
  required: ['id', 'status', 'rows', 'transids'],
  additionalProperties: false,
  properties: {
    id: { type: 'string' },
    status: { type: 'string', enum: ['running', 'succeeded', 'partially_succeeded', 'failed'] },
    rows,
    transids: { type: 'array', items: { type: 'string', format: 'uuid' } },
    error: { type: 'string', description: 'Why a failed import failed' },
  },
};
const started = {
  description: 'The import is stored and runs (or, for the same content and arguments, the import already made)',
  type: 'object',
  required: ['id', 'status'],
  additionalProperties: false,
  properties: { id: { type: 'string' }, status: importAnswer.properties.status },
};
const idParam = pathParams({ id: { type: 'string', description: 'The id createImport answered (imp_…)' } });
const tags = ['Bulk data'];

/**
 * Bulk imports (docs/bulk-data.md, "Import"): createImport streams the body to a file and runs the
 * import in the server; getImport reports it; getImportRejects lists its refused rows. Another
 * tenant's import is not found (7920).
 */
export function importRoutes(app: FastifyInstance, services: Services): void {
  // The body is streamed to a file as it arrives: no size limit, nothing held in memory.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(Object.keys(MEDIA_TYPES), (_request, payload, done) => done(null, payload));
  app.addContentTypeParser('*', (request, _payload, done) =>
    done(new ApiError('7907', `Content-Type ${request.headers['content-type']} is not accepted: send application/x-ndjson or text/csv`), undefined),
  );
  app.addHook('preParsing', async (request, reply) => sendContinue(request, reply));

  app.post<{ Querystring: { format?: string; app?: string } }>(
    '/imports',
    {
      config: { isUpload: true },
      schema: {
        tags,
        summary: 'createImport',
        description:
          "Imports profiles from the body: profile documents (NDJSON) or CSV, as the export writes them; with `app`, that app's profiles. Answers at once; getImport follows it. Each row is validated as an API write; refused rows are listed by getImportRejects. The same content with the same arguments is the same import. docs/bulk-data.md",
        operationId: 'createImport',
        querystring: {
          type: 'object',
          properties: {
            format: { type: 'string', enum: IMPORT_FORMATS, description: 'Default: the Content-Type (text/csv is csv, application/x-ndjson ndjson)' },
            app: { type: 'string', minLength: 1, description: "The rows are this app's profiles (else 7018)" },
          },
        },
        body: { content: { 'application/x-ndjson': { schema: { type: 'string' } }, 'text/csv': { schema: { type: 'string' } } } },
        response: {
          202: started,
          ...refusals,
          400: { ...refusals[400], description: `7922 an unknown format, a format other than the Content-Type's, or no body; ${refusals[400].description}` },
          415: { ...refusals[415], description: '7907 a body other than application/x-ndjson or text/csv' },
        },
      },
    },
    async (request, reply) => {
      const ctx = request.tenantCtx!;
      const mediaType = (request.headers['content-type'] ?? '').split(';', 1)[0].trim().toLowerCase();
      const given = first(request.query.format);
      if (given !== undefined && !(IMPORT_FORMATS as readonly string[]).includes(given)) throw new ApiError('7922', `format takes ${IMPORT_FORMATS.join(' or ')}`);
      const format = (given as ImportFormat | undefined) ?? MEDIA_TYPES[mediaType];
      if (!(request.body instanceof Readable) || !format) throw new ApiError('7922', 'send the file as the body, as application/x-ndjson or text/csv');
      if (MEDIA_TYPES[mediaType] !== format) throw new ApiError('7922', `format ${format} differs from the Content-Type ${mediaType}`);
      const appid = first(request.query.app) ?? null;
      if (appid !== null && !services.directory.app(ctx.tenant.id, appid)) throw new ApiError('7018', `The tenant has no app ${appid}`);
      return send(reply, 202, '1000', await services.imports.upload(ctx.tenant.id, request.body, format, appid));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/imports/:id',
    { schema: { tags, summary: 'getImport', description: 'An import of the tenant: 7920 (HTTP 404) for any other id.', operationId: 'getImport', params: idParam, response: { 200: importAnswer, ...refusals } } },
    async (request, reply) => {
      const summary = IMPORT_ID.test(request.params.id) ? await services.imports.get(request.tenantCtx!.tenant.id, request.params.id) : null;
      if (!summary) throw new ApiError('7920', `The tenant has no import ${request.params.id}`);
      return send(reply, 200, '1000', summary);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/imports/:id/rejects',
    {
      schema: {
        tags,
        summary: 'getImportRejects',
        description: 'The rows validation refused, in line order, one JSON object a line: `{"line","code","errors":[{"attribute","reason"}],"raw"}`. 7920 (HTTP 404) for an id not of the tenant.',
        operationId: 'getImportRejects',
        params: idParam,
        response: { 200: { description: 'NDJSON, one reject a line', content: { 'application/x-ndjson': { schema: { type: 'string' } } } }, ...refusals },
      },
    },
    async (request, reply) => {
      const pages = IMPORT_ID.test(request.params.id) ? await services.imports.rejects(request.tenantCtx!.tenant.id, request.params.id) : null;
      if (!pages) throw new ApiError('7920', `The tenant has no import ${request.params.id}`);
      reply.header('content-type', 'application/x-ndjson');
      return send(
        reply,
        200,
        '1000',
        Readable.from(
          (async function* lines() {
            for await (const page of pages) yield page.map((r) => `${JSON.stringify(r)}\n`).join('');
          })(),
        ),
      );
    },
  );
}
