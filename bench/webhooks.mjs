#!/usr/bin/env node
// node bench/webhooks.mjs [--quick] [--rounds 2] [--only delivery,hot] [--cpu-prof]   (after npm run build)
// The webhook scenario alone (scenarios/webhooks.mjs), on SQLite: WEBHOOK_EVENTS events (default
// 50,000; 10,000 with --quick) delivered to a local HTTPS receiver against a raw baseline of
// signed POSTs, and hot end to end without and with one endpoint, alternated over --rounds
// (default 2: without, with, with, without), WEBHOOK_SECONDS of load each (default 30; 8 with --quick).
// --cpu-prof: the delivery run's server under `node --cpu-prof`; prints where each of its threads
// spent the time (the deliverer works in the applier's thread), and the .cpuprofile files' paths.
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { summarize } from './lib/cpu-profile.mjs';
import { printTable } from './lib/report.mjs';
import { hotWithWebhook, webhookDelivery, webhookTables } from './scenarios/webhooks.mjs';

const { values: opts } = parseArgs({ options: { quick: { type: 'boolean' }, rounds: { type: 'string' }, only: { type: 'string', default: 'delivery,hot' }, 'cpu-prof': { type: 'boolean' } } });
const QUICK = Boolean(opts.quick);
const events = Number(process.env.WEBHOOK_EVENTS ?? (QUICK ? 10_000 : 50_000));
const seconds = Number(process.env.WEBHOOK_SECONDS ?? (QUICK ? 8 : 30));
const rounds = Number(opts.rounds ?? (QUICK ? 1 : 2));
const started = Date.now();
const log = (msg) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${msg}`);
const P = { connections: 50, queueLimit: 200_000, e2eSeconds: seconds, readSeconds: 1, profiles: 10_000 };
const only = opts.only.split(',');
const profileDir = opts['cpu-prof'] ? mkdtempSync(join(tmpdir(), 'openprofiles-profile-webhooks-')) : null;
const delivery = only.includes('delivery') ? await webhookDelivery({ events, log, nodeArgs: profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [] }) : null;
// One profile per thread: CPU.<date>.<pid>.<thread id>.<seq>.cpuprofile; thread 0 is the main thread.
for (const f of profileDir ? readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile')).sort() : []) {
  const summary = summarize(join(profileDir, f), 25);
  console.log(`\ndelivery, thread ${f.split('.').at(-3)}: ${summary.seconds} s sampled, idle ${summary.idlePct} %; ${join(profileDir, f)}`);
  console.table(summary.bySelf);
  console.table(summary.byTotal);
}
const hot = only.includes('hot') ? await hotWithWebhook({ P, rounds, drainSeconds: QUICK ? 30 : 120, log }) : null;
for (const [title, rows] of webhookTables(delivery, hot)) printTable(title, rows);
console.log(`\n${JSON.stringify({ delivery, hot: hot && { ...hot, runs: hot.runs.map(({ e2e, ...r }) => r) } })}`);
