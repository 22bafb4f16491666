// Run by test/storage/durability-order.test.ts under strace: rounds of "enqueue one write
// transaction, then apply until the queue is drained" on the embedded store, each phase announced
// by a write to `<dir>/phase` so that the trace says which phase a system call belongs to.
//   node apply-rounds.mjs <dir> <rounds>
// Prints {"journalRows":N,"applied":N} last.
import { openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

const dist = new URL('../../dist/', import.meta.url);
const { openEmbeddedStore } = await import(new URL('open-store.js', dist).href);
const { keysOf, reduceWriteTransactions } = await import(new URL('domain/apply.js', dist).href);
const { DEFAULT_TENANT_SETTINGS } = await import(new URL('domain/tenant-settings.js', dist).href);

const [dir, rounds] = [process.argv[2], Number(process.argv[3])];
const phase = openSync(join(dir, 'phase'), 'w');
const storage = openEmbeddedStore({ dataDir: join(dir, 'data') });
await storage.migrate();
const tenant = await storage.directory.createTenant('durability', { ...DEFAULT_TENANT_SETTINGS }, []);
let applied = 0;
for (let round = 1; round <= rounds; round++) {
  writeSync(phase, 'enqueue\n');
  const records = [{ customerId: `c${round}`, attributes: { name: `round ${round}` } }];
  const transid = `00000000-0000-4000-8000-${String(round).padStart(12, '0')}`;
  await storage.journal.enqueue(
    [{ transid, tenantId: tenant.id, operation: 'createProfile', appid: null, isUpsert: false, isCascade: false, idempotencyKey: null, requestHash: null, acceptedAt: Date.now(), recordsJson: JSON.stringify(records), recordCount: 1 }],
    86_400_000,
  );
  writeSync(phase, 'apply\n');
  for (let batch; (batch = await storage.appliers.applier.applyNext(100, keysOf, reduceWriteTransactions)).length > 0; ) applied += batch.length;
}
writeSync(phase, 'done\n');
await storage.close();
const journal = new Database(join(dir, 'data', 'openprofiles.db.journal'), { readonly: true });
const journalRows = journal.prepare('SELECT COUNT(*) FROM journal').pluck().get();
journal.close();
console.log(JSON.stringify({ journalRows, applied }));
