import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnServer, type ServerProcess } from '../support/process.js';
import { freshStoreEnv } from '../support/test-db.js';

/**
 * The README's endpoint walkthrough, run as written against a first-start server (demo tenant),
 * from a directory where `data/` is that server's store. Only the port differs from 8443.
 */
const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const section = README.slice(README.indexOf('## Every endpoint'), README.indexOf('## Administration'));
const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);

describe('README walkthrough', () => {
  const dir = mkdtempSync(join(tmpdir(), 'openprofiles-readme-'));
  let store: Awaited<ReturnType<typeof freshStoreEnv>>;
  let server: ServerProcess;
  let script = '';

  beforeAll(async () => {
    // The fresh store's database (PostgreSQL runs); its data directory is replaced by `dir`'s.
    store = await freshStoreEnv();
    server = await spawnServer({ ...store.env, PROFILES_DATA_DIR: join(dir, 'data'), PROFILES_DEMO: 'true' });
    const port = new URL(server.url).port;
    script = blocks.join('\n').replaceAll('https://localhost:8443', `https://localhost:${port}`);
  });
  afterAll(async () => {
    await server?.stop();
    await store?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('has the blocks it documents', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    expect(server.output()).toMatch(/profile key: opk_/);
  });

  it('runs every command, and no answer is a refusal', async () => {
    const out = await new Promise<string>((resolve, reject) =>
      execFile('bash', ['-euo', 'pipefail', '-c', script], { cwd: dir, timeout: 60_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stdout}\n${stderr}`)) : resolve(stdout),
      ),
    );
    expect(out).not.toMatch(/"response":\{"code":"7/);
    expect(out).not.toMatch(/"state":"unknown"/);
    // Every write applied (Prefer: wait), including the app profiles and device deletes.
    expect(out.match(/"code":"1000","description":"SUCCESS"/g)?.length).toBeGreaterThanOrEqual(9);
    expect(out).toContain('"Name":"psid","Value":"1223275837725015"');
    expect(out).toMatch(/"InwardLinks":\[\{"AppID":"demo-fb","Channel":"fb"/);
  });
});
