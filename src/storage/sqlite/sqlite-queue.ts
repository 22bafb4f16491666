import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import type Database from 'better-sqlite3';
import type { ApplyReducer, KeysOf } from '../../model/profile.js';
import type { ClaimedWriteTransaction, EnqueueResult, NewWriteTransaction, QueueStats, RecordResult, WriteRecord } from '../../model/write-transaction.js';
import type { WriteTransactionHeader, WriteTransactionStatus } from '../../model/write-transaction.js';
import { QUEUE_COLUMNS, type QueueRow, type StatusRow, type TenantQueueRow, claimedOf, tallyOf, toQueueStats, toStatus } from '../rows.js';
import { StorageError, StorageUnavailableError, ApplierLockedError } from '../ports.js';
import { syncPath, writeFileDurably } from '../private-files.js';
import { SqliteProfiles } from './sqlite-profiles.js';

/**
 * How often, at most, the applier fsyncs the store's files so that the journal's rows applied
 * before can be deleted, while the queue is not drained (see `applyNext`).
 */
const DURABLE_EVERY_MS = 1000;

const JOURNAL_COLUMNS = 'transid, tenant_id, operation, appid, is_upsert, is_cascade, total_count, idempotency_key, request_hash, accepted_at, records';

type KeyRow = { seq: number; transid: string; request_hash: string | null; accepted_at: number };

/** The values of a write transaction's columns, in `JOURNAL_COLUMNS` order, but its records. */
const headerValues = (wt: WriteTransactionHeader, count: number) =>
  [wt.transid, wt.tenantId, wt.operation, wt.appid, wt.isUpsert ? 1 : 0, wt.isCascade ? 1 : 0, count, wt.idempotencyKey, wt.requestHash, wt.acceptedAt] as const;

/** A queued write transaction as a row of the journal, or of the store's own queue tables. */
type QueuedRow = QueueRow & { total_count: number };

/** The prepared statements of `SqliteQueue`. */
const statementsOf = (db: Database.Database, journal: Database.Database) => ({
  append: journal.prepare(`INSERT INTO journal (${JOURNAL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
  journalByKey: journal.prepare<[number, string], KeyRow>(
    'SELECT seq, transid, request_hash, accepted_at FROM journal WHERE tenant_id = ? AND idempotency_key = ?',
  ),
  forgetJournalKey: journal.prepare('UPDATE journal SET idempotency_key = NULL WHERE seq = ?'),
  doneByKey: db.prepare<[number, string], KeyRow>(
    'SELECT seq, transid, request_hash, accepted_at FROM write_transactions WHERE tenant_id = ? AND idempotency_key = ?',
  ),
  next: journal.prepare<[number, number], QueueRow>(`SELECT ${QUEUE_COLUMNS} FROM journal WHERE seq > ? ORDER BY seq LIMIT ?`),
  truncate: journal.prepare('DELETE FROM journal WHERE seq <= ?'),
  queuedStatus: journal.prepare<[number, string], { transid: string; total_count: number; accepted_at: number }>(
    'SELECT transid, total_count, accepted_at FROM journal WHERE tenant_id = ? AND transid = ?',
  ),
  journalStats: journal.prepare<[number], TenantQueueRow>(
    'SELECT tenant_id, COUNT(*) AS depth, SUM(total_count) AS records, MIN(accepted_at) AS oldest FROM journal WHERE seq > ? GROUP BY tenant_id',
  ),
  appliedSeq: db.prepare<[], number>('SELECT applied_seq FROM journal_state').pluck(),
  moveAppliedSeq: db.prepare('UPDATE journal_state SET applied_seq = ?'),
  record: db.prepare(
    `INSERT INTO write_transactions (seq, transid, tenant_id, operation, appid, is_upsert, is_cascade, total_count, idempotency_key,
       request_hash, accepted_at, state, finished_at, success_count, failure_count, results)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'done', ?, ?, ?, ?)`,
  ),
  tallyChunk: db.prepare('UPDATE import_chunks SET applied = ?, skipped = ? WHERE transid = ?'),
  forgetDoneKey: db.prepare('UPDATE write_transactions SET idempotency_key = NULL WHERE tenant_id = ? AND idempotency_key = ?'),
  hasTenant: db.prepare<[number], number>('SELECT 1 FROM tenants WHERE id = ?').pluck(),
  status: db.prepare<[number, string], StatusRow>(
    'SELECT transid, state, total_count, results, accepted_at, finished_at FROM write_transactions WHERE tenant_id = ? AND transid = ?',
  ),
  purge: db.prepare(
    `DELETE FROM write_transactions WHERE seq IN (
       SELECT seq FROM write_transactions WHERE tenant_id = ? AND state = 'done' AND finished_at < ? LIMIT ?)`,
  ),
});

/**
 * The write transaction queue in SQLite. Accepted write transactions go to the journal
 * (`sqlite-journal.ts`, its own file, group commit); the applier reads them from there in
 * acceptance order and applies each batch, with its results, in one database transaction of the
 * store, which also moves `journal_state.applied_seq` past them. One applier applies a store (the
 * applier lock), so there is nothing to claim: what lies past `applied_seq` is the next batch,
 * read in the apply's database transaction; a failed batch is read again from the same place,
 * and a crash before the commit leaves applied_seq where it was. The journal's rows up to the
 * applied_seq are deleted only after the store's files are fsync'd (`deleteApplied`).
 * The status of a write transaction comes from the store once applied, from the journal before.
 */
export class SqliteQueue {
  private readonly s: ReturnType<typeof statementsOf>;
  /** `Journal.enqueue`: one database transaction of the journal, which takes the write lock first. */
  readonly enqueue: (batch: NewWriteTransaction[], windowMs: number) => EnqueueResult[];
  private readonly applyAll;
  /** When the store's files were last fsync'd for the journal (see DURABLE_EVERY_MS). */
  private lastDurableAt = 0;
  /** The journal holds no applied rows up to here (this connection deleted them). */
  private truncatedTo = 0;
  /** The store's WAL and database files, fsync'd before the journal's rows go (`deleteApplied`). */
  private readonly storeFiles: readonly string[];

  constructor(
    private readonly db: Database.Database,
    private readonly journal: Database.Database,
    private readonly profiles: SqliteProfiles,
    private readonly applierLock: ApplierLock,
    recordsOf: (json: string) => WriteRecord[],
  ) {
    const toClaimed = claimedOf(recordsOf);
    this.s = statementsOf(db, journal);
    this.storeFiles = [`${db.name}-wal`, db.name];
    this.enqueue = journal.transaction((batch: NewWriteTransaction[], windowMs: number): EnqueueResult[] =>
      batch.map((wt) => {
        if (wt.idempotencyKey !== null) {
          // The journal first: its rows are deleted only once applied, so a key not found there
          // is in the store's finished write transactions, if anywhere.
          const queued = this.s.journalByKey.get(wt.tenantId, wt.idempotencyKey);
          const earlier = queued ?? this.s.doneByKey.get(wt.tenantId, wt.idempotencyKey);
          if (earlier && earlier.accepted_at >= wt.acceptedAt - windowMs) {
            return { outcome: earlier.request_hash === wt.requestHash ? 'replayed' : 'conflict', transid: earlier.transid };
          }
          // Past the window the key names the new write; a finished one gives it up when this applies.
          if (queued) this.s.forgetJournalKey.run(queued.seq);
        }
        this.s.append.run(...headerValues(wt, wt.recordCount), wt.recordsJson);
        return { outcome: 'accepted', transid: wt.transid };
      }),
    ).immediate;

    this.applyAll = db.transaction((limit: number, keysOf: KeysOf, reduce: ApplyReducer): ClaimedWriteTransaction[] => {
      // Read under the store's write lock: what lies past applied_seq is the next batch.
      const batch = this.s.next.all(this.s.appliedSeq.get()!, limit).map(toClaimed);
      if (batch.length === 0) return batch;
      const now = Date.now();
      // A removed tenant's write transactions (being erased) are dropped: nothing is stored for them.
      const removed = new Set<number>();
      for (const tenantId of new Set(batch.map((wt) => wt.tenantId))) if (!this.s.hasTenant.get(tenantId)) removed.add(tenantId);
      const part = removed.size === 0 ? batch : batch.filter((wt) => !removed.has(wt.tenantId));
      if (part.length > 0) {
        const snapshot = this.profiles.snapshot(keysOf(part));
        const { changes, results } = reduce(part, snapshot, now);
        this.profiles.write(changes, SqliteProfiles.loaded(snapshot));
        for (const wt of part) {
          const own: RecordResult[] = results.get(wt.transid) ?? [];
          const failures = own.filter((r) => r.code !== '1000').length;
          // A key reused past its window names this write transaction from now on.
          if (wt.idempotencyKey !== null) this.s.forgetDoneKey.run(wt.tenantId, wt.idempotencyKey);
          this.s.record.run(wt.seq, ...headerValues(wt, wt.records.length), now, own.length - failures, failures, JSON.stringify(own));
          if (wt.operation === 'importProfiles') {
            const { applied, skipped } = tallyOf(own);
            this.s.tallyChunk.run(applied, skipped, wt.transid);
          }
        }
      }
      this.s.moveAppliedSeq.run(batch.at(-1)!.seq);
      return batch;
    });
  }

  /**
   * Takes the store's applier lock, then applies the next batch (the oldest write transactions not yet applied: one applier per store,
   * nothing is claimed) in one database transaction. Its commit does not wait for the disk
   * (`synchronous=NORMAL`): nothing answered depends on it while the journal keeps its write
   * transactions. If the machine loses power first, the store comes back as it was before,
   * `applied_seq` with it, and the same write transactions are applied again from the journal.
   * At most once every DURABLE_EVERY_MS, and once nothing is left to apply, `deleteApplied`
   * makes the applies durable and then lets the journal's rows go.
   */
  applyNext(limit: number, keysOf: KeysOf, reduce: ApplyReducer): ClaimedWriteTransaction[] {
    this.applierLock.acquire();
    // Pragmas, not prepared statements: SQLite applies this one when a statement is prepared.
    this.db.pragma('synchronous = NORMAL');
    let applied: ClaimedWriteTransaction[];
    try {
      applied = this.applyAll.immediate(limit, keysOf, reduce);
    } finally {
      this.db.pragma('synchronous = FULL');
    }
    if (applied.length === 0 || Date.now() - this.lastDurableAt >= DURABLE_EVERY_MS) this.deleteApplied();
    return applied;
  }

  /**
   * The one rule that lets a journal row go: the store's files are fsync'd first, with every apply
   * up to the applied_seq read before (this connection's, or a stopped applier's still in the page
   * cache). An fsync cannot be skipped the way a commit that changes nothing writes nothing.
   */
  private deleteApplied(): void {
    const appliedSeq = this.s.appliedSeq.get()!;
    if (appliedSeq <= this.truncatedTo) return;
    for (const file of this.storeFiles) syncPath(file);
    this.lastDurableAt = Date.now();
    this.s.truncate.run(appliedSeq);
    this.truncatedTo = appliedSeq;
  }

  getWriteTransactionStatus(tenantId: number, transid: string): WriteTransactionStatus | null {
    // The journal first: a row is deleted from it only after it is applied, in the store.
    const queued = this.s.queuedStatus.get(tenantId, transid);
    const done = this.s.status.get(tenantId, transid);
    if (done) return toStatus(done);
    if (!queued) return null;
    return { transid, state: 'queued', totalCount: queued.total_count, results: null, acceptedAt: Number(queued.accepted_at), finishedAt: null };
  }

  queueStats(): QueueStats {
    return toQueueStats(this.s.journalStats.all(this.s.appliedSeq.get()!));
  }

  purgeWriteTransactions(tenantId: number, before: number, limit: number): number {
    return this.s.purge.run(tenantId, before, limit).changes;
  }

  /**
   * Checks that the journal file is this store's, and moves to it the write transactions queued in
   * the store's own tables: an older store's queue (before the journal), or what a restored backup
   * carries (`carryQueued`). Runs when the store is migrated, before anything is applied.
   */
  adoptQueued(journalId: string, journalFile: string): void {
    const { db, journal } = this;
    db.transaction(() => {
      const ownId = db.prepare<[], string | null>('SELECT journal_id FROM journal_state').pluck().get();
      if (ownId !== null && ownId !== journalId) {
        throw new StorageError(
          `${journalFile} is not this store's journal (the store's is ${ownId}, the file's ${journalId}). Accepted writes not yet applied are in ` +
            'the journal that belongs to the store: put it back, or restore the store from a backup (docs/backup.md).',
        );
      }
      if (ownId === null) {
        if (journal.prepare('SELECT 1 FROM journal LIMIT 1').get()) {
          throw new StorageError(`${journalFile} holds the writes of another store (this one has none recorded); move it aside`);
        }
        db.prepare('UPDATE journal_state SET journal_id = ?').run(journalId);
      }
      const queued = db
        .prepare<[], QueuedRow>(
          `SELECT wt.seq, ${JOURNAL_COLUMNS.replace(', records', '')}, r.records FROM write_transactions wt
           JOIN write_transaction_records r ON r.seq = wt.seq WHERE wt.state <> 'done' ORDER BY wt.seq`,
        )
        .all();
      const lastSeq = db.prepare<[], number>('SELECT COALESCE(MAX(seq), 0) FROM write_transactions').pluck().get()!;
      journal
        .transaction(() => {
          const insert = journal.prepare(`INSERT OR IGNORE INTO journal (seq, ${JOURNAL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
          for (const r of queued) {
            insert.run(r.seq, r.transid, r.tenant_id, r.operation, r.appid, r.is_upsert, r.is_cascade, r.total_count, r.idempotency_key, r.request_hash, r.accepted_at, r.records);
          }
          // New rows follow every seq the store has used: `write_transactions` is keyed by it.
          if (journal.prepare("UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = 'journal'").run(lastSeq).changes === 0) {
            journal.prepare("INSERT INTO sqlite_sequence (name, seq) VALUES ('journal', ?)").run(lastSeq);
          }
        })
        .immediate();
      db.exec("DELETE FROM write_transaction_records WHERE seq IN (SELECT seq FROM write_transactions WHERE state <> 'done')");
      db.exec("DELETE FROM write_transactions WHERE state <> 'done'");
    }).immediate();
  }

  /** The journal's rows not yet applied, oldest first, for `carryQueued`. */
  unapplied(): QueuedRow[] {
    return this.journal.prepare<[number], QueuedRow>(`SELECT seq, ${JOURNAL_COLUMNS} FROM journal WHERE seq > ? ORDER BY seq`).all(this.s.appliedSeq.get()!);
  }
}

/**
 * Writes into a copy of the store (a backup) the write transactions that the journal held when the
 * copy was begun and the copy had not applied, into the store's own queue tables, and forgets the
 * journal's id: a store restored from the copy moves them into a journal of its own when opened.
 */
export function carryQueued(copy: Database.Database, queued: readonly QueuedRow[]): void {
  copy
    .transaction(() => {
      const appliedSeq = copy.prepare<[], number>('SELECT applied_seq FROM journal_state').pluck().get()!;
      copy.prepare('UPDATE journal_state SET journal_id = NULL').run();
      const forgetKey = copy.prepare('UPDATE write_transactions SET idempotency_key = NULL WHERE tenant_id = ? AND idempotency_key = ?');
      const insert = copy.prepare(`INSERT INTO write_transactions (seq, ${JOURNAL_COLUMNS.replace(', records', '')}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
      const insertRecords = copy.prepare('INSERT INTO write_transaction_records (seq, records) VALUES (?, ?)');
      for (const r of queued) {
        if (Number(r.seq) <= appliedSeq) continue;
        if (r.idempotency_key !== null) forgetKey.run(r.tenant_id, r.idempotency_key);
        insert.run(r.seq, r.transid, r.tenant_id, r.operation, r.appid, r.is_upsert, r.is_cascade, r.total_count, r.idempotency_key, r.request_hash, r.accepted_at);
        insertRecords.run(r.seq, r.records);
      }
    })
    .immediate();
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** This boot of the machine (Linux), so that a lock left by a power cut is not taken for a live one whose pid was reused. */
const BOOT_ID = existsSync('/proc/sys/kernel/random/boot_id') ? readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() : '';

/**
 * The applier lock: one applier per SQLite store, a pid file beside the database (`<pid> <boot id>`). Every
 * process using an embedded store runs on this host, so a holder that is no longer alive, or that
 * held it before the machine restarted, is detected and replaced. The file is written whole and
 * durably (`writeFileDurably`), and created only where none exists. This is what lets the adapter
 * apply from applied_seq with nothing claimed.
 */
export class ApplierLock {
  private isHeld = false;

  constructor(private readonly path: string) {}

  acquire(): void {
    if (this.isHeld) return;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileDurably(this.path, `${process.pid} ${BOOT_ID}`, { isExclusive: true });
        this.isHeld = true;
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const [pidText, bootId = ''] = readFileSync(this.path, 'utf8').trim().split(' ');
      const holder = Number(pidText);
      // A file of an older version holds the pid alone.
      const isThisBoot = bootId === '' || bootId === BOOT_ID;
      if (holder === process.pid && isThisBoot) {
        this.isHeld = true;
        return;
      }
      if (Number.isInteger(holder) && holder > 0 && isThisBoot && isAlive(holder)) {
        throw new ApplierLockedError(`process ${holder} applies this SQLite store's queue (one applier per store)`);
      }
      unlinkSync(this.path);
    }
    throw new StorageUnavailableError(`could not take ${this.path}`);
  }

  release(): void {
    if (!this.isHeld) return;
    this.isHeld = false;
    try {
      unlinkSync(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}
