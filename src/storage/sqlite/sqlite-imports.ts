import type Database from 'better-sqlite3';
import type { Import, ImportChunk, ImportReject, ImportState, NewImport } from '../../model/import.js';
import { type ImportChunkRow, type ImportRejectRow, type ImportRow, toImport, toImportChunk, toImportReject } from '../rows.js';

const CHUNK_COLUMNS = 'chunk, transid, rows, rejected, first_line, last_line, is_accepted, applied, skipped';

/** The tenant's imports that finished before a time (retention). */
const FINISHED_BEFORE = "SELECT id FROM imports WHERE tenant_id = @tenantId AND state <> 'running' AND finished_at < @before";

/** The prepared statements of `SqliteImports`. */
const statementsOf = (db: Database.Database) => ({
  insert: db.prepare(
    `INSERT INTO imports (id, tenant_id, format, appid, source, is_upload, file_hash, line_count, started_at)
     VALUES (@id, @tenantId, @format, @appid, @source, @isUpload, @fileHash, @lineCount, @startedAt) ON CONFLICT (id) DO NOTHING`,
  ),
  get: db.prepare<[number, string], ImportRow>('SELECT * FROM imports WHERE tenant_id = ? AND id = ?'),
  claim: db.prepare(
    `UPDATE imports SET runner = @runner, lease_until = @leaseUntil
     WHERE tenant_id = @tenantId AND id = @id AND (runner IS NULL OR lease_until < @now OR runner = @runner OR runner = @staleRunner)`,
  ),
  deleteRejects: db.prepare('DELETE FROM import_rejects WHERE import_id = ? AND line BETWEEN ? AND ?'),
  insertReject: db.prepare('INSERT INTO import_rejects (import_id, line, tenant_id, code, errors, raw) VALUES (?, ?, ?, ?, ?, ?)'),
  upsertChunk: db.prepare(
    `INSERT INTO import_chunks (import_id, chunk, tenant_id, transid, rows, rejected, first_line, last_line)
     VALUES (@id, @chunk, @tenantId, @transid, @rows, @rejected, @firstLine, @lastLine)
     ON CONFLICT (import_id, chunk) DO UPDATE SET rows = excluded.rows, rejected = excluded.rejected, first_line = excluded.first_line, last_line = excluded.last_line`,
  ),
  accepted: db.prepare('UPDATE import_chunks SET is_accepted = 1 WHERE tenant_id = ? AND import_id = ? AND chunk = ?'),
  chunks: db.prepare<[number, string], ImportChunkRow>(`SELECT ${CHUNK_COLUMNS} FROM import_chunks WHERE tenant_id = ? AND import_id = ? ORDER BY chunk`),
  rejects: db.prepare<[number, string, number, number], ImportRejectRow>(
    'SELECT line, code, errors, raw FROM import_rejects WHERE tenant_id = ? AND import_id = ? AND line > ? ORDER BY line LIMIT ?',
  ),
  finish: db.prepare('UPDATE imports SET state = ?, error = ?, finished_at = ?, runner = NULL, lease_until = NULL WHERE tenant_id = ? AND id = ?'),
  runningUploads: db.prepare<[], ImportRow>("SELECT * FROM imports WHERE state = 'running' AND is_upload = 1 ORDER BY started_at"),
  purgeRejects: db.prepare<{ tenantId: number; before: number; limit: number }>(
    `DELETE FROM import_rejects WHERE (import_id, line) IN (SELECT import_id, line FROM import_rejects WHERE import_id IN (${FINISHED_BEFORE}) LIMIT @limit)`,
  ),
  purgeChunks: db.prepare<{ tenantId: number; before: number; limit: number }>(
    `DELETE FROM import_chunks WHERE (import_id, chunk) IN (SELECT import_id, chunk FROM import_chunks WHERE import_id IN (${FINISHED_BEFORE}) LIMIT @limit)`,
  ),
  purgeImports: db.prepare<{ tenantId: number; before: number; limit: number }>(`DELETE FROM imports WHERE id IN (${FINISHED_BEFORE} LIMIT @limit)`),
});

/** Imports in SQLite (the `Imports` role), in the store's database file. */
export class SqliteImports {
  private readonly s: ReturnType<typeof statementsOf>;
  private readonly saveAll;
  private readonly markAll;
  private readonly purgeAll;

  constructor(db: Database.Database) {
    this.s = statementsOf(db);
    this.saveAll = db.transaction((tenantId: number, id: string, chunks: ReadonlyArray<{ chunk: ImportChunk; rejects: readonly ImportReject[] }>) => {
      for (const { chunk, rejects } of chunks) {
        this.s.deleteRejects.run(id, chunk.firstLine, chunk.lastLine);
        for (const r of rejects) this.s.insertReject.run(id, r.line, tenantId, r.code, JSON.stringify(r.errors), r.raw);
        this.s.upsertChunk.run({ id, tenantId, ...chunk });
      }
    });
    this.markAll = db.transaction((tenantId: number, id: string, chunks: readonly number[]) => {
      for (const chunk of chunks) this.s.accepted.run(tenantId, id, chunk);
    });
    // Each kind gets what the ones before left of the limit: an import goes once its rows are gone.
    this.purgeAll = db.transaction((tenantId: number, before: number, limit: number) => {
      let deleted = 0;
      for (const statement of [this.s.purgeRejects, this.s.purgeChunks, this.s.purgeImports]) {
        if (deleted < limit) deleted += statement.run({ tenantId, before, limit: limit - deleted }).changes;
      }
      return deleted;
    });
  }

  startImport(tenantId: number, spec: NewImport): Import {
    this.s.insert.run({ ...spec, tenantId, isUpload: spec.isUpload ? 1 : 0 });
    return this.getImport(tenantId, spec.id)!;
  }

  getImport(tenantId: number, id: string): Import | null {
    const row = this.s.get.get(tenantId, id);
    return row ? toImport(row) : null;
  }

  claimImport(tenantId: number, id: string, runner: string, leaseUntil: number, now: number, staleRunner: string | null): boolean {
    return this.s.claim.run({ tenantId, id, runner, leaseUntil, now, staleRunner }).changes === 1;
  }

  saveChunks(tenantId: number, id: string, chunks: ReadonlyArray<{ chunk: ImportChunk; rejects: readonly ImportReject[] }>): void {
    this.saveAll.immediate(tenantId, id, chunks);
  }

  markChunksAccepted(tenantId: number, id: string, chunks: readonly number[]): void {
    this.markAll.immediate(tenantId, id, chunks);
  }

  listChunks(tenantId: number, id: string): ImportChunk[] {
    return this.s.chunks.all(tenantId, id).map(toImportChunk);
  }

  listRejects(tenantId: number, id: string, afterLine: number, limit: number): ImportReject[] {
    return this.s.rejects.all(tenantId, id, afterLine, limit).map(toImportReject);
  }

  finishImport(tenantId: number, id: string, state: Exclude<ImportState, 'running'>, error: string | null, finishedAt: number): void {
    this.s.finish.run(state, error, finishedAt, tenantId, id);
  }

  listRunningUploads(): Import[] {
    return this.s.runningUploads.all().map(toImport);
  }

  purgeFinished(tenantId: number, before: number, limit: number): number {
    return this.purgeAll.immediate(tenantId, before, limit);
  }
}
