import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parse, type CsvError } from 'csv-parse';
import type { CsvCell } from '../domain/import-rows.js';
import type { ImportFormat } from '../model/import.js';

/**
 * Reading an import's file: its content hash (part of the import's id) and its rows, each with the
 * file's own line number (the line it starts on, counting from 1, a CSV header being line 1).
 */

/** sha256 of the file, hex, and its number of lines. */
export async function hashFile(path: string): Promise<{ hash: string; lines: number }> {
  const hash = createHash('sha256');
  let lines = 0;
  let last = 0x0a;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) lines++;
    if (chunk.length > 0) last = chunk[chunk.length - 1];
  }
  if (last !== 0x0a) lines++;
  return { hash: hash.digest('hex'), lines };
}

/** One row of the file: a parsed NDJSON line (or why it is not JSON), or the cells of a CSV record. */
export type FileRow =
  | { line: number; raw: string; kind: 'json'; value: unknown }
  | { line: number; raw: string; kind: 'bad-json'; reason: string }
  | { line: number; raw: string; kind: 'csv'; cells: CsvCell[] }
  | { line: number; raw: string; kind: 'bad-csv'; reason: string };

/** The header of a CSV file, then its records; NDJSON lines. Blank lines are not rows. */
export async function* readRows(path: string, format: ImportFormat): AsyncGenerator<FileRow | { kind: 'header'; cells: CsvCell[] }> {
  if (format === 'ndjson') yield* ndjsonRows(path);
  else yield* csvRows(path);
}

async function* ndjsonRows(path: string): AsyncGenerator<FileRow> {
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
    line++;
    const raw = line === 1 && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
    if (raw.trim() === '') continue;
    try {
      yield { line, raw, kind: 'json', value: JSON.parse(raw) };
    } catch (err) {
      yield { line, raw, kind: 'bad-json', reason: `not JSON: ${(err as Error).message}` };
    }
  }
}

/** A record's text without the blank lines before it and its line end. */
const trimRaw = (raw: string) => raw.replace(/^(?:\r?\n)+/, '').replace(/\r?\n$/, '');
const newlines = (text: string) => {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
};

async function* csvRows(path: string): AsyncGenerator<FileRow | { kind: 'header'; cells: CsvCell[] }> {
  // A record csv-parse cannot read (an unclosed quote …) is skipped and reported at its place.
  const skipped: Array<{ line: number; raw: string; reason: string }> = [];
  const parser = createReadStream(path).pipe(
    parse({
      bom: true,
      info: true,
      raw: true,
      relax_column_count: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      cast: (text, context) => ({ text, isQuoted: context.quoting }) as never,
      on_skip: (err: CsvError | undefined, raw: string | undefined) => {
        const text = raw ?? '';
        skipped.push({ line: Number((err as { lines?: number } | undefined)?.lines ?? 0) - newlines(trimRaw(text)), raw: trimRaw(text), reason: err?.message ?? 'unreadable CSV record' });
      },
    }),
  );
  let isHeader = true;
  for await (const { record, raw, info } of parser as AsyncIterable<{ record: CsvCell[]; raw: string; info: { lines: number } }>) {
    const text = trimRaw(raw);
    const line = info.lines - newlines(text);
    while (skipped.length > 0 && skipped[0].line < line) {
      const s = skipped.shift()!;
      yield { line: s.line, raw: s.raw, kind: 'bad-csv', reason: s.reason };
    }
    if (isHeader) {
      isHeader = false;
      yield { kind: 'header', cells: record };
      continue;
    }
    yield { line, raw: text, kind: 'csv', cells: record };
  }
  for (const s of skipped) yield { line: s.line, raw: s.raw, kind: 'bad-csv', reason: s.reason };
}
