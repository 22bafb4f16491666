import { type ChildProcess, execFile, spawn } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { recordAnswer, recordFailure, recordUndocumented } from './documented-answers.js';
import { builtDocument } from './json-schema.js';
import { waitFor } from './wait.js';

/** The built CLI (npm test builds it first): tests run the real binary. */
export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The JSON object printed with --json, if any. */
  json: any;
}

export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      let json: unknown = null;
      const last = stdout.trim().split('\n').at(-1);
      try {
        json = last ? JSON.parse(last) : null;
      } catch {
        json = null;
      }
      resolve({ code, stdout, stderr, json });
    });
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  /** Everything the process printed. */
  output(): string;
  /** SIGTERM, and wait for exit; returns the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL (kill -9), and wait for exit. */
  kill(): Promise<void>;
}

/** Which CLI to run, and where: the built one, in this process's directory, unless given. */
export interface SpawnOptions {
  cli?: string;
  cwd?: string;
}

/** Starts `openprofiles serve` as a real process and waits until it serves. */
export async function spawnServer(env: Record<string, string>, args: string[] = [], options: SpawnOptions = {}): Promise<ServerProcess> {
  const port = await freePort();
  const scheme = env.PROFILES_PLAIN_HTTP === 'true' ? 'http' : 'https';
  return spawnCli(['serve', '--port', String(port), '--host', '127.0.0.1', ...args], env, 'OpenProfiles is serving', `${scheme}://127.0.0.1:${port}`, options);
}

/** Starts `openprofiles worker` as a real process and waits until its workers run. */
export function spawnWorker(env: Record<string, string>, args: string[] = []): Promise<ServerProcess> {
  return spawnCli(['worker', ...args], env, 'OpenProfiles worker is running', '');
}

async function spawnCli(args: string[], env: Record<string, string>, readyLine: string, url: string, options: SpawnOptions = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, [options.cli ?? CLI, ...args], {
    cwd: options.cwd,
    env: { ...process.env, PROFILES_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  // 'close', not 'exit': it comes once the process's output is read too, so output() after stop() holds its last lines.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  let exitedEarly: { code: number | null } | null = null;
  child.once('exit', (code) => (exitedEarly = { code }));
  await waitFor(() => out.includes(readyLine) || exitedEarly, { timeoutMs: 30_000, description: `${args[0]} to print "${readyLine}" or exit`, intervalMs: 10 }).catch((err: Error) => {
    child.kill('SIGKILL');
    throw new Error(`${err.message}; it printed:\n${out}`);
  });
  if (!out.includes(readyLine)) throw new Error(`${args[0]} exited with ${exitedEarly!.code} before it was ready:\n${out}`);
  return {
    child,
    url,
    output: () => out,
    /** Reads what a serving process answered (test/support/documented-answers.ts), then SIGTERM. */
    async stop() {
      if (url && child.exitCode === null && child.signalCode === null) await checkSpawnedServer(url);
      child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Reads a spawned server's answers over HTTPS (before it is stopped): test/support/documented-answers.ts. */
async function checkSpawnedServer(url: string): Promise<void> {
  try {
    const [spec, metrics] = await Promise.all([request(url, 'GET', '/openapi.json'), request(url, 'GET', '/metrics')]);
    if (spec.status !== 200 || metrics.status !== 200) throw new Error(`/openapi.json answered ${spec.status}, /metrics ${metrics.status}`);
    recordUndocumented(url, spec.body, metrics.text);
  } catch (err) {
    recordFailure(url, `could not read what the server answered before stopping it: ${(err as Error).message}`);
  }
}

const agent = new https.Agent({ rejectUnauthorized: false, keepAlive: true, maxSockets: 64 });

export interface HttpsAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
  text: string;
}

/**
 * One request to a spawned server: HTTPS (its self-signed certificate accepted), or plain HTTP for
 * an http: URL. The answer is checked against the OpenAPI document (test/support/documented-answers.ts).
 */
export async function request(url: string, method: string, path: string, options: { key?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<HttpsAnswer> {
  const [answer, api] = await Promise.all([send(url, method, path, options), builtDocument()]);
  const contentType = answer.headers['content-type'];
  recordAnswer(url, api, method, path, answer.status, Array.isArray(contentType) ? contentType[0] : contentType, answer.text);
  return answer;
}

function send(url: string, method: string, path: string, options: { key?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<HttpsAnswer> {
  const text = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  const headers: Record<string, string | number> = { ...options.headers };
  if (options.key) headers.key = options.key;
  if (text !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = Buffer.byteLength(text);
  }
  return new Promise((resolve, reject) => {
    const isPlain = url.startsWith('http:');
    const req = (isPlain ? http : https).request(`${url}${path}`, { method, headers, agent: isPlain ? undefined : agent, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        let body: unknown = null;
        try {
          body = raw ? JSON.parse(raw) : null;
        } catch {
          body = raw;
        }
        resolve({ status: res.statusCode!, headers: res.headers, body, text: raw });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within 30 s`)));
    req.on('error', reject);
    req.end(text);
  });
}

/** Waits until a spawned server takes a key the CLI just created, as it does at its next directory poll. */
export function keyTaken(url: string, key: string): Promise<true> {
  return waitFor(async () => (await request(url, 'GET', '/resources/v2/customerprofile/x', { key })).status === 404, {
    timeoutMs: 10_000,
    intervalMs: 50,
    description: 'the server to take the new key',
  });
}
