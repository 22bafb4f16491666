import { copyFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyTaken, request, runCli, spawnServer, type ServerProcess } from '../support/process.js';
import { freshStoreEnv } from '../support/test-db.js';
import { waitFor } from '../support/wait.js';

/** docs/backup.md, step by step: a backup taken while the server serves, restored into a stopped one. Embedded store only. */
describe('backup and restore of the embedded store', () => {
  let store: Awaited<ReturnType<typeof freshStoreEnv>>;
  let server: ServerProcess | undefined;
  beforeAll(async () => {
    store = await freshStoreEnv('sqlite');
  });
  afterAll(async () => {
    await server?.stop();
    await store?.dispose();
  });

  /** docs/backup.md's restore: stop the server, remove the store's files (the -wal, -shm and journal too), copy the backup in, start. */
  const restore = async (file: string) => {
    expect(await server!.stop()).toBe(0);
    server = undefined;
    for (const name of readdirSync(store.dataDir)) if (name.startsWith('openprofiles.db')) rmSync(join(store.dataDir, name));
    copyFileSync(file, join(store.dataDir, 'openprofiles.db'));
    rmSync(file);
    server = await spawnServer(store.env);
  };
  const write = (key: string, customerId: string) =>
    request(server!.url, 'POST', '/resources/v2/customerprofile', {
      key,
      body: { Records: [{ customerId, Attributes: { name: customerId } }] },
      headers: { prefer: 'wait=10' },
    });

  it('copies a running store to a new 0600 file, and the copy restored serves what was written before it', async () => {
    const { dataDir, env } = store;
    server = await spawnServer(env);
    const { json: tenant } = await runCli(['tenant', 'create', 'kept', '--json'], env);
    await keyTaken(server.url, tenant.key);
    for (const id of ['b1', 'b2', 'b3']) expect((await write(tenant.key, id)).body.code).toBe('1000');

    const file = join(store.dataDir, '..', `${dataDir.split('/').at(-1)}-backup.db`);
    const backup = await runCli(['backup', file, '--json'], env);
    expect(backup.code, backup.stderr).toBe(0);
    expect(backup.json).toMatchObject({ file, bytes: statSync(file).size });
    expect((statSync(file).mode & 0o777).toString(8)).toBe('600');
    expect((await runCli(['backup', file], env)).stderr).toMatch(/exists already/);
    // Written after the backup: not in it.
    expect((await write(tenant.key, 'after')).body.code).toBe('1000');

    await restore(file);
    for (const id of ['b1', 'b2', 'b3']) {
      expect((await request(server.url, 'GET', `/resources/v2/customerprofile/${id}`, { key: tenant.key })).status).toBe(200);
    }
    expect((await request(server.url, 'GET', '/resources/v2/customerprofile/after', { key: tenant.key })).status).toBe(404);
  }, 60_000);

  it('carries the writes accepted and not yet applied, which the restored store applies', async () => {
    const { dataDir, env } = store;
    await server?.stop();
    // Nothing applies while the backup is taken: the writes stay in the journal.
    server = await spawnServer({ ...env, PROFILES_WORKER: 'false' });
    const { json: tenant } = await runCli(['tenant', 'create', 'queued', '--json'], env);
    await keyTaken(server.url, tenant.key);
    const accepted = await request(server.url, 'POST', '/resources/v2/customerprofile', { key: tenant.key, body: { Records: [{ customerId: 'q1', Attributes: { name: 'q1' } }] } });
    expect(accepted.status).toBe(202);
    const file = join(store.dataDir, '..', `${dataDir.split('/').at(-1)}-queued.db`);
    expect((await runCli(['backup', file], env)).code).toBe(0);
    await restore(file);
    // The restored server's worker applies it after the server starts serving.
    const status = await waitFor(
      async () => {
        const answer = await request(server!.url, 'GET', `/resources/v2/profile/status/${accepted.body.response.transid}`, { key: tenant.key });
        return answer.body.code !== '7600' && answer;
      },
      { timeoutMs: 10_000, intervalMs: 50, description: 'the carried write applied' },
    );
    expect(status.body).toMatchObject({ code: '1000' });
    const read = await request(server.url, 'GET', '/resources/v2/customerprofile/q1', { key: tenant.key });
    expect(read.status).toBe(200);
  }, 60_000);
});
