#!/usr/bin/env node
// node bench/import.mjs [--no-postgres]   (after npm run build)
// The import scenario alone (scenarios/import.mjs): IMPORT_PROFILES master profiles (default
// 1,000,000) on SQLite, then on PostgreSQL at PROFILES_TEST_DATABASE_URL; prints its table.
import { parseArgs } from 'node:util';
import { printTable } from './lib/report.mjs';
import { importBench, importTable } from './scenarios/import.mjs';

const { values: opts } = parseArgs({ options: { 'no-postgres': { type: 'boolean' } } });
const profiles = Number(process.env.IMPORT_PROFILES ?? 1_000_000);
const started = Date.now();
const log = (msg) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${msg}`);
const runs = [];
for (const backend of opts['no-postgres'] ? ['sqlite'] : ['sqlite', 'postgres']) runs.push(await importBench({ backend, profiles, log }));
printTable(...importTable(runs));
console.log(`\n${JSON.stringify(runs)}`);
