import { BODY, type DocumentedApi } from './json-schema.js';

/**
 * Every answer a test server gave must be documented in its OpenAPI document under its operation.
 * - Statuses: the servers' own request counter (`openprofiles_http_requests_total{route,method,status}`)
 *   says what they answered; `startTestServer().close()` and `spawnServer().stop()` read it before
 *   the server goes.
 * - Bodies: every answer a test receives through the support clients (`app.inject` of a
 *   `startTestServer`, `request` of test/support/process.ts) is checked against the schema its
 *   operation documents for its status (`recordAnswer`).
 * test/support/check-answers.ts fails the test file that received an undocumented answer.
 */

export interface Answered {
  /** Fastify's route pattern (`/resources/v2/customerprofile/:customerId`), `unmatched` or `unreadable`. */
  route: string;
  method: string;
  status: number;
}

interface OpenApiDocument {
  paths: Record<string, Record<string, { responses?: Record<string, unknown> }>>;
}

const COUNTER = /^openprofiles_http_requests_total\{route="([^"]*)",method="([^"]*)",status="(\d+)"/;

/** The (route, method, status) triples in a Prometheus text exposition. */
export function answeredFromMetrics(text: string): Answered[] {
  return text
    .split('\n')
    .map((line) => COUNTER.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map(([, route, method, status]) => ({ route, method, status: Number(status) }));
}

/** A request no route takes is answered 404 (no such path) or 405 (another method); anything else is a defect. */
const UNROUTED_STATUSES = [404, 405];
/**
 * A request the server cannot read (its URL or its HTTP, or plain HTTP on the HTTPS port): 400,
 * 408 or 431, or on a Profile API path the refusals that come first (401, 403, 429).
 */
const UNREADABLE_STATUSES = [400, 401, 403, 408, 429, 431];

/** The answers `spec` does not document, each as one line naming the operation and status. */
export function undocumentedAnswers(spec: OpenApiDocument, answered: Answered[]): string[] {
  const problems: string[] = [];
  for (const { route, method, status } of answered) {
    if (route === 'unmatched') {
      if (!UNROUTED_STATUSES.includes(status)) problems.push(`${method} (no route) answered ${status}, not 404 or 405`);
      continue;
    }
    if (route === 'unreadable') {
      if (!UNREADABLE_STATUSES.includes(status)) problems.push(`${method} (unreadable) answered ${status}, not ${UNREADABLE_STATUSES.join(', ')}`);
      continue;
    }
    const path = route.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    // Fastify answers HEAD from the GET route; the document lists the GET.
    const operation = spec.paths[path]?.[(method === 'HEAD' ? 'GET' : method).toLowerCase()];
    if (!operation) problems.push(`${method} ${path} answered ${status}: no such operation in the document`);
    else if (!operation.responses?.[String(status)]) {
      problems.push(`${method} ${path} answered ${status}, which the document does not list (it lists ${Object.keys(operation.responses ?? {}).join(', ')})`);
    }
  }
  return problems;
}

const found: string[] = [];

/** Records what a server answered and did not document; `takeUndocumented` hands the list to the file's check. */
export function recordUndocumented(server: string, spec: OpenApiDocument, metricsText: string): void {
  for (const problem of undocumentedAnswers(spec, answeredFromMetrics(metricsText))) found.push(`${server}: ${problem}`);
}

export function recordFailure(server: string, reason: string): void {
  found.push(`${server}: ${reason}`);
}

export function takeUndocumented(): string[] {
  return found.splice(0);
}

/** Checks one answer a test received against the document; a mismatch fails the test file. */
export function recordAnswer(server: string, api: DocumentedApi, method: string, url: string, status: number, contentType: string | undefined, body: string): void {
  const problem = api.answerProblem(method.toUpperCase(), url, status, contentType, body);
  if (!problem) return;
  // Once per kind of mismatch: a property-based test may meet the same one thousands of times.
  const kind = `${server}: ${problem.split(BODY, 1)[0]}`;
  if (found.some((line) => line.startsWith(kind))) return;
  found.push(`${server}: ${problem}`);
}
