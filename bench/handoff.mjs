#!/usr/bin/env node
// node bench/handoff.mjs
// What it costs to hand one 100-record write transaction to the committer thread, each way: as the
// records themselves (a structured clone: serialised on the server's thread, rebuilt object by
// object on the committer's, then JSON.stringify'd there for the queue) or as their JSON text
// (stringified on the server's thread; the clone copies one string). v8.serialize/deserialize
// is the structured clone that postMessage runs.
import v8 from 'node:v8';
import { rtRecord } from './lib/records.mjs';

const records = Array.from({ length: 100 }, (_, i) => {
  const { customerId, Attributes } = rtRecord(i);
  return { customerId, attributes: Attributes };
});
const time = (fn, n = 5000) => {
  for (let i = 0; i < 500; i++) fn();
  const started = performance.now();
  for (let i = 0; i < n; i++) fn();
  return Math.round(((performance.now() - started) / n) * 1000);
};
const cloned = v8.serialize(records);
const text = JSON.stringify(records);
const textCloned = v8.serialize(text);
const asRecords = { "server's thread": time(() => v8.serialize(records)), "writer's thread": time(() => v8.deserialize(cloned)) + time(() => JSON.stringify(records)) };
const asText = { "server's thread": time(() => v8.serialize(JSON.stringify(records))), "writer's thread": time(() => v8.deserialize(textCloned)) };
console.log(`one write transaction of 100 rt records (${text.length.toLocaleString('en-US')} bytes of JSON), µs:`);
console.table({ 'as records (structured clone), then JSON.stringify': asRecords, 'as JSON text': asText });
