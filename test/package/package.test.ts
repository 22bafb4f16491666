import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, spawnServer } from '../support/process.js';

/**
 * The package as `npm pack` makes it, installed as a tool. A global install builds better-sqlite3
 * from source where no prebuilt binary can be downloaded (a minute of CPU), so the install here
 * runs no install scripts: it shows the tarball's dependencies resolve and its bin runs from any
 * directory; the packed files then serve against this checkout's node_modules (its built
 * better-sqlite3).
 */
const REPO = fileURLToPath(new URL('../..', import.meta.url));

function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) =>
    execFile(command, args, { cwd, env: { ...process.env, ...env }, timeout: 120_000, maxBuffer: 16 * 1048576 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${command} ${args.join(' ')}: ${err.message}\n${stdout}\n${stderr}`)) : resolve({ stdout, stderr }),
    ),
  );
}

describe('the README', () => {
  it('names no file a clone lacks', () => {
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    const paths = [...readme.matchAll(/`([^`\s]+)`/g)].map((m) => m[1]).filter((p) => /^(\.\.\/|(docs|bench|src|test)\/)|\/.*\.(md|mjs|ts)$|^LICENSE$/.test(p));
    expect(paths).toContain('docs/backup.md');
    expect(paths.filter((p) => !existsSync(join(REPO, p)))).toEqual([]);
    expect(readme).not.toContain('../');
  });
});

describe('the npm package', () => {
  const dir = mkdtempSync(join(tmpdir(), 'openprofiles-package-'));
  /** A directory that is not the checkout: where an operator runs the tool. */
  const elsewhere = join(dir, 'elsewhere');
  let tarball: string;
  let files: string[];

  beforeAll(async () => {
    mkdirSync(elsewhere);
    // npm test has built dist/ already: no scripts, so packing does not build it again.
    const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], REPO);
    const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    tarball = join(dir, packed.filename);
    files = packed.files.map((f) => f.path);
    await run('tar', ['-xzf', tarball, '-C', dir], dir);
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is publishable and ships the built CLI, README, LICENSE and docs, not sources, tests or benchmarks', () => {
    const manifest = JSON.parse(readFileSync(join(dir, 'package', 'package.json'), 'utf8'));
    expect(manifest.private).toBeUndefined();
    expect(manifest.bin).toEqual({ openprofiles: 'dist/cli/main.js' });
    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE', 'dist/cli/main.js', 'docs/backup.md']));
    const stray = files.filter((f) => !/^(dist\/.+\.js|docs\/[^/]+\.md|package\.json|README\.md|LICENSE)$/.test(f));
    expect(stray).toEqual([]);
    // Every module the built CLI has is in the package (threads' entry files, migrations).
    const built = readdirSync(join(REPO, 'dist'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.js'));
    expect(files.filter((f) => f.startsWith('dist/')).sort()).toEqual(built.map((f) => `dist/${f}`).sort());
  });

  it('installs with npm install -g, and its bin runs from any directory', async () => {
    const prefix = join(dir, 'prefix');
    await run('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', tarball], elsewhere);
    const bin = join(prefix, 'bin', 'openprofiles');
    expect((await run(bin, ['--help'], elsewhere)).stdout).toMatch(/Usage: openprofiles .*\n[\s\S]*serve /);
    const { stdout } = await run(bin, ['config', '--json'], elsewhere, { PROFILES_DATA_DIR: '', PROFILES_DATABASE_URL: '' });
    expect(JSON.parse(stdout)).toMatchObject({ dataDir: './data', port: 8443 });
  }, 120_000);

  it("serves from another directory with the packed files, its store in that directory's ./data", async () => {
    symlinkSync(join(REPO, 'node_modules'), join(dir, 'package', 'node_modules'));
    const server = await spawnServer({ PROFILES_DATA_DIR: '', PROFILES_DATABASE_URL: '', PROFILES_DEMO: 'true' }, [], { cli: join(dir, 'package', 'dist', 'cli', 'main.js'), cwd: elsewhere });
    try {
      expect((await request(server.url, 'GET', '/healthz')).status).toBe(200);
      expect(server.output()).toContain('profile key: opk_');
      expect(existsSync(join(elsewhere, 'data', 'openprofiles.db'))).toBe(true);
      expect(existsSync(join(elsewhere, 'data', 'demo.env'))).toBe(true);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});

