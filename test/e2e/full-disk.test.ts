/**
 * A full disk under the embedded store: writes get 7902 (HTTP 503, Retry-After) and nothing is
 * acknowledged that was not stored; reads go on; when space returns, writes are taken again and
 * the queue is applied, without a restart. Every create acknowledged before, during and after
 * is applied exactly once (a second application would answer 7015).
 *
 * It needs a small file system of its own to fill: `.ci/run` mounts a tmpfs and names it in
 * OPENPROFILES_FULL_DISK_DIR (mounting needs root, so plain `npm test` skips this file and says so).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { keyTaken, request, runCli, type ServerProcess, spawnServer } from '../support/process.js';
import { waitFor } from '../support/wait.js';

const DIR = process.env.OPENPROFILES_FULL_DISK_DIR;
if (!DIR) console.log('Full-disk test not selected: it runs in .ci/run, which mounts a small tmpfs at OPENPROFILES_FULL_DISK_DIR.');

/** Writes zeros to `path` until the file system has no room left. */
function fill(path: string): number {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  let written = 0;
  try {
    for (;;) written += writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  }
  // The last bytes: smaller writes until nothing fits.
  try {
    for (;;) written += writeSync(fd, Buffer.alloc(512));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
  return written;
}

describe.runIf(DIR)('full disk (SQLite)', () => {
  const dataDir = join(DIR ?? '', `data-${randomBytes(4).toString('hex')}`);
  const filler = join(DIR ?? '', 'filler');
  const env = { PROFILES_DATA_DIR: dataDir, PROFILES_DEMO: 'false', PROFILES_DATABASE_URL: '' };
  let server: ServerProcess | null = null;

  afterAll(async () => {
    await server?.stop();
    rmSync(filler, { force: true });
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers 7902 with Retry-After while the disk is full, serves reads, and takes writes again by itself once there is room; every acknowledged write is applied once', async () => {
    mkdirSync(dataDir, { recursive: true });
    server = await spawnServer(env);
    const { json: tenant } = await runCli(['tenant', 'create', 'full', '--json'], env);
    await keyTaken(server.url, tenant.key);

    const acknowledged: Array<{ transid: string; id: string }> = [];
    const create = async (id: string) => {
      const res = await request(server!.url, 'POST', '/resources/v2/customerprofile', {
        key: tenant.key,
        body: { Records: [{ customerId: id, Attributes: { name: id } }] },
      });
      if (res.status === 202) acknowledged.push({ transid: res.body.response.transid, id });
      return res;
    };
    // Acknowledged just before the disk fills: some are still queued when it does.
    for (const res of await Promise.all(Array.from({ length: 50 }, (_, i) => create(`before-${i}`)))) expect(res.status, res.text).toBe(202);

    const filled = fill(filler);
    expect(filled).toBeGreaterThan(0);
    // The write-ahead log may still have room in frames it already holds: write until refused.
    let refused = null;
    let refusedId = '';
    for (let i = 0; i < 2000 && !refused; i++) {
      const res = await create(`full-${i}`);
      if (res.status === 503) [refused, refusedId] = [res, `full-${i}`];
      else expect(res.status, res.text).toBe(202);
    }
    expect(refused, 'no write was refused on a full disk').not.toBeNull();
    expect(refused!.body.response.code).toBe('7902');
    expect(Number(refused!.headers['retry-after'])).toBeGreaterThan(0);
    // Reads go on while the disk is full.
    expect((await request(server.url, 'GET', '/resources/v2/customerprofile/nobody', { key: tenant.key })).status).toBe(404);

    rmSync(filler);
    // Refused (503) until the server finds room again by itself.
    let attempt = 0;
    const after = await waitFor(
      async () => {
        const answer = await create(`after-${attempt++}`);
        return answer.status !== 503 && answer;
      },
      { timeoutMs: 20_000, intervalMs: 100, description: 'a write taken again once the disk has room' },
    );
    expect(after.status, after.text).toBe(202);

    for (const { transid, id } of acknowledged) {
      const st = await waitFor(
        async () => {
          const answer = await request(server!.url, 'GET', `/resources/v2/profile/status/${transid}`, { key: tenant.key });
          return answer.body.code !== '7600' && answer;
        },
        { timeoutMs: 15_000, intervalMs: 50, description: `${transid} applied` },
      );
      expect(st.body, transid).toMatchObject({ code: '1000', Results: [{ customerId: id, code: '1000' }] });
    }
    // The refused write was not stored: its customer does not exist.
    expect((await request(server.url, 'GET', `/resources/v2/customerprofile/${refusedId}`, { key: tenant.key })).status).toBe(404);
    console.log(`full disk: ${acknowledged.length} writes acknowledged (before, while filling, after), all applied once; refused with 7902 once full`);
  }, 120_000);
});
