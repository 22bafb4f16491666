#!/usr/bin/env node
// node bench/queue-stats.mjs [--write-transactions 20000] (after npm run build)
// What the server's once-a-second queue statistics cost on the embedded store when the journal
// holds many unapplied write transactions (`serve --no-worker` with no worker running, or a worker
// that fell behind): the same query, with the journal's covering index `journal_stats` and without
// it, side by side. Each write transaction holds 100 rt records, as the benchmark's bodies do.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { openEmbeddedStore } from '../dist/open-store.js';
import { rtRecord } from './lib/records.mjs';

const { values: opts } = parseArgs({ options: { 'write-transactions': { type: 'string', default: '20000' } } });
const total = Number(opts['write-transactions']);
const dir = mkdtempSync(join(tmpdir(), 'openprofiles-queue-stats-'));
try {
  const store = openEmbeddedStore({ dataDir: dir });
  await store.migrate();
  const tenant = await store.directory.createTenant('stats', { responseFormat: 'legacy', batchLimit: 1000, rateLimit: 1000, upsertOnUpdate: true, retentionDays: 7 }, []);
  const recordsJson = JSON.stringify(
    Array.from({ length: 100 }, (_, i) => {
      const { customerId, Attributes } = rtRecord(i);
      return { customerId, attributes: Attributes };
    }),
  );
  const wt = () => ({ transid: randomUUID(), tenantId: tenant.id, operation: 'updateAppProfile', appid: 'rt', isUpsert: true, isCascade: false, idempotencyKey: null, requestHash: null, acceptedAt: Date.now(), recordsJson, recordCount: 100 });
  for (let done = 0; done < total; done += 500) await store.journal.enqueue(Array.from({ length: Math.min(500, total - done) }, wt), 86_400_000);
  const time = async () => {
    await store.journal.queueStats();
    const started = performance.now();
    for (let i = 0; i < 10; i++) await store.journal.queueStats();
    return Number(((performance.now() - started) / 10).toFixed(1));
  };
  const withIndex = await time();
  const journal = new Database(join(dir, 'openprofiles.db.journal'));
  journal.exec('DROP INDEX journal_stats');
  journal.close();
  const withoutIndex = await time();
  console.log(`journal: ${total.toLocaleString('en-US')} unapplied write transactions of 100 records (${recordsJson.length.toLocaleString('en-US')} bytes each)`);
  console.table([{ 'queueStats ms, with journal_stats': withIndex, 'queueStats ms, without': withoutIndex, records: (await store.journal.queueStats()).depthRecords }]);
  await store.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
