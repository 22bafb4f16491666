import type { Import, ImportChunk, ImportReject, ImportState, NewImport } from '../../model/import.js';
import { type ImportChunkRow, type ImportRejectRow, type ImportRow, toImport, toImportChunk, toImportReject } from '../rows.js';
import type { Atomically, Queryable } from './postgres-pool.js';

const CHUNK_COLUMNS = 'chunk, transid::text AS transid, rows, rejected, first_line, last_line, is_accepted, applied, skipped';

/** The tenant's imports that finished before a time (retention). */
const FINISHED_BEFORE = "SELECT id FROM imports WHERE tenant_id = $1 AND state <> 'running' AND finished_at < $2";

/** Deletes of the rows of finished imports, in the order `purgeFinished` runs them, at most $3 each. */
const PURGES = [
  `DELETE FROM import_rejects WHERE (import_id, line) IN (SELECT import_id, line FROM import_rejects WHERE import_id IN (${FINISHED_BEFORE}) LIMIT $3)`,
  `DELETE FROM import_chunks WHERE (import_id, chunk) IN (SELECT import_id, chunk FROM import_chunks WHERE import_id IN (${FINISHED_BEFORE}) LIMIT $3)`,
  `DELETE FROM imports WHERE id IN (${FINISHED_BEFORE} LIMIT $3)`,
];

/** Imports in PostgreSQL (the `Imports` role). */
export class PostgresImports {
  constructor(
    private readonly pool: Queryable,
    private readonly atomically: Atomically,
  ) {}

  async startImport(tenantId: number, spec: NewImport): Promise<Import> {
    await this.pool.query(
      `INSERT INTO imports (id, tenant_id, format, appid, source, is_upload, file_hash, line_count, started_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING`,
      [spec.id, tenantId, spec.format, spec.appid, spec.source, spec.isUpload, spec.fileHash, spec.lineCount, spec.startedAt],
    );
    return (await this.getImport(tenantId, spec.id))!;
  }

  async getImport(tenantId: number, id: string): Promise<Import | null> {
    const { rows } = await this.pool.query<ImportRow>('SELECT * FROM imports WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
    return rows[0] ? toImport(rows[0]) : null;
  }

  async claimImport(tenantId: number, id: string, runner: string, leaseUntil: number, now: number, staleRunner: string | null): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE imports SET runner = $3, lease_until = $4
       WHERE tenant_id = $1 AND id = $2 AND (runner IS NULL OR lease_until < $5 OR runner = $3 OR runner = $6)`,
      [tenantId, id, runner, leaseUntil, now, staleRunner],
    );
    return rowCount === 1;
  }

  saveChunks(tenantId: number, id: string, chunks: ReadonlyArray<{ chunk: ImportChunk; rejects: readonly ImportReject[] }>): Promise<void> {
    const plans = chunks.map((c) => c.chunk);
    const rejects = chunks.flatMap((c) => c.rejects);
    return this.atomically(async (c) => {
      await c.query('DELETE FROM import_rejects r USING unnest($2::bigint[], $3::bigint[]) AS k (first, last) WHERE r.import_id = $1 AND r.line BETWEEN k.first AND k.last', [
        id,
        plans.map((p) => p.firstLine),
        plans.map((p) => p.lastLine),
      ]);
      if (rejects.length > 0) {
        await c.query(
          `INSERT INTO import_rejects (import_id, line, tenant_id, code, errors, raw)
           SELECT $1, line, $2, code, errors, raw FROM unnest($3::bigint[], $4::text[], $5::text[], $6::text[]) AS r (line, code, errors, raw)`,
          [id, tenantId, rejects.map((r) => r.line), rejects.map((r) => r.code), rejects.map((r) => JSON.stringify(r.errors)), rejects.map((r) => r.raw)],
        );
      }
      await c.query(
        `INSERT INTO import_chunks (import_id, chunk, tenant_id, transid, rows, rejected, first_line, last_line)
         SELECT $1, chunk, $2, transid, rows, rejected, first_line, last_line
         FROM unnest($3::int[], $4::uuid[], $5::int[], $6::int[], $7::bigint[], $8::bigint[]) AS c (chunk, transid, rows, rejected, first_line, last_line)
         ON CONFLICT (import_id, chunk) DO UPDATE SET rows = excluded.rows, rejected = excluded.rejected, first_line = excluded.first_line, last_line = excluded.last_line`,
        [
          id,
          tenantId,
          plans.map((p) => p.chunk),
          plans.map((p) => p.transid),
          plans.map((p) => p.rows),
          plans.map((p) => p.rejected),
          plans.map((p) => p.firstLine),
          plans.map((p) => p.lastLine),
        ],
      );
    });
  }

  async markChunksAccepted(tenantId: number, id: string, chunks: readonly number[]): Promise<void> {
    await this.pool.query('UPDATE import_chunks SET is_accepted = true WHERE tenant_id = $1 AND import_id = $2 AND chunk = ANY($3::int[])', [tenantId, id, chunks]);
  }

  async listChunks(tenantId: number, id: string): Promise<ImportChunk[]> {
    const { rows } = await this.pool.query<ImportChunkRow>(`SELECT ${CHUNK_COLUMNS} FROM import_chunks WHERE tenant_id = $1 AND import_id = $2 ORDER BY chunk`, [tenantId, id]);
    return rows.map(toImportChunk);
  }

  async listRejects(tenantId: number, id: string, afterLine: number, limit: number): Promise<ImportReject[]> {
    const { rows } = await this.pool.query<ImportRejectRow>(
      'SELECT line, code, errors, raw FROM import_rejects WHERE tenant_id = $1 AND import_id = $2 AND line > $3 ORDER BY line LIMIT $4',
      [tenantId, id, afterLine, limit],
    );
    return rows.map(toImportReject);
  }

  async finishImport(tenantId: number, id: string, state: Exclude<ImportState, 'running'>, error: string | null, finishedAt: number): Promise<void> {
    await this.pool.query('UPDATE imports SET state = $3, error = $4, finished_at = $5, runner = NULL, lease_until = NULL WHERE tenant_id = $1 AND id = $2', [
      tenantId,
      id,
      state,
      error,
      finishedAt,
    ]);
  }

  async listRunningUploads(): Promise<Import[]> {
    const { rows } = await this.pool.query<ImportRow>("SELECT * FROM imports WHERE state = 'running' AND is_upload ORDER BY started_at");
    return rows.map(toImport);
  }

  purgeFinished(tenantId: number, before: number, limit: number): Promise<number> {
    // Each kind gets what the ones before left of the limit: an import goes once its rows are gone.
    return this.atomically(async (c) => {
      let deleted = 0;
      for (const sql of PURGES) if (deleted < limit) deleted += (await c.query(sql, [tenantId, before, limit - deleted])).rowCount ?? 0;
      return deleted;
    });
  }
}
