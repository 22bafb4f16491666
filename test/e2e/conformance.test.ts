import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, spawnServer, type ServerProcess } from '../support/process.js';
import { freshStoreEnv } from '../support/test-db.js';

/**
 * The shared conformance kit (../shared/conformance/run.mjs, beside the checkout as CI lays it
 * out) against a real server process. Outside such a layout, set OPENPROFILES_CONFORMANCE to the
 * kit's path. A clone on its own has no kit: the suite is skipped and says why, unless
 * OPENPROFILES_REQUIRE_CONFORMANCE=1 (as `.ci/run` sets), which makes a missing kit a failure.
 */
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const KIT = process.env.OPENPROFILES_CONFORMANCE ?? join(REPO, '..', 'shared', 'conformance', 'run.mjs');
const isKitPresent = existsSync(KIT);
const isKitRequired = process.env.OPENPROFILES_REQUIRE_CONFORMANCE === '1';
if (!isKitPresent && !isKitRequired) {
  console.log(`conformance kit: skipped, no kit at ${KIT} (set OPENPROFILES_CONFORMANCE to its run.mjs; .ci/run requires it)`);
}

describe.skipIf(!isKitPresent && !isKitRequired)('conformance kit', () => {
  let store: Awaited<ReturnType<typeof freshStoreEnv>>;
  let env: Record<string, string>;
  let server: ServerProcess;

  beforeAll(async () => {
    if (!existsSync(KIT)) throw new Error(`the conformance kit is not at ${KIT}; set OPENPROFILES_CONFORMANCE to its run.mjs`);
    store = await freshStoreEnv();
    env = store.env;
    server = await spawnServer(env);
  });
  afterAll(async () => {
    await server?.stop();
    await store?.dispose();
  });

  it('passes every case', async () => {
    const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(
        process.execPath,
        [KIT],
        {
          cwd: REPO,
          env: { ...process.env, ...env, OPENPROFILES_URL: server.url, OPENPROFILES_CLI: `"${process.execPath}" "${CLI}"`, OPENPROFILES_DIR: REPO },
          timeout: 240_000,
          maxBuffer: 16 << 20,
        },
        (err, out) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout: out }),
      );
    });
    const failures = stdout.split('\n').filter((line) => line.includes('FAIL'));
    expect(failures, stdout.split('\n').at(-2)).toEqual([]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/\n(\d+) passed, 0 failed/);
  }, 300_000);
});
