import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DirectoryCache } from '../domain/directory.js';
import { ApiError } from '../domain/errors.js';
import { appDocumentRow, type CsvCell, csvColumns, csvRow, documentRow, type ImportSchema, type RowOutcome } from '../domain/import-rows.js';
import type { App } from '../model/directory.js';
import type { Import, ImportChunk, ImportFormat, ImportReject, ImportState, NewImport } from '../model/import.js';
import type { NewWriteTransaction, WriteRecord } from '../model/write-transaction.js';
import type { Store } from '../storage/ports.js';
import { hashFile, readRows, type FileRow } from './import-file.js';

/**
 * Running an import (docs/bulk-data.md, "Import"): the file's rows, in chunks of at most
 * `CHUNK_ROWS`, each chunk validated, stored with its rejects, then accepted as one write
 * transaction whose transid derives from the import and the chunk, in order, a group of chunks at
 * a time. Where a run stopped, the store tells: a chunk is accepted when it is marked so or its
 * transid is in the journal, and the next run reads the file again from the start, passing over
 * the rows of accepted chunks. Then it waits until every chunk is applied and records how the
 * import ended.
 */

/** Rows of the file per chunk (one write transaction), unless `CHUNK_BYTES` comes first. Part of the import's id. */
export const CHUNK_ROWS = 1000;
const CHUNK_BYTES = 4 * 1024 * 1024;
/** Chunks accepted and not yet applied, at most, before the next is accepted. */
const WINDOW_CHUNKS = 8;
/**
 * Chunks accepted together, at most (a group): stored in one database transaction, their write
 * transactions accepted in order (in the CLI, one commit of the journal), and marked accepted in
 * one. Each group is one fsync of each instead of one per chunk.
 */
const GROUP_CHUNKS = WINDOW_CHUNKS / 2;
/** How long a runner holds an import without renewing its lease, ms. */
const LEASE_MS = 60_000;
const POLL_MS = 50;

/** What an import report holds (`GET /openprofiles/v1/imports/{id}`, `openprofiles import --json`). */
export interface ImportSummary {
  id: string;
  status: ImportState;
  rows: { total: number; applied: number; rejected: number; skipped: number };
  transids: string[];
  error?: string;
}

export interface ImportProgress {
  /** Rows read so far (the file's total once it is read). */
  rowsRead: number;
  /** Rows done: applied, skipped or rejected. */
  rowsDone: number;
  /** Lines of the file: an upper bound of its rows. */
  lineCount: number;
}

/** What a run needs: the store, the tenant's schema, and how to accept a write transaction. */
export interface ImportDeps {
  store: Pick<Store, 'imports' | 'journal'>;
  /** The tenant's schema as the directory has it now. */
  schema(): Promise<ImportSchema>;
  defineAppAttributes(appid: string, names: string[]): Promise<void>;
  /**
   * Accepts write transactions durably, in their order (the journal's enqueue, or the server's
   * committer): when it throws, those accepted are the first ones, if any.
   */
  submit(wts: NewWriteTransaction[]): Promise<void>;
  /** Hears that a group of chunks was accepted and marked so (the CLI wakes its applier then, not before: on SQLite the marking would wait for the apply). */
  onAccepted?(): void;
  onProgress?(progress: ImportProgress): void;
  /** True once the run must stop (the server shuts down): it throws ImportStoppedError at its next step. */
  shouldStop?(): boolean;
}

/** The run stopped because `shouldStop` said so; the next run continues it. */
export class ImportStoppedError extends Error {
  override name = 'ImportStoppedError';
}

const checkStop = (deps: ImportDeps) => {
  if (deps.shouldStop?.()) throw new ImportStoppedError('the import stopped; it continues when run again');
};

/**
 * `ImportDeps.schema` and `defineAppAttributes` from the directory's cache: reloaded when the
 * directory changed, so a run sees attributes defined while it runs.
 */
export function directoryDeps(directory: DirectoryCache, tenantId: number): Pick<ImportDeps, 'schema' | 'defineAppAttributes'> {
  return {
    async schema() {
      await directory.refreshIfChanged();
      const ctx = directory.tenant(tenantId);
      if (!ctx) throw new ApiError('7922', `tenant ${tenantId} no longer exists`);
      return { master: ctx.master, app: (appid) => directory.app(tenantId, appid), scope: (appid) => directory.scope(tenantId, appid) };
    },
    defineAppAttributes: (appid, names) => directory.defineAppAttributes(tenantId, appid, names),
  };
}

/** Refused: another live process runs this import. */
export class ImportBusyError extends Error {
  override name = 'ImportBusyError';
}

/** The transid of an import's chunk: a UUID (version 4 layout) made from their hash. */
export function chunkTransid(importId: string, chunk: number): string {
  const h = createHash('sha256').update(`${importId}:${chunk}`).digest('hex');
  const variant = ((parseInt(h[16], 16) & 3) | 8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The import of `path` into the tenant with these arguments: its id derives from all of them and the file's content. */
export async function describeImport(
  path: string,
  spec: { tenantId: number; format: ImportFormat; appid: string | null; source: string; isUpload: boolean },
): Promise<NewImport> {
  const { hash, lines } = await hashFile(path);
  const id = `imp_${createHash('sha256').update([spec.tenantId, spec.format, spec.appid ?? '', hash, CHUNK_ROWS].join('\n')).digest('hex').slice(0, 32)}`;
  return { id, ...spec, fileHash: hash, lineCount: lines, startedAt: Date.now() };
}

const BOOT_ID = existsSync('/proc/sys/kernel/random/boot_id') ? readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() : '';

/** This process, as an import's runner. */
export const RUNNER_ID = `${hostname()}:${process.pid}:${BOOT_ID}`;

/** Whether `runner` was a process of this machine, since its last boot, that is gone. */
export function isRunnerGone(runner: string): boolean {
  const [host, pid, boot] = runner.split(':');
  if (host !== hostname() || boot !== BOOT_ID) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** The import's report from its chunks. */
export function summaryOf(record: Import, chunks: readonly ImportChunk[]): ImportSummary {
  const rows = { total: 0, applied: 0, rejected: 0, skipped: 0 };
  for (const c of chunks) {
    rows.total += c.rows;
    rows.rejected += c.rejected;
    rows.applied += c.applied ?? 0;
    rows.skipped += c.skipped ?? 0;
  }
  const transids = chunks.filter((c) => c.isAccepted || c.applied !== null).map((c) => c.transid);
  return { id: record.id, status: record.state, rows, transids, ...(record.error !== null && { error: record.error }) };
}

/** How a finished import ended: every row applied, some, or none while there were rows. */
function finalState(rows: ImportSummary['rows']): Exclude<ImportState, 'running'> {
  if (rows.rejected === 0 && rows.skipped === 0) return 'succeeded';
  return rows.applied > 0 ? 'partially_succeeded' : 'failed';
}

/** Rows of one chunk, as read. */
interface ChunkRows {
  rows: FileRow[];
  firstLine: number;
  lastLine: number;
  /** Characters of the rows' text. */
  bytes: number;
}

/** The file's rows in chunks; the CSV header first, handed to `onHeader`. */
async function* chunksOf(path: string, format: ImportFormat, onHeader: (header: CsvCell[]) => void): AsyncGenerator<ChunkRows> {
  let current: ChunkRows | null = null;
  for await (const row of readRows(path, format)) {
    if (row.kind === 'header') {
      onHeader(row.cells);
      continue;
    }
    current ??= { rows: [], firstLine: row.line, lastLine: row.line, bytes: 0 };
    current.rows.push(row);
    current.lastLine = row.line;
    current.bytes += row.raw.length;
    if (current.rows.length >= CHUNK_ROWS || current.bytes >= CHUNK_BYTES) {
      yield current;
      current = null;
    }
  }
  if (current) yield current;
}

/**
 * Runs an import to its end, or continues one: reads the file at `path`, accepts the chunks not
 * accepted yet, waits until all are applied, and records how it ended. Returns its report.
 * Throws ImportBusyError when another live process runs it.
 */
export async function runImport(deps: ImportDeps, record: Import, path: string): Promise<ImportSummary> {
  const { imports } = deps.store;
  const { tenantId, id } = record;
  if (record.state !== 'running') return summaryOf(record, await imports.listChunks(tenantId, id));
  let renewedAt = Date.now();
  const claim = async () => {
    const now = Date.now();
    const current = (await imports.getImport(tenantId, id))!;
    const stale = current.runner !== null && current.runner !== RUNNER_ID && isRunnerGone(current.runner) ? current.runner : null;
    if (!(await imports.claimImport(tenantId, id, RUNNER_ID, now + LEASE_MS, now, stale))) {
      throw new ImportBusyError(`import ${id} is being run by ${current.runner} (until ${new Date(current.leaseUntil ?? now).toISOString()}); run it again once that process stops`);
    }
    renewedAt = now;
  };
  await claim();
  try {
    await acceptChunks(deps, record, path, async () => {
      if (Date.now() - renewedAt > LEASE_MS / 3) await claim();
    });
    await waitForApplied(deps, record, () => (Date.now() - renewedAt > LEASE_MS / 3 ? claim() : Promise.resolve()));
    const chunks = await imports.listChunks(tenantId, id);
    const summary = summaryOf(record, chunks);
    const state = finalState(summary.rows);
    await imports.finishImport(tenantId, id, state, null, Date.now());
    return { ...summary, status: state };
  } catch (err) {
    if (err instanceof ApiError && err.code === '7922') {
      await imports.finishImport(tenantId, id, 'failed', err.message, Date.now());
      return { ...summaryOf(record, await imports.listChunks(tenantId, id)), status: 'failed', error: err.message };
    }
    throw err;
  }
}

/** A chunk validated, not yet accepted. */
interface ChunkPlan {
  chunk: ImportChunk;
  rejects: ImportReject[];
  /** Its valid rows, as the records of its write transaction. */
  records: WriteRecord[];
}

/** The write transaction of a chunk, accepted now. */
const writeTransactionOf = (tenantId: number, { chunk, records }: ChunkPlan): NewWriteTransaction => ({
  transid: chunk.transid,
  tenantId,
  operation: 'importProfiles',
  appid: null,
  isUpsert: true,
  isCascade: false,
  idempotencyKey: null,
  requestHash: null,
  acceptedAt: Date.now(),
  recordsJson: JSON.stringify(records),
  recordCount: records.length,
});

/**
 * Reads the file and accepts every chunk not accepted yet, in order, a group at a time: a group is
 * stored with its rejects, then its write transactions are accepted, then it is marked accepted.
 */
async function acceptChunks(deps: ImportDeps, record: Import, path: string, renew: () => Promise<void>): Promise<void> {
  const { imports, journal } = deps.store;
  const { tenantId, id, format, startedAt } = record;
  const stored = new Map((await imports.listChunks(tenantId, id)).map((c) => [c.chunk, c]));
  let columns: string[] | null = null;
  let header: CsvCell[] | null = null;
  let rowsRead = 0;
  let index = 0;
  let group: ChunkPlan[] = [];
  let groupBytes = 0;
  const acceptGroup = async () => {
    if (group.length === 0) return;
    const chunks = group;
    group = [];
    groupBytes = 0;
    await imports.saveChunks(tenantId, id, chunks);
    await waitForWindow(deps, record, chunks[0].chunk.chunk, chunks.length, rowsRead);
    await deps.submit(chunks.map((c) => writeTransactionOf(tenantId, c)));
    await imports.markChunksAccepted(tenantId, id, chunks.map((c) => c.chunk.chunk));
    deps.onAccepted?.();
    deps.onProgress?.({ rowsRead, rowsDone: await rowsDone(deps, record), lineCount: record.lineCount });
  };
  for await (const part of chunksOf(path, format, (cells) => (header = cells))) {
    const chunk = index++;
    rowsRead += part.rows.length;
    const known = stored.get(chunk);
    const transid = chunkTransid(id, chunk);
    if (known?.isAccepted) continue;
    if (known && (await journal.getWriteTransactionStatus(tenantId, transid)) !== null) {
      // Accepted, and the run stopped before it said so (the chunks before it were accepted first).
      await acceptGroup();
      await imports.markChunksAccepted(tenantId, id, [chunk]);
      continue;
    }
    checkStop(deps);
    await renew();
    const schema = await deps.schema();
    const app = record.appid === null ? null : schema.app(record.appid);
    if (record.appid !== null && !app) throw new ApiError('7922', `${record.appid} is no longer an app of this tenant`);
    if (format === 'csv' && header && !columns) columns = csvColumns(header, app);
    const { records, rejects } = validateChunk(part, columns, app, schema, startedAt);
    for (const [appid, names] of newAppAttributes(records.map((r) => r.outcome))) await deps.defineAppAttributes(appid, names);
    const plan: ImportChunk = {
      chunk,
      transid,
      rows: part.rows.length,
      rejected: rejects.length,
      firstLine: part.firstLine,
      lastLine: part.lastLine,
      isAccepted: false,
      applied: null,
      skipped: null,
    };
    group.push({ chunk: plan, rejects, records: records.map((r) => r.record) });
    groupBytes += part.bytes;
    if (group.length >= GROUP_CHUNKS || groupBytes >= CHUNK_BYTES) await acceptGroup();
  }
  await acceptGroup();
  if (format === 'csv' && !header) throw new ApiError('7922', 'the CSV file is empty: it has no header');
}

/** The chunk's valid rows as records, and its rejects. */
function validateChunk(part: ChunkRows, columns: string[] | null, app: App | null, schema: ImportSchema, startedAt: number) {
  const records: Array<{ record: WriteRecord; outcome: RowOutcome }> = [];
  const rejects: ImportReject[] = [];
  for (const row of part.rows) {
    let outcome: RowOutcome;
    if (row.kind === 'bad-json') outcome = { reject: { code: '7000', errors: [{ reason: row.reason }] } };
    else if (row.kind === 'bad-csv') outcome = { reject: { code: '7011', errors: [{ reason: row.reason }] } };
    else if (row.kind === 'json') outcome = app ? appDocumentRow(row.value, app, schema, startedAt) : documentRow(row.value, schema, startedAt);
    else outcome = csvRow(row.cells, columns!, app, schema, startedAt);
    if ('reject' in outcome) rejects.push({ line: row.line, ...outcome.reject, raw: row.raw });
    else records.push({ record: outcome.record, outcome });
  }
  return { records, rejects };
}

/** The app attribute names the rows use that their apps have not defined, by app. */
function newAppAttributes(outcomes: readonly RowOutcome[]): Map<string, string[]> {
  const byApp = new Map<string, Set<string>>();
  for (const outcome of outcomes) {
    if (!('record' in outcome)) continue;
    for (const { appid, names } of outcome.newAppAttributes) {
      const set = byApp.get(appid) ?? byApp.set(appid, new Set()).get(appid)!;
      for (const name of names) set.add(name);
    }
  }
  return new Map([...byApp].map(([appid, names]) => [appid, [...names]]));
}

async function rowsDone(deps: ImportDeps, record: Import): Promise<number> {
  let done = 0;
  for (const c of await deps.store.imports.listChunks(record.tenantId, record.id)) done += c.rejected + (c.applied ?? 0) + (c.skipped ?? 0);
  return done;
}

/** Waits until `count` more chunks from `chunk` on fit in the window: `WINDOW_CHUNKS` accepted and not applied. */
async function waitForWindow(deps: ImportDeps, record: Import, chunk: number, count: number, rowsRead: number): Promise<void> {
  for (;;) {
    const chunks = await deps.store.imports.listChunks(record.tenantId, record.id);
    const waiting = chunks.filter((c) => c.chunk < chunk && c.applied === null).length;
    if (waiting + count <= WINDOW_CHUNKS) return;
    checkStop(deps);
    deps.onProgress?.({ rowsRead, rowsDone: chunks.reduce((n, c) => n + c.rejected + (c.applied ?? 0) + (c.skipped ?? 0), 0), lineCount: record.lineCount });
    await sleep(POLL_MS);
  }
}

/** Waits until every chunk is applied. */
async function waitForApplied(deps: ImportDeps, record: Import, renew: () => Promise<void>): Promise<void> {
  for (;;) {
    const chunks = await deps.store.imports.listChunks(record.tenantId, record.id);
    let rowsRead = 0;
    let done = 0;
    for (const c of chunks) {
      rowsRead += c.rows;
      done += c.rejected + (c.applied ?? 0) + (c.skipped ?? 0);
    }
    deps.onProgress?.({ rowsRead, rowsDone: done, lineCount: record.lineCount });
    if (chunks.every((c) => c.applied !== null)) return;
    checkStop(deps);
    await renew();
    await sleep(POLL_MS);
  }
}
