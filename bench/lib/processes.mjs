// Starting the real server (and the bare-Fastify baseline) as child processes, provisioning a
// tenant through the CLI, and reading /metrics.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
export const TEST_DATABASE_URL = process.env.PROFILES_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

export function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** CPU seconds of each thread of a process, by thread id (Linux; empty elsewhere). */
export function threadCpu(pid) {
  const out = new Map();
  if (!existsSync(`/proc/${pid}/task`)) return out;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.set(tid === String(pid) ? 'main thread' : `thread ${tid}`, (Number(fields[11]) + Number(fields[12])) / 100);
  }
  return out;
}

/** Spawns `node <args>` and resolves once stdout shows `ready`. */
export function start(args, env, ready) {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${args.join(' ')} not ready in 60 s`)), 60_000);
    child.stdout.on('data', (c) => {
      out = (out + c).slice(-20_000);
      if (out.includes(ready)) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}`)));
  });
}

export function stop(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', resolve);
    child.kill('SIGTERM');
  });
}

/** A fresh store: a temp data dir, and a fresh PostgreSQL database when `backend` is postgres. */
export async function freshStore(backend) {
  const dataDir = mkdtempSync(join(tmpdir(), 'openprofiles-bench-'));
  let databaseUrl = '';
  let dbName = null;
  if (backend === 'postgres') {
    dbName = `openprofiles_bench_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${dbName}`);
    await admin.end();
    databaseUrl = Object.assign(new URL(TEST_DATABASE_URL), { pathname: `/${dbName}` }).toString();
  }
  return {
    dataDir,
    databaseUrl,
    async dispose() {
      rmSync(dataDir, { recursive: true, force: true });
      if (dbName) {
        const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
        await admin.connect();
        await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
        await admin.end();
      }
    },
  };
}

/**
 * The real server over HTTPS, on a fresh store, with a tenant (batch limit 1000, no rate limit in
 * the way, upsert on update) and one app per channel used. `serveArgs` e.g. ['--no-worker'];
 * `nodeArgs` go to node itself, e.g. ['--cpu-prof', '--cpu-prof-dir', dir].
 */
export async function startService({ backend, serveArgs = [], nodeArgs = [], env: extraEnv = {} }) {
  const store = await freshStore(backend);
  // A server that does not start leaves no store behind (its temp directory, its PostgreSQL database).
  try {
    const env = {
      ...process.env,
      PROFILES_DATA_DIR: store.dataDir,
      PROFILES_DATABASE_URL: store.databaseUrl,
      PROFILES_DEMO: 'false',
      // Info-level request logs cost throughput; the service's log level is an operator's choice.
      PROFILES_LOG_LEVEL: 'warn',
      ...extraEnv,
    };
    const cli = (...args) => JSON.parse(execFileSync(process.execPath, [CLI, ...args, '--json'], { env }).toString().trim().split('\n').at(-1));
    const tenant = cli('tenant', 'create', 'bench');
    cli('tenant', 'update', String(tenant.id), '--rate-limit', '10000000', '--batch-limit', '1000', '--upsert-on-update', 'true');
    const rt = cli('app', 'create', String(tenant.id), '--channel', 'rt', '--appid', 'bench-rt').appid;
    const port = await freePort();
    // Ready line: logged at info, so ask for it by starting at info and reading the JSON `url` line instead.
    const child = await start([...nodeArgs, CLI, 'serve', '--port', String(port), '--host', '127.0.0.1', '--json', ...serveArgs], env, '"url"');
    return {
      url: `${env.PROFILES_PLAIN_HTTP === 'true' ? 'http' : 'https'}://127.0.0.1:${port}`,
      key: tenant.key,
      tenantId: tenant.id,
      appid: rt,
      child,
      store,
      /** The server's environment: for the CLI or other processes on the same store. */
      env,
      async stop() {
        await stop(child);
        await store.dispose();
      },
    };
  } catch (err) {
    await store.dispose();
    throw err;
  }
}

const agents = { 'https:': new https.Agent({ rejectUnauthorized: false, keepAlive: true }), 'http:': new http.Agent({ keepAlive: true }) };

export function get(url, path, headers = {}) {
  const { protocol } = new URL(url);
  return new Promise((resolve, reject) => {
    (protocol === 'https:' ? https : http)
      .get(`${url}${path}`, { agent: agents[protocol], headers }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode, text }));
      })
      .on('error', reject);
  });
}

/** Prometheus text → { name{labels}: value }. */
export async function metrics(url) {
  const { text } = await get(url, '/metrics');
  const out = {};
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out[line.slice(0, i)] = Number(line.slice(i + 1));
  }
  return out;
}

/**
 * Quantile from a Prometheus histogram's cumulative buckets between two scrapes, interpolated
 * within a bucket; `labels` (e.g. `route="/x",method="GET"`) picks one series.
 */
export function histogramQuantile(before, after, name, q, labels = '') {
  // prom-client writes `le` first: name_bucket{le="0.1",route="/x",method="GET"}
  const suffix = labels ? `,${labels}}` : '}';
  const buckets = Object.keys(after)
    .filter((k) => k.startsWith(`${name}_bucket{le=`) && k.endsWith(suffix) && (labels || !k.slice(0, -1).includes(',')))
    .map((k) => ({ le: k.includes('le="+Inf"') ? Infinity : Number(/le="([^"]+)"/.exec(k)[1]), count: after[k] - (before[k] ?? 0) }))
    .sort((a, b) => a.le - b.le);
  const total = buckets.at(-1)?.count ?? 0;
  if (!total) return null;
  const target = q * total;
  let prev = { le: 0, count: 0 };
  for (const b of buckets) {
    if (b.count >= target) {
      if (b.le === Infinity) return prev.le;
      const span = b.count - prev.count || 1;
      return prev.le + ((b.le - prev.le) * (target - prev.count)) / span;
    }
    prev = b;
  }
  return prev.le;
}
