import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, request, runCli, spawnServer } from '../support/process.js';
import { masterProfiles, storeRows } from '../support/store-rows.js';
import { freshStoreEnv, serverBackend } from '../support/test-db.js';
import { waitFor } from '../support/wait.js';

/**
 * kill -9 an import at random points, three times, and run it again each time: the final profiles
 * are those one uninterrupted import gives, counts are exact, and API writes made between a kill
 * and the resume survive it, whether their customer's row was already accepted or not yet.
 */
const ROWS = 50_000;
/** Lines (1-based) whose row is refused: a bad email. */
const BAD_LINES = [7, 12_345, 30_000, 44_444, 49_999];
const CHUNKS = Math.ceil((ROWS + BAD_LINES.length) / 1000);
const random = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));

describe(`import: kill -9 and resume (${serverBackend()})`, () => {
  let stores: Array<Awaited<ReturnType<typeof freshStoreEnv>>> = [];
  let file: string;
  const lease = { PROFILES_WORKER_LEASE_MS: '1000' };

  beforeAll(async () => {
    stores = [await freshStoreEnv(), await freshStoreEnv()];
    const lines: string[] = [];
    for (let c = 0; lines.length < ROWS + BAD_LINES.length; ) {
      const line = lines.length + 1;
      if (BAD_LINES.includes(line)) lines.push(JSON.stringify({ customerId: `bad-${line}`, attributes: { email: 'nope' } }));
      else {
        lines.push(JSON.stringify({ customerId: `c${c}`, attributes: { name: `Name ${c}`, email: `c${c}@example.com`, sms: c % 2 === 0 ? '1' : '0' } }));
        c++;
      }
    }
    file = join(stores[0].dataDir, 'people.ndjson');
    writeFileSync(file, `${lines.join('\n')}\n`);
  });
  afterAll(async () => {
    for (const s of stores) await s.dispose();
  });

  it(`loses no row and applies none twice over 3 kills of one ${ROWS.toLocaleString('en-US')}-row import; API writes made meanwhile survive`, { timeout: 240_000 }, async () => {
    const [killed, reference] = stores;
    const env: Record<string, string> = { ...killed.env, ...lease };
    const tenant = (await runCli(['tenant', 'create', 'acme', '--json'], env)).json;
    await runCli(['tenant', 'create', 'acme', '--json'], reference.env);

    // One uninterrupted import, into a store of its own: what the interrupted one must give.
    const whole = await runCli(['import', file, '--tenant', 'acme', '--json'], reference.env);
    expect(whole.code, whole.stderr).toBe(0);
    expect(whole.json.rows).toEqual({ total: ROWS + BAD_LINES.length, applied: ROWS, rejected: BAD_LINES.length, skipped: 0 });

    const acceptedChunks = async () => Number((await storeRows(env, 'SELECT COUNT(*) AS n FROM import_chunks WHERE is_accepted = $1', [env.PROFILES_DATABASE_URL ? true : 1]))[0]?.n ?? 0);
    const kills: number[] = [random(2, 8)];
    kills.push(random(kills[0] + 2, kills[0] + 12), random(kills[0] + 16, CHUNKS - 8));
    for (const [k, atChunks] of kills.entries()) {
      const child: ChildProcess = spawn(process.execPath, [CLI, 'import', file, '--tenant', 'acme'], { env: { ...process.env, ...env }, stdio: 'ignore' });
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      let exitCode: number | null | undefined;
      void exited.then((code) => (exitCode = code));
      await waitFor(async () => exitCode !== undefined || (await acceptedChunks()) >= atChunks, { timeoutMs: 60_000, intervalMs: 5, description: `${atChunks} chunks accepted` }).catch(() => false);
      expect(exitCode, `the import ended before kill ${k + 1}`).toBeUndefined();
      child.kill('SIGKILL');
      await exited;

      if (k === 0) {
        // Between the first kill and its resume, API writes: to the first row's customer (its chunk
        // is accepted) and to the last row's (its chunk is not).
        expect(await acceptedChunks()).toBeLessThan(CHUNKS - 1);
        const server = await spawnServer(env);
        try {
          const updated = await request(server.url, 'PUT', '/resources/v2/customerprofile', {
            key: tenant.key,
            body: { Records: [{ customerId: 'c0', Attributes: { name: 'changed by the API' } }] },
            headers: { prefer: 'wait=20' },
          });
          expect(updated.body).toMatchObject({ code: '1000', SuccessCount: 1 });
          const created = await request(server.url, 'POST', '/resources/v2/customerprofile', {
            key: tenant.key,
            body: { Records: [{ customerId: `c${ROWS - 1}`, Attributes: { name: 'created by the API' } }] },
            headers: { prefer: 'wait=20' },
          });
          expect(created.body).toMatchObject({ code: '1000', SuccessCount: 1 });
        } finally {
          await server.stop();
        }
      }
    }

    const resumed = await runCli(['import', file, '--tenant', 'acme', '--json'], env);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.json).toMatchObject({
      id: whole.json.id,
      status: 'partially_succeeded',
      rows: { total: ROWS + BAD_LINES.length, applied: ROWS - 1, rejected: BAD_LINES.length, skipped: 1 },
    });
    expect(resumed.json.transids).toEqual(whole.json.transids);

    // Each chunk was accepted and applied once: one write transaction per transid, and its rows tallied once.
    const wts = await storeRows(env, "SELECT transid, total_count FROM write_transactions WHERE operation = 'importProfiles'");
    expect(wts).toHaveLength(CHUNKS);
    expect(new Set(wts.map((w) => String(w.transid))).size).toBe(CHUNKS);
    const rejects = await storeRows(env, 'SELECT line FROM import_rejects ORDER BY line');
    expect(rejects.map((r) => Number(r.line))).toEqual(BAD_LINES);

    const expected = await masterProfiles(reference.env, 1);
    const actual = await masterProfiles(env, tenant.id);
    expect(actual.size).toBe(ROWS);
    expect(expected.size).toBe(ROWS);
    expect(actual.get('c0')).toEqual({ ...expected.get('c0'), name: 'changed by the API' });
    expect(actual.get(`c${ROWS - 1}`)).toEqual({ name: 'created by the API' });
    const differing = [...expected].filter(([id, attributes]) => id !== 'c0' && id !== `c${ROWS - 1}` && JSON.stringify(actual.get(id)) !== JSON.stringify(attributes));
    expect(differing).toEqual([]);
  });
});
