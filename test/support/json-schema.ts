import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import formatsModule from 'ajv-formats';
import pino from 'pino';
import { buildApp } from '../../src/http/app.js';
import type { Services } from '../../src/http/context.js';

/**
 * The OpenAPI document as data, and its schemas as validators (ajv, JSON Schema 2020-12 as
 * OpenAPI 3.1 uses): which operation a request reaches, and whether an answer is one the
 * document gives for it.
 */

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema: Record<string, unknown>;
}

export interface Response {
  description: string;
  content?: Record<string, { schema: object }>;
  $ref?: string;
}

export interface Operation {
  operationId: string;
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: object }> };
  responses: Record<string, Response>;
  'x-first-of'?: string[];
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components: { responses: Record<string, Response> };
}

// ajv-formats is CommonJS: its default export is the module, whose `default` is the plugin.
const addFormats = ((formatsModule as unknown as { default?: typeof formatsModule }).default ?? formatsModule) as unknown as (ajv: Ajv2020) => void;

export function newAjv(): Ajv2020 {
  // Not strict: OpenAPI adds annotations (`example`, `x-…`) that JSON Schema does not define.
  const ajv = new Ajv2020({ strict: false, allErrors: false });
  addFormats(ajv);
  return ajv;
}

/** Where a problem's sample of the body starts. */
export const BODY = ' — body: ';

/** `/a/{b}` as a pattern matching a request path (without its query). */
const pathPattern = (template: string) => new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]*')}$`);

/** Where a request goes in the document: its path template and operation, or the path's other methods. */
export interface Target {
  path: string;
  operation: Operation | null;
}

/** A document's operations and validators, compiled once. */
export class DocumentedApi {
  private readonly ajv = newAjv();
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly patterns: Array<{ path: string; pattern: RegExp }>;

  constructor(readonly doc: OpenApiDocument) {
    this.patterns = Object.keys(doc.paths).map((path) => ({ path, pattern: pathPattern(path) }));
  }

  /** The operation `method url` reaches; `operation: null` when the path has others only; null when no path matches. */
  target(method: string, url: string): Target | null {
    const path = url.split('?', 1)[0];
    // A static path is preferred over a template, as the router prefers it.
    const matches = this.patterns.filter((p) => p.pattern.test(path)).sort((a, b) => a.path.split('{').length - b.path.split('{').length);
    if (matches.length === 0) return null;
    const verb = (method === 'HEAD' ? 'GET' : method).toLowerCase();
    const found = matches.find((m) => this.doc.paths[m.path][verb]);
    return found ? { path: found.path, operation: this.doc.paths[found.path][verb] } : { path: matches[0].path, operation: null };
  }

  /** A response, its `$ref` (to components.responses) followed. */
  resolve(response: Response): Response {
    if (!response.$ref) return response;
    const name = response.$ref.replace('#/components/responses/', '');
    const shared = this.doc.components.responses[name];
    if (!shared) throw new Error(`${response.$ref}: no such shared response`);
    return shared;
  }

  /** A validator of `schema`, compiled once under `key`. */
  validator(key: string, schema: object): ValidateFunction {
    let validate = this.validators.get(key);
    if (!validate) this.validators.set(key, (validate = this.ajv.compile(schema)));
    return validate;
  }

  /** The errors of a validator's last run, as one line. */
  errorsText(validate: ValidateFunction): string {
    return this.ajv.errorsText(validate.errors, { separator: '; ' });
  }

  /**
   * Why an answer is not one the document gives for `method url`, or null: its status is listed
   * for the operation (or, on a path no operation has, 404/405 as the shared responses say), its
   * Content-Type is one that status documents, and its body validates against that schema.
   */
  answerProblem(method: string, url: string, status: number, contentType: string | undefined, body: string): string | null {
    const target = this.target(method, url);
    const name = target?.operation ? `${method} ${target.path} (${target.operation.operationId})` : `${method} ${url.split('?', 1)[0]} (no operation)`;
    let response: Response | undefined;
    if (target?.operation) response = target.operation.responses[String(status)];
    else if (status === 404) response = this.doc.components.responses.notFound;
    else if (status === 405) response = this.doc.components.responses.methodNotAllowed;
    else if (status >= 400) response = this.doc.components.responses.notFound;
    if (!response) return `${name} answered ${status}, which the document does not list`;
    response = this.resolve(response);
    // HEAD answers carry no body; its headers are the GET's.
    if (method === 'HEAD') return null;
    const content = response.content ?? {};
    const mediaType = (contentType ?? '').split(';', 1)[0].trim().toLowerCase();
    if (Object.keys(content).length === 0) return body === '' ? null : `${name} answered ${status} with a body; the document gives none`;
    const media = content[mediaType];
    if (!media) return `${name} answered ${status} as ${mediaType || 'no Content-Type'}; the document gives ${Object.keys(content).join(', ')}`;
    let value: unknown = body;
    // JSON: application/json and application/*+json (not NDJSON, which is lines of JSON: a string to its schema).
    if (mediaType === 'application/json' || mediaType.endsWith('+json')) {
      try {
        value = JSON.parse(body);
      } catch {
        return `${name} answered ${status} with a body that is not JSON${BODY}${body.slice(0, 120)}`;
      }
    }
    const validate = this.validator(`${target?.path ?? ''} ${method} ${status} ${mediaType}`, media.schema);
    if (validate(value)) return null;
    const errors = this.errorsText(validate);
    return `${name} answered ${status} with a body its schema does not take (${errors})${BODY}${body.slice(0, 200)}`;
  }
}

let built: Promise<DocumentedApi> | null = null;

/**
 * The document this checkout's server serves, built from the same route schemas without a store
 * (its routes are never called): for checking answers of servers run as processes.
 */
export function builtDocument(): Promise<DocumentedApi> {
  built ??= (async () => {
    const noMetrics = { noteAnswer: () => undefined };
    const app = await buildApp({ metrics: noMetrics } as unknown as Services, {
      logger: pino({ level: 'silent' }),
      bodyLimit: 1 << 20,
      trustProxy: [],
      https: null,
      requestTimeoutMs: 10_000,
      rateLimitHoldMs: 0,
    });
    await app.ready();
    const doc = app.swagger() as unknown as OpenApiDocument;
    await app.close();
    return new DocumentedApi(doc);
  })();
  return built;
}
