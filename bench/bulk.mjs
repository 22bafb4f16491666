#!/usr/bin/env node
// node bench/bulk.mjs [--no-postgres]   (after npm run build)
// The bulk scenario alone (scenarios/bulk.mjs): BULK_PROFILES master profiles (default 1,000,000)
// on SQLite, then on PostgreSQL at PROFILES_TEST_DATABASE_URL; prints its tables.
import { parseArgs } from 'node:util';
import { printTable } from './lib/report.mjs';
import { bulk, bulkTables } from './scenarios/bulk.mjs';

const { values: opts } = parseArgs({ options: { 'no-postgres': { type: 'boolean' } } });
const profiles = Number(process.env.BULK_PROFILES ?? 1_000_000);
const started = Date.now();
const log = (msg) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${msg}`);
const runs = [];
for (const backend of opts['no-postgres'] ? ['sqlite'] : ['sqlite', 'postgres']) runs.push(await bulk({ backend, profiles, log }));
for (const [title, rows] of bulkTables(runs)) printTable(title, rows);
console.log(`\n${JSON.stringify(runs)}`);
