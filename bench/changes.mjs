#!/usr/bin/env node
// node bench/changes.mjs [--no-postgres]   (after npm run build)
// The change feed scenario alone (scenarios/changes.mjs): CHANGES_EVENTS events (default 200,000)
// read over HTTPS against a raw SELECT, and the event lag at 1,000 changes/s for CHANGES_SECONDS
// (default 30), on SQLite, then on PostgreSQL at PROFILES_TEST_DATABASE_URL.
import { parseArgs } from 'node:util';
import { printTable } from './lib/report.mjs';
import { changes, changesTable } from './scenarios/changes.mjs';

const { values: opts } = parseArgs({ options: { 'no-postgres': { type: 'boolean' } } });
const events = Number(process.env.CHANGES_EVENTS ?? 200_000);
const seconds = Number(process.env.CHANGES_SECONDS ?? 30);
const started = Date.now();
const log = (msg) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${msg}`);
const runs = [];
for (const backend of opts['no-postgres'] ? ['sqlite'] : ['sqlite', 'postgres']) runs.push(await changes({ backend, events, seconds, log }));
printTable(...changesTable(runs));
console.log(`\n${JSON.stringify(runs)}`);
