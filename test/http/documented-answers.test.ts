import { describe, expect, it } from 'vitest';
import { answeredFromMetrics, undocumentedAnswers } from '../support/documented-answers.js';

/** The check every test file runs on its servers' answers (test/support/check-answers.ts) finds what it must. */
describe('the documented-answers check', () => {
  const spec = {
    paths: {
      '/resources/v2/customerprofile/{customerId}': { get: { responses: { 200: {}, 404: {} } } },
      '/healthz': { get: { responses: { 200: {} } } },
    },
  };
  const metrics = [
    '# HELP openprofiles_http_requests_total Requests answered',
    'openprofiles_http_requests_total{route="/resources/v2/customerprofile/:customerId",method="GET",status="404",code="7014"} 3',
    'openprofiles_http_requests_total{route="/resources/v2/customerprofile/:customerId",method="GET",status="429",code="7020"} 1',
    'openprofiles_http_requests_total{route="/healthz",method="HEAD",status="200",code=""} 1',
    'openprofiles_http_requests_total{route="/healthz",method="POST",status="200",code=""} 1',
    'openprofiles_http_requests_total{route="unmatched",method="GET",status="404",code="7903"} 1',
    'openprofiles_http_requests_total{route="unmatched",method="GET",status="500",code="7006"} 1',
    'openprofiles_http_requests_total{route="unreadable",method="unknown",status="431",code="7905"} 1',
    'openprofiles_http_requests_total{route="unreadable",method="GET",status="404",code="7903"} 1',
  ].join('\n');

  it('reads route, method and status from the request counter', () => {
    expect(answeredFromMetrics(metrics)[0]).toEqual({ route: '/resources/v2/customerprofile/:customerId', method: 'GET', status: 404 });
    expect(answeredFromMetrics(metrics)).toHaveLength(8);
  });

  it('flags a status the operation does not list, an operation the document lacks, an unrouted answer other than 404/405, and an unreadable one other than a refusal', () => {
    expect(undocumentedAnswers(spec, answeredFromMetrics(metrics))).toEqual([
      'GET /resources/v2/customerprofile/{customerId} answered 429, which the document does not list (it lists 200, 404)',
      'POST /healthz answered 200: no such operation in the document',
      'GET (no route) answered 500, not 404 or 405',
      'GET (unreadable) answered 404, not 400, 401, 403, 408, 429, 431',
    ]);
  });
});
