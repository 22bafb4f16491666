import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keysOf, reduceWriteTransactions } from '../../src/domain/apply.js';
import { channelAttributes } from '../../src/domain/channels.js';
import { openStore } from '../../src/open-store.js';
import type { RowCounts } from '../../src/model/directory.js';
import type { Store } from '../../src/storage/ports.js';
import { runCli } from '../support/process.js';
import { applierOf } from '../support/storage-backends.js';
import { freshStoreEnv } from '../support/test-db.js';
import { newWriteTransaction } from '../support/write-transactions.js';

const DAY = 86_400_000;

describe('the openprofiles CLI, spawned', () => {
  let store: Awaited<ReturnType<typeof freshStoreEnv>>;
  const cli = (...args: string[]) => runCli([...args, '--json'], store.env);

  beforeAll(async () => {
    store = await freshStoreEnv();
  });
  afterAll(() => store.dispose());

  /** Runs `fn` on the CLI's store, opened from this process (as a server beside the CLI would). */
  const onStore = async <T>(fn: (storage: Store) => Promise<T>): Promise<T> => {
    const storage = openStore({ dataDir: store.dataDir, databaseUrl: store.env.PROFILES_DATABASE_URL || undefined, poolSize: 2 });
    try {
      return await fn(storage);
    } finally {
      await storage.close();
    }
  };
  /**
   * A tenant (created with the CLI) with an fb app and an rt app, three master profiles, one fb app
   * profile and two rt devices of each customer (applied), and one write transaction still queued.
   */
  const populatedTenant = async (name: string) => {
    const { json: t } = await cli('tenant', 'create', name);
    const fb = `${name}-fb`;
    const rt = `${name}-rt`;
    await cli('app', 'create', String(t.id), '--channel', 'fb', '--appid', fb);
    await cli('app', 'create', String(t.id), '--channel', 'rt', '--appid', rt);
    const customers = ['c1', 'c2', 'c3'];
    await onStore(async (storage) => {
      await storage.journal.enqueue(
        [
          newWriteTransaction(t.id, customers.map((customerId) => ({ customerId, attributes: { name: customerId } }))),
          newWriteTransaction(t.id, customers.map((customerId) => ({ customerId, attributes: { psid: customerId } })), { operation: 'createAppProfile', appid: fb }),
          newWriteTransaction(
            t.id,
            customers.flatMap((customerId) => ['d1', 'd2'].map((deviceId) => ({ customerId, deviceId, attributes: { deviceId } }))),
            { operation: 'createAppProfile', appid: rt },
          ),
        ],
        DAY,
      );
      await applierOf(storage, 'cli-test').applyNext(10, keysOf, reduceWriteTransactions);
      await storage.journal.enqueue([newWriteTransaction(t.id, [{ customerId: 'c4' }])], DAY);
    });
    return { id: t.id as number, fb, rt };
  };
  const rowsOf = (tenantId: number) => onStore((storage) => storage.erasure.countTenantRows(tenantId));
  const appRowsOf = (tenantId: number, appid: string) => onStore((storage) => storage.erasure.countAppRows(tenantId, appid));
  const NO_ROWS: RowCounts = { profileKeys: 0, apps: 0, attributeDefinitions: 0, masterProfiles: 0, appProfiles: 0, writeTransactions: 0, changeEvents: 0, imports: 0, importChunks: 0, importRejects: 0, webhookEndpoints: 0, webhookDeliveries: 0, webhookAttempts: 0 };

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

  it('app delete without --erase is a dry run: exit 0, the plan as JSON or a sentence, nothing erased', async () => {
    const t = await populatedTenant('app-dry');
    const dry = await cli('app', 'delete', String(t.id), t.rt);
    expect(dry.code).toBe(0);
    expect(dry.json).toEqual({
      tenantId: t.id,
      appid: t.rt,
      isDryRun: true,
      isInDirectory: true,
      wouldErase: { ...NO_ROWS, apps: 1, attributeDefinitions: channelAttributes('rt').length, appProfiles: 6 },
    });
    const text = await runCli(['app', 'delete', String(t.id), t.rt], store.env);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/1 app, \d+ attribute definitions, 6 app profiles, for good\. Nothing was erased.*--erase\n$/);
    expect(text.stderr).toBe('');
    expect(await appRowsOf(t.id, t.rt)).toMatchObject({ apps: 1, appProfiles: 6 });
  });

  it('app delete --erase erases the app, its definitions and every device profile of it; the appid can be created again', async () => {
    const t = await populatedTenant('app-erase');
    const before = await rowsOf(t.id);
    const erased = await cli('app', 'delete', String(t.id), t.rt, '--erase');
    expect(erased.code).toBe(0);
    const rtDefinitions = channelAttributes('rt').length;
    expect(erased.json).toEqual({ tenantId: t.id, appid: t.rt, erased: { ...NO_ROWS, apps: 1, attributeDefinitions: rtDefinitions, appProfiles: 6 } });
    expect(await appRowsOf(t.id, t.rt)).toEqual(NO_ROWS);
    expect(await rowsOf(t.id)).toEqual({ ...before, apps: 1, attributeDefinitions: before.attributeDefinitions - rtDefinitions, appProfiles: 3 });
    const text = await runCli(['app', 'delete', String(t.id), t.fb, '--erase'], store.env);
    expect(text.stdout).toBe(`app ${t.fb} of tenant ${t.id} erased: 1 app, ${channelAttributes('fb').length} attribute definitions, 3 app profiles\n`);
    const again = await cli('app', 'create', String(t.id), '--channel', 'rt', '--appid', t.rt);
    expect(again.code).toBe(0);
    expect(await onStore((storage) => storage.profiles.getAppProfiles(t.id, t.rt, ['c1', 'c2', 'c3']))).toEqual([]);
  });

  it("app delete refuses another tenant's appid and an unknown one, and erases nothing", async () => {
    const owner = await populatedTenant('app-owner');
    const { json: other } = await cli('tenant', 'create', 'app-other');
    for (const args of [[String(other.id), owner.rt, '--erase'], [String(owner.id), 'no-such-app', '--erase']]) {
      const refused = await cli('app', 'delete', ...args);
      expect(refused.code).toBe(1);
      expect(refused.json.error.message).toMatch(/tenant \d+ has no app/);
    }
    expect(await appRowsOf(owner.id, owner.rt)).toMatchObject({ apps: 1, appProfiles: 6 });
  });

  it('tenant delete without --erase is a dry run: exit 0, the plan as JSON or a sentence, nothing erased', async () => {
    const t = await populatedTenant('tenant-dry');
    const before = await rowsOf(t.id);
    const dry = await cli('tenant', 'delete', String(t.id));
    expect(dry.code).toBe(0);
    expect(dry.json).toEqual({ tenantId: t.id, isDryRun: true, isInDirectory: true, wouldErase: before });
    const text = await runCli(['tenant', 'delete', String(t.id)], store.env);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      new RegExp(`^tenant ${t.id} \\(tenant-dry\\): deleting it erases 1 profile key, 2 apps, \\d+ attribute definitions, 3 master profiles, 9 app profiles, 4 write transactions, 12 change events, for good\\. Nothing was erased; to erase, run the same command with --erase\n$`),
    );
    expect(await rowsOf(t.id)).toEqual(before);
    expect((await cli('tenant', 'list')).json.tenants.map((x: { id: number }) => x.id)).toContain(t.id);
  });

  it("tenant delete --erase erases every row of the tenant, queued write transactions included, and leaves other tenants' alone", async () => {
    const t = await populatedTenant('tenant-erase');
    const other = await populatedTenant('tenant-kept');
    const before = await rowsOf(t.id);
    const otherBefore = await rowsOf(other.id);
    const erased = await cli('tenant', 'delete', String(t.id), '--erase');
    expect(erased.code).toBe(0);
    expect(erased.json).toEqual({ tenantId: t.id, erased: before });
    expect(await rowsOf(t.id)).toEqual(NO_ROWS);
    expect(await onStore((storage) => storage.profiles.getMasterProfiles(t.id, ['c1', 'c2', 'c3']))).toEqual([]);
    expect((await cli('tenant', 'list')).json.tenants.map((x: { id: number }) => x.id)).not.toContain(t.id);
    expect(await rowsOf(other.id)).toEqual(otherBefore);
    const gone = await cli('tenant', 'delete', String(t.id), '--erase');
    expect(gone.code).toBe(1);
    expect(gone.json.error.message).toBe(`no tenant with id ${t.id}`);
  });

  it('tenant delete finishes an erase interrupted after the tenant left the directory', async () => {
    const t = await populatedTenant('tenant-interrupted');
    await onStore((storage) => storage.directory.removeTenant(t.id));
    const dry = await cli('tenant', 'delete', String(t.id));
    expect(dry.code).toBe(0);
    expect(dry.json).toEqual({ tenantId: t.id, isDryRun: true, isInDirectory: false, wouldErase: { ...NO_ROWS, masterProfiles: 3, appProfiles: 9, writeTransactions: 4, changeEvents: 12 } });
    const text = await runCli(['tenant', 'delete', String(t.id)], store.env);
    expect(text.stdout).toMatch(/no longer in the directory: an earlier delete was interrupted\): deleting it erases 3 master profiles, 9 app profiles, 4 write transactions, 12 change events/);
    const erased = await cli('tenant', 'delete', String(t.id), '--erase');
    expect(erased.json).toEqual({ tenantId: t.id, erased: { ...NO_ROWS, masterProfiles: 3, appProfiles: 9, writeTransactions: 4, changeEvents: 12 } });
    expect(await rowsOf(t.id)).toEqual(NO_ROWS);
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
