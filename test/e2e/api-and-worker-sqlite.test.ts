import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, runCli, spawnServer, spawnWorker, type ServerProcess } from '../support/process.js';
import { freshStoreEnv, selectedBackends } from '../support/test-db.js';
import { waitFor } from '../support/wait.js';

/**
 * The embedded store split in two processes: `serve --no-worker` (its committer thread writes the
 * journal) and `openprofiles worker` (applies it to the store), on one data directory, as docs/architecture.md
 * describes. Real processes; a worker is killed with kill -9 and replaced. Runs when
 * STORAGE_BACKENDS selects sqlite (the default).
 */
describe.runIf(selectedBackends().includes('sqlite'))('SQLite: serve --no-worker beside openprofiles worker', () => {
  let store: Awaited<ReturnType<typeof freshStoreEnv>>;
  let api: ServerProcess;
  let worker: ServerProcess | null = null;
  let key: string;

  beforeAll(async () => {
    store = await freshStoreEnv('sqlite');
    const tenant = (await runCli(['tenant', 'create', 'split', '--json'], store.env)).json;
    key = tenant.key;
    await runCli(['tenant', 'update', String(tenant.id), '--upsert-on-update', 'true', '--json'], store.env);
    api = await spawnServer(store.env, ['--no-worker']);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([api, worker].map((p) => p?.stop().catch(() => undefined)));
    await store?.dispose();
  });

  const put = async (customerId: string, name: string) => {
    const res = await request(api.url, 'PUT', '/resources/v2/customerprofile', { key, body: { Records: [{ customerId, Attributes: { name } }] } });
    expect(res.status, res.text).toBe(202);
    return res.body.response.transid as string;
  };
  const state = async (transid: string) => (await request(api.url, 'GET', `/resources/v2/profile/status/${transid}`, { key })).body.state as string | undefined;
  const applied = (transid: string) =>
    waitFor(
      async () => {
        const st = await request(api.url, 'GET', `/resources/v2/profile/status/${transid}`, { key });
        return st.body.code !== '7600' && st.body;
      },
      { timeoutMs: 15_000, intervalMs: 50, description: `${transid} applied` },
    );
  const nameOf = async (customerId: string) => (await request(api.url, 'GET', `/resources/v2/customerprofile/${customerId}`, { key })).body.Records?.[0]?.Attributes.find((e: { Name: string }) => e.Name === 'name')?.Value;

  it('accepts writes with no worker running, and a worker started later applies them in order', async () => {
    // Nothing in the API process applies: it says it runs no worker.
    expect(JSON.parse(api.output().split('\n').find((l) => l.includes('OpenProfiles is serving'))!).appliers).toEqual([]);
    const first = await put('c1', 'first');
    const second = await put('c1', 'second');
    expect(await state(first)).toBe('queued');
    expect(await state(second)).toBe('queued');

    worker = await spawnWorker(store.env);
    expect((await applied(first)).code).toBe('1000');
    expect((await applied(second)).code).toBe('1000');
    expect(await nameOf('c1')).toBe('second');
  }, 30_000);

  it('keeps accepting while the worker is killed, and its replacement applies everything', async () => {
    worker ??= await spawnWorker(store.env);
    await worker.kill();
    const during = await put('c2', 'during');
    worker = await spawnWorker(store.env);
    const after = await put('c2', 'after');
    expect((await applied(during)).code).toBe('1000');
    expect((await applied(after)).code).toBe('1000');
    expect(await nameOf('c2')).toBe('after');
  }, 30_000);

  it('a second worker on the store says once that it stands by, and takes over when the first stops', async () => {
    worker ??= await spawnWorker(store.env);
    // The second says it stands by (a warning) after its first attempt at the applier lock, and
    // each later attempt only at debug level: after two of those, a second warning would have come.
    const second = await spawnWorker({ ...store.env, PROFILES_LOG_LEVEL: 'debug' });
    try {
      await waitFor(() => (second.output().match(/still standing by/g) ?? []).length >= 2, { timeoutMs: 10_000, description: 'the second worker to try the lock three times' });
      const said = second.output();
      expect(said.match(/stands by, and takes over when that process stops/g)).toHaveLength(1);
      expect(said).not.toMatch(/applying write transactions failed|"stack"/);
      await worker.stop();
      worker = second;
      const transid = await put('c3', 'taken over');
      expect((await applied(transid)).code).toBe('1000');
      // The worker says so after its first batch commits, so the line can reach us after the status does.
      await waitFor(() => /took over applying the queue/.test(second.output()), { timeoutMs: 5_000, intervalMs: 50, description: 'the second worker to say it took over' });
    } finally {
      if (worker !== second) await second.stop();
    }
  }, 30_000);
});
