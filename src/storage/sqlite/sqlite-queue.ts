import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import type Database from 'better-sqlite3';
import type {
  ApplyReducer,
  ClaimedWriteTransaction,
  EnqueueResult,
  KeysOf,
  NewWriteTransaction,
  QueueStats,
  RecordResult,
  WriteTransactionStatus,
} from '../storage.js';
import { QUEUE_HEADER_COLUMNS, type QueueRow, type StatusRow, type TenantQueueRow, toClaimed, toQueueStats, toStatus } from '../rows.js';
import { StorageError, StorageUnavailableError, WorkerLockedError } from '../storage.js';
import { SqliteProfiles } from './sqlite-profiles.js';

/**
 * Records in one part of a batch that may yield (see `Storage.applyWriteTransactions`): about
 * 5 ms of applying on this machine, so a waiting enqueue waits that long rather than a whole batch.
 */
const YIELD_PART_RECORDS = 150;

/** Where the part of `batch` that starts at `from` ends: at least one write transaction. */
function partEnd(batch: readonly ClaimedWriteTransaction[], from: number): number {
  let records = 0;
  let to = from;
  while (to < batch.length && records < YIELD_PART_RECORDS) records += batch[to++].records.length;
  return to;
}

/** The write transaction queue in SQLite: enqueue (group commit), claim, apply, status, purge. */
export class SqliteQueue {
  private readonly insert;
  private readonly insertRecords;
  private readonly recordsOf;
  private readonly dropRecords;
  private readonly hasTenant;
  private readonly drop;
  private readonly byIdempotencyKey;
  private readonly forgetIdempotencyKey;
  private readonly claimStatement;
  private readonly heldBy;
  private readonly finish;
  private readonly status;
  private readonly stats;
  private readonly purge;
  private readonly enqueueAll;
  private readonly claimAll;
  private readonly applyAll;
  private readonly syncNormal;
  private readonly syncFull;

  constructor(
    db: Database.Database,
    private readonly profiles: SqliteProfiles,
  ) {
    this.syncNormal = db.prepare('PRAGMA synchronous = NORMAL');
    this.syncFull = db.prepare('PRAGMA synchronous = FULL');
    this.insert = db.prepare(
      `INSERT INTO write_transactions (transid, tenant_id, operation, appid, is_upsert, is_cascade, total_count, idempotency_key, request_hash, accepted_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    // The records live apart from the queue row, which the claim and the finish update (see
    // migration 2): written once, read by the claim, deleted with the finish.
    this.insertRecords = db.prepare('INSERT INTO write_transaction_records (seq, records) VALUES (?, ?)');
    this.recordsOf = db.prepare<[number], string>('SELECT records FROM write_transaction_records WHERE seq = ?').pluck();
    this.dropRecords = db.prepare('DELETE FROM write_transaction_records WHERE seq = ?');
    this.hasTenant = db.prepare<[number], number>('SELECT 1 FROM tenants WHERE id = ?').pluck();
    this.drop = db.prepare('DELETE FROM write_transactions WHERE seq = ?');
    this.byIdempotencyKey = db.prepare<[number, string], { seq: number; transid: string; request_hash: string | null; accepted_at: number }>(
      'SELECT seq, transid, request_hash, accepted_at FROM write_transactions WHERE tenant_id = ? AND idempotency_key = ?',
    );
    this.forgetIdempotencyKey = db.prepare('UPDATE write_transactions SET idempotency_key = NULL WHERE seq = ?');
    // One claiming worker per store (WorkerLock): whatever is not done is ours to take, oldest first,
    // including claims of a worker that died. That keeps the queue in acceptance order.
    this.claimStatement = db.prepare<[string, number, number], Omit<QueueRow, 'records'>>(
      `UPDATE write_transactions SET state = 'processing', claimed_by = ?, lease_until = ?
       WHERE seq IN (SELECT seq FROM write_transactions WHERE state <> 'done' ORDER BY seq LIMIT ?)
       RETURNING ${QUEUE_HEADER_COLUMNS}`,
    );
    this.heldBy = db.prepare<[number, string], { seq: number }>(
      "SELECT seq FROM write_transactions WHERE seq = ? AND state = 'processing' AND claimed_by = ?",
    );
    this.finish = db.prepare(
      `UPDATE write_transactions SET state = 'done', results = ?, success_count = ?, failure_count = ?, finished_at = ?,
         claimed_by = NULL, lease_until = NULL WHERE seq = ?`,
    );
    this.status = db.prepare<[number, string], StatusRow>(
      'SELECT transid, state, total_count, results, accepted_at, finished_at FROM write_transactions WHERE tenant_id = ? AND transid = ?',
    );
    this.stats = db.prepare<[], TenantQueueRow>(
      "SELECT tenant_id, COUNT(*) AS depth, SUM(total_count) AS records, MIN(accepted_at) AS oldest FROM write_transactions WHERE state <> 'done' GROUP BY tenant_id",
    );
    this.purge = db.prepare(
      `DELETE FROM write_transactions WHERE seq IN (
         SELECT seq FROM write_transactions WHERE tenant_id = ? AND state = 'done' AND finished_at < ? LIMIT ?)`,
    );

    this.enqueueAll = db.transaction((batch: NewWriteTransaction[], windowMs: number): EnqueueResult[] =>
      batch.map((wt) => {
        if (wt.idempotencyKey !== null) {
          const earlier = this.byIdempotencyKey.get(wt.tenantId, wt.idempotencyKey);
          if (earlier && earlier.accepted_at >= wt.acceptedAt - windowMs) {
            return { outcome: earlier.request_hash === wt.requestHash ? 'replayed' : 'conflict', transid: earlier.transid };
          }
          if (earlier) this.forgetIdempotencyKey.run(earlier.seq);
        }
        const { lastInsertRowid } = this.insert.run(
          wt.transid,
          wt.tenantId,
          wt.operation,
          wt.appid,
          wt.isUpsert ? 1 : 0,
          wt.isCascade ? 1 : 0,
          wt.recordCount,
          wt.idempotencyKey,
          wt.requestHash,
          wt.acceptedAt,
        );
        this.insertRecords.run(lastInsertRowid, wt.recordsJson);
        return { outcome: 'accepted', transid: wt.transid };
      }),
    );

    this.claimAll = db.transaction((workerId: string, leaseUntil: number, limit: number): ClaimedWriteTransaction[] =>
      this.claimStatement
        .all(workerId, leaseUntil, limit)
        .map((row) => {
          const records = this.recordsOf.get(Number(row.seq));
          if (records === undefined) throw new StorageError(`queued write transaction ${row.transid} has no records`);
          return toClaimed({ ...row, records });
        })
        .sort((a, b) => a.seq - b.seq),
    );

    this.applyAll = db.transaction(
      (workerId: string, batch: readonly ClaimedWriteTransaction[], keysOf: KeysOf, reduce: ApplyReducer, shouldYield?: () => boolean): string[] => {
        const kept = batch.filter((wt) => this.heldBy.get(wt.seq, workerId) !== undefined);
        const now = Date.now();
        let from = 0;
        while (from < kept.length) {
          const to = shouldYield ? partEnd(kept, from) : kept.length;
          this.applyPart(kept.slice(from, to), keysOf, reduce, now);
          from = to;
          if (shouldYield?.()) break;
        }
        return kept.slice(0, from).map((wt) => wt.transid);
      },
    );
  }

  /**
   * Applies write transactions in the database transaction open, and finishes them; those of a
   * removed tenant (being erased) are deleted instead.
   */
  private applyPart(batch: readonly ClaimedWriteTransaction[], keysOf: KeysOf, reduce: ApplyReducer, now: number): void {
    const part = this.dropRemovedTenants(batch);
    if (part.length === 0) return;
    const snapshot = this.profiles.snapshot(keysOf(part));
    const loaded = SqliteProfiles.loaded(snapshot);
    const { changes, results } = reduce(part, snapshot, now);
    this.profiles.write(changes, loaded);
    for (const wt of part) {
      const own: RecordResult[] = results.get(wt.transid) ?? [];
      const failures = own.filter((r) => r.code !== '1000').length;
      this.finish.run(JSON.stringify(own), own.length - failures, failures, now, wt.seq);
      this.dropRecords.run(wt.seq);
    }
  }

  /** Deletes the write transactions whose tenant was removed; returns the others. */
  private dropRemovedTenants(batch: readonly ClaimedWriteTransaction[]): readonly ClaimedWriteTransaction[] {
    const removed = new Set<number>();
    for (const tenantId of new Set(batch.map((wt) => wt.tenantId))) if (!this.hasTenant.get(tenantId)) removed.add(tenantId);
    if (removed.size === 0) return batch;
    for (const wt of batch) {
      if (!removed.has(wt.tenantId)) continue;
      this.drop.run(wt.seq);
      this.dropRecords.run(wt.seq);
    }
    return batch.filter((wt) => !removed.has(wt.tenantId));
  }

  enqueue(batch: NewWriteTransaction[], windowMs: number): EnqueueResult[] {
    return this.enqueueAll.immediate(batch, windowMs);
  }

  claim(workerId: string, limit: number, leaseMs: number): ClaimedWriteTransaction[] {
    return this.unsynced(() => this.claimAll.immediate(workerId, Date.now() + leaseMs, limit));
  }

  apply(workerId: string, batch: readonly ClaimedWriteTransaction[], keysOf: KeysOf, reduce: ApplyReducer, shouldYield?: () => boolean): string[] {
    return this.unsynced(() => this.applyAll.immediate(workerId, batch, keysOf, reduce, shouldYield));
  }

  /**
   * Runs a claim's or an apply's commit without waiting for the WAL to reach the disk
   * (`synchronous=NORMAL`); every other commit, the enqueue's above all, stays `FULL`. Nothing
   * answered depends on these two: the WAL is written in order and each fsync covers all that
   * came before it, so the next enqueue's commit makes them durable too, and if the machine loses
   * power first, the store comes back as it was before them, with the same write transactions
   * still queued, and they are applied again. (A process crash loses nothing either way: the
   * WAL is in the operating system's hands as soon as `write()` returns.)
   */
  private unsynced<T>(fn: () => T): T {
    this.syncNormal.run();
    try {
      return fn();
    } finally {
      this.syncFull.run();
    }
  }

  getStatus(tenantId: number, transid: string): WriteTransactionStatus | null {
    const r = this.status.get(tenantId, transid);
    return r ? toStatus(r) : null;
  }

  queueStats(): QueueStats {
    return toQueueStats(this.stats.all());
  }

  purgeFinished(tenantId: number, before: number, limit: number): number {
    return this.purge.run(tenantId, before, limit).changes;
  }
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * One claiming worker per SQLite store: a pid file beside the database. Every process using an
 * embedded store runs on this host, so a holder that is no longer alive is detected and replaced.
 * This is what lets the adapter take back a dead worker's claims at once, in order.
 */
export class WorkerLock {
  private isHeld = false;

  constructor(private readonly path: string) {}

  acquire(): void {
    if (this.isHeld) return;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(this.path, 'wx', 0o600);
        writeSync(fd, String(process.pid));
        closeSync(fd);
        this.isHeld = true;
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = Number(readFileSync(this.path, 'utf8').trim());
      if (holder === process.pid) {
        this.isHeld = true;
        return;
      }
      if (Number.isInteger(holder) && holder > 0 && isAlive(holder)) {
        throw new WorkerLockedError(`process ${holder} applies this SQLite store's queue (one worker per store)`);
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
