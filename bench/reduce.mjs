#!/usr/bin/env node
// node bench/reduce.mjs (after npm run build)
// The applying thread's own work for an insert, without the store: derive the records of a
// stored body (recordsOfStored), reduce batches of 16 write transactions of 100 new rt profiles
// against an empty snapshot, and serialise each row's attributes as the store's write does.
// Prints nanoseconds per record. To compare two versions, run it from each checkout in turn.
import { reduceWriteTransactions } from '../dist/domain/apply.js';
import { recordsOfStored, storedBody } from '../dist/domain/write-requests.js';
import { rtBodies } from './lib/records.mjs';

const BATCH = 16;
const target = { kind: 'app', app: { appid: 'a1', tenantId: 1, channel: 'rt', createdAt: '' }, schema: new Map() };
const next = rtBodies({ space: 100_000_000 });
const stored = Array.from({ length: 10 * BATCH }, () => storedBody(next(), target)); // next() gives a body's JSON text

let seq = 0;
function applyAll() {
  let records = 0;
  for (let i = 0; i < stored.length; i += BATCH) {
    const batch = stored.slice(i, i + BATCH).map((text) => {
      seq++;
      return { seq, transid: `t${seq}`, tenantId: 1, operation: 'updateAppProfile', appid: 'a1', records: recordsOfStored(text), isUpsert: true, isCascade: false, idempotencyKey: null, requestHash: null, acceptedAt: 0 };
    });
    const { changes } = reduceWriteTransactions(batch, { masters: [], apps: [], appids: [{ tenantId: 1, appid: 'a1' }] }, Date.now());
    for (const row of changes.appUpserts) JSON.stringify(row.attributes);
    records += changes.appUpserts.length;
  }
  return records;
}

for (let i = 0; i < 20; i++) applyAll();
for (let round = 1; round <= 3; round++) {
  const t0 = process.hrtime.bigint();
  let records = 0;
  for (let i = 0; i < 40; i++) records += applyAll();
  console.log(`round ${round}: ${(Number(process.hrtime.bigint() - t0) / records).toFixed(0)} ns a record (parse, reduce, serialise)`);
}
