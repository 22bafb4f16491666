/**
 * The webhook operations over HTTP (in-process, every answer checked against the OpenAPI
 * document), with the default settings: private and loopback targets are refused when an
 * endpoint is added, and, for an endpoint stored before (or behind DNS that changed), before every
 * attempt.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestTenant } from '../support/server.js';
import { waitFor } from '../support/wait.js';
import { startReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

describe('webhook operations', () => {
  let t: TestServer;
  let tenant: TestTenant;
  let other: TestTenant;
  let receiver: WebhookReceiver;
  const dir = mkdtempSync(join(tmpdir(), 'openprofiles-hooks-http-'));

  const call = async (method: string, url: string, key: string, body?: unknown) => {
    const res = await t.server.app.inject({ method: method as 'GET', url: `/openprofiles/v1${url}`, headers: { key, ...(body !== undefined && { 'content-type': 'application/json' }) }, payload: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : null };
  };
  const code = (body: { response?: { code: string } }) => body.response?.code;

  beforeAll(async () => {
    receiver = await startReceiver(dir);
    t = await startTestServer({ webhookLeaseMs: 300, webhookRetrySchedule: '0,10ms', webhookTimeoutMs: 1000 });
    tenant = await t.tenant(['fb']);
    other = await t.tenant(['fb']);
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses targets that are not public https when they are added (7941), and malformed requests (7003)', async () => {
    for (const url of ['https://127.0.0.1/x', 'https://localhost/x', 'https://169.254.169.254/latest/meta-data', 'https://10.0.0.8/x', 'https://[::1]/x', 'https://[fd00:ec2::254]/', 'http://1.1.1.1/x', 'https://user:pw@1.1.1.1/x', 'ftp://1.1.1.1/', 'not a url', 'https://nonexistent.invalid/x']) {
      const res = await call('POST', '/webhooks', tenant.key, { url });
      expect([res.status, code(res.body)], url).toEqual([400, '7941']);
    }
    expect(code((await call('POST', '/webhooks', tenant.key, {})).body)).toBe('7003');
    expect(code((await call('POST', '/webhooks', tenant.key, { url: 'https://1.1.1.1/x', types: ['profile.exploded'] })).body)).toBe('7003');
    expect(code((await call('POST', '/webhooks', tenant.key, { url: 'https://1.1.1.1/x', types: [] })).body)).toBe('7003');
    expect((await call('GET', '/webhooks', tenant.key)).body).toEqual({ data: [] });
  });

  it('creates (secret once), lists, enables, pages attempts, resends and deletes, for the key\'s tenant only', async () => {
    const created = await call('POST', '/webhooks', tenant.key, { url: 'https://1.1.1.1/hooks', types: ['profile.deleted'] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ url: 'https://1.1.1.1/hooks', types: ['profile.deleted'], isEnabled: true, disabledAt: null, secret: expect.stringMatching(/^whsec_/) });
    const { id } = created.body;
    const listed = await call('GET', '/webhooks', tenant.key);
    expect(listed.body.data).toEqual([{ ...created.body, secret: undefined }].map(({ secret: _, ...e }) => e));
    expect((await call('GET', '/webhooks', other.key)).body).toEqual({ data: [] });
    for (const [method, url] of [['DELETE', `/webhooks/${id}`], ['POST', `/webhooks/${id}/enable`], ['GET', `/webhooks/${id}/attempts`]] as const) {
      const res = await call(method, url, other.key);
      expect([res.status, code(res.body)], `${method} ${url}`).toEqual([404, '7940']);
    }
    // Ids no endpoint can have, NUL included (PostgreSQL's text refuses it): 7940, never 500.
    for (const bad of ['%00', 'ep_%00', 'x'.repeat(300)]) {
      for (const [method, url, body] of [['DELETE', `/webhooks/${bad}`], ['POST', `/webhooks/${bad}/enable`], ['GET', `/webhooks/${bad}/attempts`], ['POST', `/webhooks/${bad}/resend`, { eventId: 'evt_1' }]] as const) {
        const res = await call(method, url, tenant.key, body);
        expect([res.status, code(res.body)], `${method} ${url}`).toEqual([404, '7940']);
      }
    }
    expect((await call('POST', `/webhooks/${id}/enable`, tenant.key)).body).toMatchObject({ id, isEnabled: true });
    expect((await call('GET', `/webhooks/${id}/attempts?limit=5`, tenant.key)).body).toEqual({ data: [], nextCursor: null });
    expect(code((await call('GET', `/webhooks/${id}/attempts?cursor=nope`, tenant.key)).body)).toBe('7908');
    expect(code((await call('GET', `/webhooks/${id}/attempts?limit=0`, tenant.key)).body)).toBe('7003');
    const resend = await call('POST', `/webhooks/${id}/resend`, tenant.key, { eventId: 'evt_424242' });
    expect([resend.status, code(resend.body)]).toEqual([404, '7942']);
    expect(code((await call('POST', `/webhooks/${id}/resend`, tenant.key, {})).body)).toBe('7003');
    expect((await call('DELETE', `/webhooks/${id}`, tenant.key)).status).toBe(204);
    expect((await call('DELETE', `/webhooks/${id}`, tenant.key)).status).toBe(404);
  });

  it('refuses a private target again before every attempt: logged as refused, nothing sent, retried', async () => {
    // Stored behind the check's back, as an endpoint whose name now resolves elsewhere would be.
    const storage = t.server.storage;
    await storage.webhooks.createEndpoint(tenant.id, { id: 'ep_private', url: `${receiver.url}/private`, types: null, secret: 'whsec_c2VjcmV0c2VjcmV0c2VjcmV0', createdAt: Date.now(), position: await storage.changes.head(tenant.id) });
    expect((await t.apply('POST', '/customerprofile', tenant.key, { Records: [{ customerId: 'ssrf', Attributes: { name: 'S' } }] })).status).toBe(200);
    const attempts = await waitFor(
      async () => {
        const { body } = await call('GET', '/webhooks/ep_private/attempts', tenant.key);
        return body.data.length >= 2 && body.data;
      },
      { timeoutMs: 20_000, description: 'two refused attempts' },
    );
    expect(attempts[0]).toMatchObject({ outcome: 'refused', status: null, response: expect.stringMatching(/127\.0\.0\.1.*non-public/) });
    expect(attempts.every((a: { outcome: string }) => a.outcome === 'refused')).toBe(true);
    expect(receiver.received).toEqual([]);
    // The event can be sent again (to a public target it would go).
    const resendable = attempts[0].eventId;
    expect((await call('POST', '/webhooks/ep_private/resend', tenant.key, { eventId: resendable })).status).toBe(202);
  });
});
