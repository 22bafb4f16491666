import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';

describe('requests no operation takes', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(() => t.close());

  const call = (method: string, url: string, headers: Record<string, string> = {}) => t.server.app.inject({ method: method as 'GET', url, headers });

  it('answers an unknown path 404 with 7903 in the API format, without asking for a key', async () => {
    const res = await call('GET', '/resources/v2/nothing-here');
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ response: { code: '7903', description: 'No such route', errors: [{ reason: 'No operation has the path /resources/v2/nothing-here' }] } });
    expect(res.json().response.transid).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers a method the path does not take 405 with 7904 and Allow', async () => {
    const res = await call('PATCH', '/resources/v2/customerprofile');
    expect(res.statusCode).toBe(405);
    expect(res.headers.allow).toBe('DELETE, GET, HEAD, POST, PUT');
    expect(res.json().response.code).toBe('7904');
    const withParams = await call('OPTIONS', '/resources/v2/customerappprofile/app-1/c-1/d-1');
    expect(withParams.statusCode).toBe(405);
    expect(withParams.headers.allow).toBe('DELETE');
  });

  it('answers QUERY without a content type 405, not 500 (Fastify reads QUERY as a method with a body)', async () => {
    const res = await call('QUERY', '/healthz');
    expect(res.statusCode).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD');
    expect(res.json().response.code).toBe('7904');
    const metrics = (await call('GET', '/metrics')).body;
    expect(metrics).not.toMatch(/code="7006"/);
  });
});
