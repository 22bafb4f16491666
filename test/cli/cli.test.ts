import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/process.js';
import { freshStoreEnv } from '../support/test-db.js';

describe('the openprofiles CLI, spawned', () => {
  let store: Awaited<ReturnType<typeof freshStoreEnv>>;
  const cli = (...args: string[]) => runCli([...args, '--json'], store.env);

  beforeAll(async () => {
    store = await freshStoreEnv();
  });
  afterAll(() => store.dispose());

  it('migrate prints the applied migrations, then nothing left to apply', async () => {
    const first = await cli('migrate');
    expect(first.code).toBe(0);
    expect(first.json.applied.length).toBeGreaterThan(0);
    const second = await cli('migrate');
    expect(second.json).toEqual({ applied: [], version: first.json.version });
  });

  it('tenant create prints id and key once; tenant list never shows keys', async () => {
    const created = await cli('tenant', 'create', 'acme');
    expect(created.code).toBe(0);
    expect(created.json).toMatchObject({ id: expect.any(Number), name: 'acme', key: expect.stringMatching(/^opk_/), keyId: expect.any(String) });
    const listed = await cli('tenant', 'list');
    expect(listed.json.tenants.map((t: { name: string }) => t.name)).toContain('acme');
    expect(listed.stdout).not.toContain(created.json.key);
  });

  it('refuses a duplicate tenant name with exit status 1 and a JSON error', async () => {
    await cli('tenant', 'create', 'dup');
    const again = await cli('tenant', 'create', 'dup');
    expect(again.code).toBe(1);
    expect(again.json.error.message).toMatch(/dup|exists|taken/i);
  });

  it('tenant update changes every setting and refuses bad values', async () => {
    const { json } = await cli('tenant', 'create', 'settings');
    const updated = await cli('tenant', 'update', String(json.id), '--response-format', 'batch', '--batch-limit', '3', '--rate-limit', '50', '--upsert-on-update', 'true');
    expect(updated.json.settings).toMatchObject({ responseFormat: 'batch', batchLimit: 3, rateLimit: 50, upsertOnUpdate: true });
    const bad = await cli('tenant', 'update', String(json.id), '--batch-limit', '5000');
    expect(bad.code).toBe(1);
    expect(bad.json.error.message).toMatch(/batch limit/);
    const unknown = await cli('tenant', 'update', '99999', '--batch-limit', '5');
    expect(unknown.code).toBe(1);
  });

  it('key create issues another key; key revoke revokes it; key list shows ids only', async () => {
    const { json } = await cli('tenant', 'create', 'keys');
    const extra = await cli('key', 'create', String(json.id));
    expect(extra.json).toMatchObject({ tenantId: json.id, keyId: expect.any(String), key: expect.stringMatching(/^opk_/) });
    const revoked = await cli('key', 'revoke', String(json.id), extra.json.keyId);
    expect(revoked.json).toEqual({ tenantId: json.id, keyId: extra.json.keyId, revoked: true });
    const listed = await cli('key', 'list', String(json.id));
    expect(listed.json.keys).toHaveLength(2);
    expect(listed.stdout).not.toContain(extra.json.key);
    expect((await cli('key', 'revoke', String(json.id), extra.json.keyId)).code).toBe(1);
  });

  it('app create prints the appid (generated or given); app list lists them', async () => {
    const { json } = await cli('tenant', 'create', 'apps');
    const fb = await cli('app', 'create', String(json.id), '--channel', 'fb');
    expect(fb.json).toMatchObject({ appid: expect.stringMatching(/^fb-/), channel: 'fb' });
    const named = await cli('app', 'create', String(json.id), '--channel', 'rt', '--appid', 'my-rt-app');
    expect(named.json.appid).toBe('my-rt-app');
    const listed = await cli('app', 'list', String(json.id));
    expect(listed.json.apps.map((a: { appid: string }) => a.appid).sort()).toEqual([fb.json.appid, 'my-rt-app'].sort());
    expect((await cli('app', 'create', String(json.id), '--channel', 'rt', '--appid', 'my-rt-app')).code).toBe(1);
  });

  it('app create refuses an unknown channel, naming the known ones, and creates nothing', async () => {
    const { json } = await cli('tenant', 'create', 'channels');
    const bogus = await cli('app', 'create', String(json.id), '--channel', 'bogus');
    expect(bogus.code).toBe(1);
    expect(bogus.json.error.message).toMatch(/unknown channel "bogus"/);
    expect(bogus.json.error.message).toMatch(/fb, twitter, wechat, rt, whatsapp, .*gbm, apple, email, voice/);
    expect(bogus.stderr).toMatch(/unknown channel "bogus"/);
    for (const channel of ['whatsapp', 'gbm', 'apple', 'telegram']) expect((await cli('app', 'create', String(json.id), '--channel', channel)).code).toBe(0);
    expect((await cli('app', 'list', String(json.id))).json.apps.map((a: { channel: string }) => a.channel)).toEqual(['whatsapp', 'gbm', 'apple', 'telegram']);
  });

  it('attribute add defines a typed master attribute and refuses unknown types', async () => {
    const { json } = await cli('tenant', 'create', 'attrs');
    const added = await cli('attribute', 'add', String(json.id), 'dob', '--type', 'date');
    expect(added.json.attribute).toMatchObject({ name: 'dob', type: 'date', id: expect.any(Number) });
    const bad = await cli('attribute', 'add', String(json.id), 'x', '--type', 'colour');
    expect(bad.code).toBe(1);
    expect(bad.json.error.message).toMatch(/colour/);
  });

  it('allowlist set takes IPv4, IPv6 and CIDR entries, refuses garbage; clear empties it', async () => {
    const { json } = await cli('tenant', 'create', 'ips');
    const set = await cli('allowlist', 'set', String(json.id), '10.0.0.0/8', '2001:db8::/32', '127.0.0.1');
    expect(set.json).toEqual({ tenantId: json.id, allowList: ['10.0.0.0/8', '2001:db8::/32', '127.0.0.1'] });
    const bad = await cli('allowlist', 'set', String(json.id), 'not-an-ip');
    expect(bad.code).toBe(1);
    const cleared = await cli('allowlist', 'clear', String(json.id));
    expect(cleared.json.allowList).toEqual([]);
  });

  it('status answers as the status API does: unknown for a transid it does not know', async () => {
    const { json } = await cli('tenant', 'create', 'status');
    const st = await cli('status', String(json.id), '00000000-0000-4000-8000-000000000000');
    expect(st.json).toMatchObject({ code: '7600', state: 'unknown' });
  });
});
