/**
 * The files the service writes for itself survive a power cut whole or not at all: each is written
 * under a temporary name, fsync'd, renamed (or linked) to its name, and its directory fsync'd
 * (issue #32: after a cut the TLS certificate and key were empty, and the server served with them).
 * Read from the system calls of a real first start and a real backup (`test/support/strace.ts`).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, freePort, request } from '../support/process.js';
import { hasStrace, isSync, isWrite, readStraceLog, straceOptions, type SystemCall } from '../support/strace.js';

const CALLS = ['write', 'pwrite64', 'writev', 'pwritev', 'fsync', 'fdatasync', 'rename', 'renameat', 'renameat2', 'link', 'linkat'];
const traced = (log: string, command: string[]) => [...straceOptions(log, CALLS), process.execPath, CLI, ...command];

/**
 * How `file` came to be, from the system calls: null when it was written durably (a temporary
 * file written, then fsync'd, then renamed or linked to `file`, then the directory fsync'd), else
 * what is missing.
 */
function durabilityProblem(calls: SystemCall[], file: string): string | null {
  if (calls.some((c) => isWrite(c) && c.fdPath === file)) return 'written in place';
  const named = calls.findIndex((c) => /^(rename|link)/.test(c.name) && c.result === 0 && c.strings.at(-1) === file);
  if (named < 0) return 'never renamed or linked to its name';
  const temp = calls[named].strings[0];
  const lastWrite = Math.max(...calls.map((c, i) => (i < named && isWrite(c) && c.fdPath === temp ? i : -1)));
  if (lastWrite < 0) return `its temporary file ${temp} was never written`;
  if (!calls.some((c, i) => i > lastWrite && i < named && isSync(c) && c.fdPath === temp)) return `its temporary file ${temp} was not fsync'd before the rename`;
  return calls.some((c, i) => i > named && isSync(c) && c.fdPath === dirname(file)) ? null : "its directory was not fsync'd after the rename";
}

describe('files the service writes for itself (strace)', () => {
  let dir: string;
  let server: ChildProcess | undefined;
  afterEach(() => {
    server?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes the TLS certificate and key, demo.env, the applier lock and a backup durably', async () => {
    expect(hasStrace(), 'strace is needed to read the system calls: apt-get install strace').toBe(true);
    dir = mkdtempSync(join(tmpdir(), 'openprofiles-durable-files-'));
    const dataDir = join(dir, 'data');
    const port = await freePort();
    const env = { ...process.env, PROFILES_DATA_DIR: dataDir, PROFILES_DEMO: 'true', PROFILES_DATABASE_URL: '', PROFILES_LOG_LEVEL: 'info' };
    const serveLog = join(dir, 'serve.strace');
    const child = spawn('strace', traced(serveLog, ['serve', '--port', String(port), '--host', '127.0.0.1']), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    server = child;
    const closed = new Promise((resolve) => child.once('close', resolve));
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('OpenProfiles is serving')) resolve();
      });
      child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.once('exit', (code) => reject(new Error(`serve exited with ${code}:\n${out}`)));
    });
    // A write applied: the applier holds the applier lock.
    const key = /PROFILES_KEY=(\S+)/.exec(readFileSync(join(dataDir, 'demo.env'), 'utf8'))![1];
    const body = { Records: [{ customerId: 'durable', Attributes: { name: 'Durable' } }] };
    expect((await request(`https://127.0.0.1:${port}`, 'POST', '/resources/v2/customerprofile', { key, body, headers: { prefer: 'wait=10' } })).body.code).toBe('1000');
    const backup = join(dir, 'backups', 'copy.db');
    execFileSync('mkdir', ['-p', dirname(backup)]);
    const backupLog = join(dir, 'backup.strace');
    execFileSync('strace', traced(backupLog, ['backup', backup, '--data-dir', dataDir]), { env, encoding: 'utf8' });
    // The server is strace's child: stop it by its own pid (in the applier lock), so that strace ends with it.
    process.kill(Number(readFileSync(join(dataDir, 'openprofiles.db.worker-lock'), 'utf8').split(' ')[0]), 'SIGTERM');
    await closed;
    server = undefined;

    const serve = readStraceLog(readFileSync(serveLog, 'utf8'));
    const problems = Object.fromEntries(
      [...['tls/localhost.key', 'tls/localhost.crt', 'demo.env', 'openprofiles.db.worker-lock'].map((f) => [f, durabilityProblem(serve, join(dataDir, f))]),
        ['backup', durabilityProblem(readStraceLog(readFileSync(backupLog, 'utf8')), backup)]],
    );
    expect(problems).toEqual({ 'tls/localhost.key': null, 'tls/localhost.crt': null, 'demo.env': null, 'openprofiles.db.worker-lock': null, backup: null });
  });
});
