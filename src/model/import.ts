/**
 * The nouns of a bulk import (docs/bulk-data.md, "Import").
 *
 * - import: one file of profiles loaded into one tenant, identified by `id`, which derives from
 *   the tenant, the file's content and the arguments, so that running the same import again finds
 *   it and continues it.
 * - row: one profile of the file (an NDJSON line, a CSV record), numbered by the file's own line.
 * - chunk: consecutive rows of the file (at most `IMPORT_CHUNK_ROWS`), whose valid rows become one
 *   write transaction (operation `importProfiles`) with a transid derived from the import and the
 *   chunk's number. Chunks are accepted in order, a few in one go (a group), never one before
 *   those ahead of it.
 * - reject: a row refused by validation, kept with its line, code and reasons.
 * - skipped row: a valid row not applied, because its profile changed after the import started
 *   (per-record result `7921`), or its app was deleted meanwhile (`7018`).
 * - runner: the process that reads the file and accepts its chunks, holding the import's lease.
 */
import type { AttributeValue } from './directory.js';

export const IMPORT_FORMATS = ['ndjson', 'csv'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

export type ImportState = 'running' | 'succeeded' | 'partially_succeeded' | 'failed';

/** One app profile of an import row. */
export interface ImportedAppProfile {
  appid: string;
  /** "" on apps that keep one profile per customer. */
  deviceId: string;
  attributes: Record<string, AttributeValue | null>;
  /** ms since the epoch, from the file; null when the file has none. */
  createdAt: number | null;
  updatedAt: number | null;
}

/**
 * What an `importProfiles` record carries beside its customerId and master attributes. A row sets
 * a profile only when it is not newer in the store: when the stored profile's `updatedAt` is past
 * both `startedAt` and the row's own `updatedAt`, it changed after the import started and is kept
 * (the row is skipped, `7921`). Rows without timestamps store `startedAt` as their `updatedAt`
 * (and as `createdAt` of a new profile), so that a resumed import gives what one run gives.
 */
export interface ImportedRow {
  /** When the import started, ms since the epoch. */
  startedAt: number;
  /** The master profile's timestamps from the file (ms), or null. */
  createdAt: number | null;
  updatedAt: number | null;
  /** The row's app profiles (none for a master-only row). */
  appProfiles: ImportedAppProfile[];
}

/** An import as it is started: the record the first run stores. */
export interface NewImport {
  id: string;
  tenantId: number;
  format: ImportFormat;
  /** `--app`: the rows are that app's profiles; null for profile documents or master CSV. */
  appid: string | null;
  /** Where the file is: a path given to the CLI, or the upload in the server's data directory. */
  source: string;
  /** True when the server holds the file (an HTTP upload) and resumes the import when it starts. */
  isUpload: boolean;
  /** sha256 of the file, hex. */
  fileHash: string;
  /** Lines of the file (a progress bar's total; rows may span lines in CSV). */
  lineCount: number;
  /** ms since the epoch. */
  startedAt: number;
}

export interface Import extends NewImport {
  state: ImportState;
  finishedAt: number | null;
  /** Why a failed import failed. */
  error: string | null;
  /** Who runs it (`runnerId`), while `leaseUntil` (ms) lasts. */
  runner: string | null;
  leaseUntil: number | null;
}

/** One chunk of an import, as stored before its write transaction is accepted. */
export interface ImportChunk {
  chunk: number;
  transid: string;
  /** Rows of the file in the chunk, rejected ones included. */
  rows: number;
  rejected: number;
  /** The file's line of the chunk's first row. */
  firstLine: number;
  lastLine: number;
  /** Its write transaction is in the journal (set once accepted). */
  isAccepted: boolean;
  /** Set in the database transaction that applies the write transaction; null before. */
  applied: number | null;
  skipped: number | null;
}

/** A row refused by validation. `raw` is the row's text as the file has it. */
export interface ImportReject {
  line: number;
  code: string;
  errors: Array<{ attribute?: string; reason: string }>;
  raw: string;
}

/** How an applied `importProfiles` write transaction's rows ended, for its chunk. */
export interface ChunkTally {
  transid: string;
  applied: number;
  skipped: number;
}
