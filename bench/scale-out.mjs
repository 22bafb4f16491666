#!/usr/bin/env node
// Scale-out throughput on PostgreSQL: N API processes (serve --no-worker) and M worker processes
// on a fresh database, a load of 100-record app-profile updates over 10,000 customers through
// every API node, then a wait until the queue is drained.
//
//   node bench/scale-out.mjs --apis 2 --workers 4 [--seconds 20] [--clients 16]
//   node bench/scale-out.mjs --seconds 120 --retention-seconds 10 --records-per-second 8000
//       retention under a constant load the workers keep up with: the table size over time
//
// Prints accepted records/s (during the load) and end-to-end records/s (first accept to last
// applied), with the largest queue depth seen. Needs `npm run build` and PostgreSQL at
// PROFILES_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test).
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import https from 'node:https';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';

const { values: opts } = parseArgs({
  options: {
    apis: { type: 'string', default: '1' },
    workers: { type: 'string', default: '1' },
    seconds: { type: 'string', default: '20' },
    clients: { type: 'string', default: '16' },
    'retention-seconds': { type: 'string' },
    'records-per-second': { type: 'string' },
  },
});
const APIS = Number(opts.apis);
const WORKERS = Number(opts.workers);
const SECONDS = Number(opts.seconds);
const CLIENTS = Number(opts.clients);
/** Target load; unpaced (as fast as the clients go) without it. */
const PACE_RPS = opts['records-per-second'] === undefined ? null : Number(opts['records-per-second']) / 100;
const RETENTION_S = opts['retention-seconds'] === undefined ? null : Number(opts['retention-seconds']);
const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const BASE_URL = process.env.PROFILES_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

const dbName = `openprofiles_bench_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: BASE_URL });
await admin.connect();
await admin.query(`CREATE DATABASE ${dbName}`);
await admin.end();
const dbUrl = Object.assign(new URL(BASE_URL), { pathname: `/${dbName}` }).toString();
const dataDir = mkdtempSync(join(tmpdir(), 'openprofiles-bench-'));
const env = {
  ...process.env,
  PROFILES_DATABASE_URL: dbUrl,
  PROFILES_DATA_DIR: dataDir,
  PROFILES_DEMO: 'false',
  PROFILES_LOG_LEVEL: 'info',
  ...(RETENTION_S !== null && { PROFILES_RETENTION_SWEEP_MS: '1000' }),
};
const cli = (...args) => JSON.parse(execFileSync(process.execPath, [CLI, ...args, '--json'], { env }).toString().trim().split('\n').at(-1));

const tenant = cli('tenant', 'create', 'bench');
cli('tenant', 'update', String(tenant.id), '--rate-limit', '1000000', '--upsert-on-update', 'true');
if (RETENTION_S !== null) cli('tenant', 'update', String(tenant.id), '--retention-days', String(RETENTION_S / 86_400));
const { appid } = cli('app', 'create', String(tenant.id), '--channel', 'rt');

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
function start(args, ready) {
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
      if (out.includes(ready)) resolve(child);
      if (out.length > 1e6) out = out.slice(-1e5);
    });
    child.once('exit', (code) => reject(new Error(`${args[0]} exited ${code}`)));
  });
}
const processes = [];
const urls = [];
for (let i = 0; i < APIS; i++) {
  const port = await freePort();
  processes.push(await start(['serve', '--no-worker', '--port', String(port), '--host', '127.0.0.1'], 'OpenProfiles is serving'));
  urls.push(`https://127.0.0.1:${port}`);
}
for (let i = 0; i < WORKERS; i++) processes.push(await start(['worker', '--concurrency', '1'], 'OpenProfiles worker is running'));

const agent = new https.Agent({ rejectUnauthorized: false, keepAlive: true, maxSockets: CLIENTS });
function put(url, body) {
  return new Promise((resolve, reject) => {
    const req = https.request(`${url}/resources/v2/customerprofiles/${appid}`, { method: 'PUT', agent, headers: { key: tenant.key, 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end(body);
  });
}
const body = () =>
  JSON.stringify({
    Records: Array.from({ length: 100 }, () => {
      const c = Math.floor(Math.random() * 10_000);
      return { customerId: `cust-${c}`, Attributes: { userId: `user-${c}`, deviceId: `dev-${c}`, os: 'ios', last_opened: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), status: '1' } };
    }),
  });

const db = new pg.Client({ connectionString: dbUrl });
await db.connect();
const depth = async () => Number((await db.query("SELECT COALESCE(SUM(total_count), 0) AS n FROM write_transactions WHERE state <> 'done'")).rows[0].n);
let maxDepth = 0;
let accepted = 0;
const started = Date.now();
const deadline = started + SECONDS * 1000;
const sizes = [];
const tableSize = async () =>
  (
    await db.query(
      "SELECT pg_total_relation_size('write_transactions') AS bytes, (SELECT COUNT(*) FROM write_transactions) AS rows",
    )
  ).rows[0];
const sampler = setInterval(async () => (maxDepth = Math.max(maxDepth, await depth())), 500);
const sizeSampler =
  RETENTION_S === null
    ? null
    : setInterval(async () => {
        const { bytes, rows } = await tableSize();
        sizes.push({ second: Math.round((Date.now() - started) / 1000), rows: Number(rows), megabytes: Number((bytes / 1048576).toFixed(1)) });
      }, 10_000);
await Promise.all(
  Array.from({ length: CLIENTS }, async (_, c) => {
    for (let i = 0; Date.now() < deadline; i++) {
      // Paced clients send request i at its slot in the schedule, so the total rate is PACE_RPS.
      if (PACE_RPS) await new Promise((r) => setTimeout(r, Math.max(0, started + ((i * CLIENTS + c) * 1000) / PACE_RPS - Date.now())));
      const status = await put(urls[(c + i) % urls.length], body());
      if (status === 202) accepted += 100;
      else if (status !== 429 && status !== 503) throw new Error(`HTTP ${status}`);
    }
  }),
);
const loadSeconds = (Date.now() - started) / 1000;
while ((await depth()) > 0) await new Promise((r) => setTimeout(r, 100));
const totalSeconds = (Date.now() - started) / 1000;
clearInterval(sampler);
if (sizeSampler) clearInterval(sizeSampler);
// With retention on, purged rows are gone: count what was accepted (the queue is drained, so all of it was applied).
const applied = RETENTION_S === null ? Number((await db.query("SELECT COALESCE(SUM(total_count), 0) AS n FROM write_transactions WHERE state = 'done'")).rows[0].n) : accepted;
await db.end();

const row = {
  apis: APIS,
  workers: WORKERS,
  clients: CLIENTS,
  acceptedRecords: accepted,
  appliedRecords: applied,
  acceptRecordsPerSecond: Math.round(accepted / loadSeconds),
  endToEndRecordsPerSecond: Math.round(applied / totalSeconds),
  drainSeconds: Number((totalSeconds - loadSeconds).toFixed(1)),
  maxQueueDepthRecords: maxDepth,
};
if (sizes.length) console.table(sizes);
console.table([row]);
console.log(JSON.stringify(row));

for (const p of processes) p.kill('SIGTERM');
await new Promise((r) => setTimeout(r, 1500));
const cleanup = new pg.Client({ connectionString: BASE_URL });
await cleanup.connect();
await cleanup.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
await cleanup.end();
rmSync(dataDir, { recursive: true, force: true });
agent.destroy();
