import fc from 'fast-check';
import type { DocumentedApi, Operation, Parameter } from './json-schema.js';

/**
 * Requests made from the OpenAPI document: values of each parameter and of the body generated
 * from their schemas (fast-check), valid or made invalid on purpose, and how the document itself
 * classifies a request (`requestProblems`), so that a test never takes a request's validity on
 * the generator's word.
 */

type Schema = Record<string, any>;

/** A request as the document sees it: its operation (path template, method), each parameter's value (an array for an array schema), and the body. */
export interface DocumentedRequest {
  method: string;
  path: string;
  params: Record<string, string | string[] | undefined>;
  /** Parameters other operations take and this one does not list: the document says it does not read them. */
  unlisted: Array<{ in: 'query' | 'header'; name: string; value: string }>;
  /** The body, as JSON text; undefined for none. */
  body?: string;
}

/** Values tests want to appear among the generated ones (a tenant's appids, stored customerIds), by parameter name. */
export type Known = Record<string, string[]>;

const hasSurrogate = (s: string) => /\p{Surrogate}/u.test(s);
const HEADER_TEXT = /^[\x21-\x7e](?:[\x20-\x7e]{0,30}[\x21-\x7e])?$/;
/** What a header can carry as it is: visible ASCII and inner spaces. */
const isSendable = (s: string) => /^[\x20-\x7e]*$/.test(s) && s.trim() === s && s !== '';

/** Valid values of `schema` (as the document's validator says), for the keywords the document uses. */
export function valuesOf(api: DocumentedApi, schema: Schema, key: string, options: { isHeader?: boolean } = {}): fc.Arbitrary<unknown> {
  const validate = api.validator(`generate ${key}`, schema);
  return candidates(schema, options).filter((value) => validate(value));
}

function candidates(schema: Schema, options: { isHeader?: boolean }): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...(schema.enum as unknown[]));
  if (schema.anyOf || schema.oneOf) return fc.oneof(...((schema.anyOf ?? schema.oneOf) as Schema[]).map((s) => candidates(s, options)));
  const types: string[] = Array.isArray(schema.type) ? schema.type : [schema.type ?? 'string'];
  return fc.oneof(...types.map((type) => ofType(type, schema, options)));
}

function ofType(type: string, schema: Schema, options: { isHeader?: boolean }): fc.Arbitrary<unknown> {
  switch (type) {
    case 'string': {
      if (options.isHeader) return fc.stringMatching(schema.pattern ? new RegExp(schema.pattern) : HEADER_TEXT).filter(isSendable);
      const maxLength = Math.min(schema.maxLength ?? 40, 40);
      const any = fc.string({ unit: 'binary', minLength: schema.minLength ?? 0, maxLength }).filter((s) => !hasSurrogate(s));
      const choices = [any];
      if (schema.pattern) choices.push(fc.stringMatching(new RegExp(schema.pattern, 'u')));
      // At the length limit, in code points of one, two and four UTF-8 bytes.
      if (schema.maxLength !== undefined) choices.push(fc.string({ unit: fc.constantFrom('a', 'é', '\u{1F600}'), minLength: Math.max(schema.maxLength - 1, 0), maxLength: schema.maxLength }));
      return fc.oneof(...choices);
    }
    case 'integer': {
      // A long poll's seconds (`x-long-poll`): at most 1, so that a generated request holds the test back a second at most.
      const max = schema['x-long-poll'] === true ? Math.min(schema.maximum ?? 1, 1) : Math.min(schema.maximum ?? 1e9, 1e9);
      return fc.integer({ min: Math.max(schema.minimum ?? -1e9, -1e9), max });
    }
    case 'number':
      return fc.double({ noNaN: true, noDefaultInfinity: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      const items = schema.items ? candidates(schema.items, options) : fc.string();
      return fc.array(items, { minLength: schema.minItems ?? 0, maxLength: Math.min(schema.maxItems ?? 4, 4) });
    }
    case 'object': {
      const properties: Record<string, Schema> = schema.properties ?? {};
      const known = fc.record(
        Object.fromEntries(Object.entries(properties).map(([name, s]) => [name, candidates(s, options)])),
        { requiredKeys: schema.required ?? [] },
      );
      if (!schema.additionalProperties || schema.additionalProperties === true) return known;
      const names = schema.propertyNames?.pattern ? fc.stringMatching(new RegExp(schema.propertyNames.pattern)) : fc.string();
      const extra = fc.dictionary(names, candidates(schema.additionalProperties, options), { maxKeys: 4 });
      return fc.tuple(known, extra).map(([k, e]) => ({ ...e, ...k }));
    }
    default:
      throw new Error(`no generator for type ${type}`);
  }
}

const paramsOf = (operation: Operation): Parameter[] => operation.parameters ?? [];
export const operationOf = (api: DocumentedApi, request: DocumentedRequest): Operation => api.doc.paths[request.path][request.method];
const bodySchema = (operation: Operation): Schema | undefined => operation.requestBody?.content['application/json']?.schema as Schema | undefined;

/** Valid requests to one operation: every required parameter, some optional ones, known values mixed in. */
export function validRequests(api: DocumentedApi, path: string, method: string, known: Known): fc.Arbitrary<DocumentedRequest> {
  const operation = api.doc.paths[path][method];
  const firstOf = operation['x-first-of'] ?? [];
  const values: Record<string, fc.Arbitrary<string | string[] | undefined>> = {};
  for (const p of paramsOf(operation)) {
    const generated = valuesOf(api, p.schema, `${operation.operationId} ${p.in} ${p.name}`, { isHeader: p.in === 'header' }) as fc.Arbitrary<string | string[]>;
    const knownValues = known[p.name] ?? [];
    const isArray = p.schema.type === 'array';
    const fromKnown = knownValues.length > 0 ? [fc.constantFrom(...knownValues).map((v) => (isArray ? [v] : v))] : [];
    const value = fc.oneof({ arbitrary: generated, weight: 1 }, ...fromKnown.map((a) => ({ arbitrary: a, weight: 2 })));
    values[p.name] = p.required ? value : fc.option(value, { nil: undefined });
  }
  const body = bodySchema(operation);
  // Every query or header parameter of the document this operation does not list, with a value its schema refuses.
  const listed = new Set(paramsOf(operation).map((p) => `${p.in} ${p.name}`));
  const unlisted = Object.values(api.doc.paths)
    .flatMap((ops) => Object.values(ops))
    .flatMap(paramsOf)
    .filter((p) => (p.in === 'query' || p.in === 'header') && !listed.has(`${p.in} ${p.name}`))
    .flatMap((p) =>
      invalidValues(p.schema)
        .flat()
        .filter((v): v is string => typeof v === 'string' && (p.in === 'query' || isSendable(v)))
        .map((value) => ({ in: p.in as 'query' | 'header', name: p.name, value })),
    );
  return fc
    .record({
      unlisted: unlisted.length > 0 ? fc.subarray(unlisted, { maxLength: 3 }) : fc.constant([] as typeof unlisted),
      params: fc.record(values),
      body: body ? (valuesOf(api, body, `${operation.operationId} body`) as fc.Arbitrary<unknown>).map((b) => JSON.stringify(b)) : fc.constant(undefined),
      // One of the `x-first-of` parameters, so that the request names what it reads.
      selector: firstOf.length > 0 ? fc.constantFrom(...firstOf) : fc.constant(undefined),
    })
    .map(({ unlisted: extra, params, body: text, selector }) => {
      if (selector !== undefined) {
        for (const name of firstOf) if (name !== selector) params[name] = undefined;
        params[selector] ??= known[selector]?.[0] ?? 'x';
        const p = paramsOf(operation).find((q) => q.name === selector)!;
        if (p.schema.type === 'array' && !Array.isArray(params[selector])) params[selector] = [params[selector] as string];
      }
      // One value per name, as a repeated header would be joined.
      const once = extra.filter((e, i) => extra.findIndex((f) => f.in === e.in && f.name === e.name) === i);
      return { method, path, params, unlisted: once, ...(text !== undefined && { body: text }) };
    });
}

/** Values invalid by a parameter's or property's schema, by the keywords it has. */
function invalidValues(schema: Schema): unknown[] {
  const out: unknown[] = [];
  if (schema.type === 'array') {
    out.push([]);
    if (schema.items) for (const item of invalidValues(schema.items)) out.push(['ok', item]);
    if (schema.contains?.minLength) out.push(['']);
    return out;
  }
  if (schema.anyOf) return [{}, [], true, 1.5].concat(...schema.anyOf.flatMap((s: Schema) => invalidValues(s).filter((v) => typeof v === 'string')));
  if (schema.enum) out.push('x', '');
  if (schema.minLength) out.push('');
  if (schema.maxLength !== undefined) {
    out.push('a'.repeat(schema.maxLength + 1), '\u{1F600}'.repeat(schema.maxLength + 1), `${'é'.repeat(schema.maxLength)}z`);
  }
  if (schema.pattern) out.push('a\u0001b', '\u007f', 'a b', 'tab\there', 'x'.repeat(300));
  return out;
}

/**
 * Invalid requests to one operation: a valid one with one part made invalid by its schema, or a
 * required part left out; null for an operation that takes nothing (nothing of it can be invalid).
 */
export function invalidRequests(api: DocumentedApi, path: string, method: string, known: Known): fc.Arbitrary<DocumentedRequest> | null {
  const operation = api.doc.paths[path][method];
  const mutations: Array<(r: DocumentedRequest) => DocumentedRequest> = [];
  for (const p of paramsOf(operation)) {
    if (p.required && p.in !== 'path') mutations.push((r) => ({ ...r, params: { ...r.params, [p.name]: undefined } }));
    for (const value of invalidValues(p.schema)) {
      if (p.in === 'header' && !isSendable(String(value))) continue;
      mutations.push((r) => ({ ...r, params: { ...r.params, [p.name]: value as string | string[] } }));
    }
  }
  const firstOf = operation['x-first-of'] ?? [];
  if (firstOf.length > 0) mutations.push((r) => ({ ...r, params: { ...r.params, ...Object.fromEntries(firstOf.map((n) => [n, undefined])) } }));
  const body = bodySchema(operation);
  if (body && !body.anyOf) {
    // An object body of the extension API (webhooks): not an object, or without a required property.
    const bodies: unknown[] = [[], 'text', 5, null, {}, ...(body.required ?? []).map((name: string) => ({ [name]: 5 }))];
    for (const b of bodies) mutations.push((r) => ({ ...r, body: JSON.stringify(b) }));
    mutations.push((r) => ({ ...r, body: undefined }));
  } else if (body) {
    const record = (body.anyOf as Schema[]).find((s) => s.required?.includes('customerId'))!;
    const badIds = invalidValues(record.properties.customerId);
    const bodies: unknown[] = [[], 'text', 5, null, {}, { Records: [] }, { Records: {} }, { Records: [{ Attributes: {} }] }, { Records: [{ customerId: 'a', Attributes: [] }] }];
    for (const customerId of badIds) bodies.push({ Records: [{ customerId, Attributes: {} }] }, { customerId });
    for (const b of bodies) mutations.push((r) => ({ ...r, body: JSON.stringify(b) }));
    mutations.push((r) => ({ ...r, body: undefined }));
  }
  if (mutations.length === 0) return null;
  return fc.tuple(validRequests(api, path, method, known), fc.constantFrom(...mutations)).map(([request, mutate]) => mutate(request));
}

/** Why the document says `request` is invalid (empty when it is valid). */
export function requestProblems(api: DocumentedApi, request: DocumentedRequest): string[] {
  const operation = operationOf(api, request);
  const problems: string[] = [];
  const firstOf = operation['x-first-of'] ?? [];
  const read = firstOf.find((name) => request.params[name] !== undefined);
  if (firstOf.length > 0 && read === undefined) problems.push(`none of ${firstOf.join(', ')}`);
  for (const p of paramsOf(operation)) {
    const value = request.params[p.name];
    // The server reads the first of `x-first-of` present and ignores the others.
    if (firstOf.includes(p.name) && p.name !== read) continue;
    if (value === undefined) {
      if (p.required) problems.push(`${p.in} ${p.name} missing`);
      continue;
    }
    const validate = api.validator(`classify ${operation.operationId} ${p.in} ${p.name}`, p.schema);
    if (!validate(value)) problems.push(`${p.in} ${p.name} ${JSON.stringify(value).slice(0, 60)}: ${api.errorsText(validate)}`);
  }
  const body = bodySchema(operation);
  if (body) {
    if (request.body === undefined) problems.push('no body');
    else {
      const validate = api.validator(`classify ${operation.operationId} body`, body);
      if (!validate(JSON.parse(request.body))) problems.push(`body ${request.body.slice(0, 60)}: ${api.errorsText(validate)}`);
    }
  }
  return problems;
}

/** The request's URL (path parameters and query %-encoded, arrays repeated) and headers. */
export function wire(api: DocumentedApi, request: DocumentedRequest): { url: string; headers: Record<string, string> } {
  const headers: Record<string, string> = {};
  const query: string[] = [];
  let url = request.path;
  for (const p of paramsOf(operationOf(api, request))) {
    const value = request.params[p.name];
    if (value === undefined) continue;
    if (p.in === 'path') url = url.replace(`{${p.name}}`, encodeURIComponent(String(value)));
    else if (p.in === 'header') headers[p.name] = String(value);
    else for (const v of [value].flat()) query.push(`${encodeURIComponent(p.name)}=${encodeURIComponent(v)}`);
  }
  for (const p of request.unlisted) {
    if (p.in === 'header') headers[p.name] = p.value;
    else query.push(`${encodeURIComponent(p.name)}=${encodeURIComponent(p.value)}`);
  }
  return { url: query.length > 0 ? `${url}?${query.join('&')}` : url, headers };
}

/**
 * Whether the request carries a value of a parameter the document marks `x-issued-by-server` (a
 * listing cursor): only values the server made are taken, so a generated one is refused (400) however
 * well it fits the schema.
 */
export function carriesIssuedValue(api: DocumentedApi, request: DocumentedRequest): boolean {
  return paramsOf(operationOf(api, request)).some((p) => p.schema['x-issued-by-server'] === true && request.params[p.name] !== undefined);
}
