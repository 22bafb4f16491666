import { createWriteStream } from 'node:fs';
import { resolve } from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { describeImport, directoryDeps, ImportBusyError, type ImportProgress, type ImportSummary, runImport } from '../../bulk/import-run.js';
import { DirectoryCache } from '../../domain/directory.js';
import { IMPORT_FORMATS, type ImportFormat } from '../../model/import.js';
import type { Store } from '../../storage/ports.js';
import type { CommonOptions } from '../context.js';
import { CliError, print } from '../output.js';
import { configWith } from './serve.js';

/**
 * The import's applier thread's young generation, MB (V8's default 48): an apply's records, rows
 * and change events live across its queries, and a small young generation copies them again at
 * every scavenge. 128 MB took the CLI's CPU from 5.2 to 3.8 s importing 100,000 rows on
 * PostgreSQL, and from 5.2 to 4.8 s importing 200,000 on SQLite, for 30 to 100 MB more RSS
 * (docs/performance.md, "Bulk data in").
 */
const APPLIER_YOUNG_GENERATION_MB = 128;

/**
 * Applier loops of the import where appliers claim (PostgreSQL), at least: while one waits for the
 * database, the other reduces its batch (200,000 rows: 8.3 s with one, 7.3 s with two).
 */
const MIN_CLAIMING_APPLIERS = 2;

/** How often a progress line is printed when stderr is not a terminal, ms. */
const PROGRESS_LINE_MS = 5000;

interface ImportOptions extends CommonOptions {
  tenant: string;
  format?: string;
  app?: string;
  rejects?: string;
}

/** The tenant named by id or name. */
async function tenantOf(store: Store, text: string): Promise<number> {
  const tenants = await store.directory.listTenants();
  const found = tenants.find((t) => t.name === text) ?? (/^\d+$/.test(text) ? tenants.find((t) => t.id === Number(text)) : undefined);
  if (!found) throw new CliError(`no tenant with the name or id ${JSON.stringify(text)}`);
  return found.id;
}

function formatOf(file: string, given: string | undefined): ImportFormat {
  const format = given ?? (file.toLowerCase().endsWith('.csv') ? 'csv' : 'ndjson');
  if (!(IMPORT_FORMATS as readonly string[]).includes(format)) throw new CliError(`--format is ${IMPORT_FORMATS.join(' or ')}, not ${JSON.stringify(format)}`);
  return format as ImportFormat;
}

/** Progress on stderr: a live bar on a terminal, else one plain line every PROGRESS_LINE_MS (and a last one). */
function progressReporter(what: string): { update(p: ImportProgress): void; stop(p: ImportProgress | null): void } {
  const started = Date.now();
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `${what} [{bar}] {percentage}% | {value}/{total} rows | {speed} rows/s | ETA {eta_formatted}`, stream: process.stderr, etaBuffer: 50, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    bar.start(1, 0, { speed: 0 });
    const show = (p: ImportProgress) => {
      const seconds = Math.max((Date.now() - started) / 1000, 0.001);
      bar.setTotal(Math.max(p.rowsRead, p.lineCount, 1));
      bar.update(p.rowsDone, { speed: Math.round(p.rowsDone / seconds) });
    };
    return {
      update: show,
      stop(p) {
        if (p) {
          bar.setTotal(Math.max(p.rowsDone, 1));
          show(p);
        }
        bar.stop();
      },
    };
  }
  let printedAt = 0;
  const line = (p: ImportProgress) => {
    const seconds = Math.max((Date.now() - started) / 1000, 0.001);
    const rate = p.rowsDone / seconds;
    const left = Math.max(p.lineCount - p.rowsDone, 0);
    const eta = rate > 0 ? `${Math.ceil(left / rate)} s` : 'unknown';
    process.stderr.write(`${what}: ${p.rowsDone} of about ${p.lineCount} rows done, ${p.rowsRead} read, ${Math.round(rate)} rows/s, ETA ${eta}\n`);
  };
  return {
    update(p) {
      if (Date.now() - printedAt < PROGRESS_LINE_MS) return;
      printedAt = Date.now();
      line(p);
    },
    stop(p) {
      if (p) line({ ...p, lineCount: p.rowsDone });
    },
  };
}

/** Writes every reject of the import, in line order, as NDJSON (`{"line","code","errors","raw"}`). */
async function writeRejects(store: Store, tenantId: number, id: string, file: string): Promise<void> {
  const out = createWriteStream(file);
  const done = new Promise<void>((ok, fail) => {
    out.once('finish', ok);
    out.once('error', fail);
  });
  let after = 0;
  for (;;) {
    const page = await store.imports.listRejects(tenantId, id, after, 1000);
    if (page.length === 0) break;
    if (!out.write(page.map((r) => `${JSON.stringify(r)}\n`).join(''))) await new Promise<void>((ok) => out.once('drain', () => ok()));
    after = page.at(-1)!.line;
  }
  out.end();
  await done;
}

export function importCommand(program: Command, common: (cmd: Command) => Command): void {
  common(
    program
      .command('import <file>')
      .description('load profiles from an NDJSON or CSV file (the export formats) through the journal; run it again with the same arguments to continue an interrupted import (docs/bulk-data.md)')
      .requiredOption('--tenant <name or id>', 'the tenant to import into')
      .option('--format <format>', 'ndjson or csv (default: by the file name, .csv is csv)')
      .option('--app <appid>', "the rows are that app's profiles (as `export --app` writes them)")
      .option('--rejects <file>', 'where the refused rows go, as NDJSON (default: <file>.rejects.ndjson, written when a row is refused)'),
  ).action(async (file: string, options: ImportOptions) => {
    const config = configWith(options);
    const path = resolve(file);
    const format = formatOf(path, options.format);
    // Loaded here so that admin commands start without the write pipeline.
    const { createLogger, IDEMPOTENCY_WINDOW_MS, openMigratedStore } = await import('../../runtime.js');
    const { PipelineThread } = await import('../../write/threads.js');
    // The applier's standby notices (a server applies the store) are not the operator's concern here.
    const logger = createLogger('error');
    const store = await openMigratedStore({ ...config, databasePoolSize: 4 }, logger);
    // Applies the journal while the import reads the file, in an applier's thread of its own, unless
    // another process does (SQLite: the applier lock's holder; PostgreSQL: it claims beside any other
    // applier). Each accepted group of chunks wakes it.
    const concurrency = store.appliers.hasConcurrentClaims ? Math.max(config.applierConcurrency, MIN_CLAIMING_APPLIERS) : config.applierConcurrency;
    const applier = new PipelineThread({
      config: { ...config, logLevel: 'error', applierConcurrency: concurrency },
      idempotencyWindowMs: IDEMPOTENCY_WINDOW_MS,
      role: 'applier',
      isApplyOnly: true,
      youngGenerationMb: APPLIER_YOUNG_GENERATION_MB,
      logger,
      onApplied: () => {},
    });
    const wake = new MessageChannel();
    let summary: ImportSummary;
    let progress: ImportProgress | null = null;
    try {
      await applier.start();
      applier.wakeThrough(wake.port2);
      const tenantId = await tenantOf(store, options.tenant);
      const directory = new DirectoryCache(store.directory);
      await directory.reload();
      if (options.app !== undefined && !directory.app(tenantId, options.app)) throw new CliError(`${options.app} is not an app of tenant ${tenantId}`);
      const spec = await describeImport(path, { tenantId, format, appid: options.app ?? null, source: path, isUpload: false });
      const record = await store.imports.startImport(tenantId, spec);
      const reporter = progressReporter(`import ${record.id}`);
      try {
        summary = await runImport(
          {
            store,
            ...directoryDeps(directory, tenantId),
            // One commit of the journal: all of them or none.
            submit: async (wts) => {
              await store.journal.enqueue(wts, IDEMPOTENCY_WINDOW_MS);
            },
            onAccepted: () => wake.port1.postMessage(null),
            onProgress: (p) => reporter.update((progress = p)),
          },
          record,
          path,
        );
      } catch (err) {
        if (err instanceof ImportBusyError) throw new CliError(err.message);
        throw err;
      } finally {
        reporter.stop(progress);
      }
      const rejectsFile = summary.rows.rejected > 0 ? resolve(options.rejects ?? `${file}.rejects.ndjson`) : null;
      if (rejectsFile) await writeRejects(store, tenantId, summary.id, rejectsFile);
      const { rows } = summary;
      print(
        { isJson: Boolean(options.json) },
        { ...summary, ...(rejectsFile && { rejectsFile }) },
        `import ${summary.id}: ${summary.status}: ${rows.total} rows, ${rows.applied} applied, ${rows.rejected} rejected${rejectsFile ? ` (listed in ${rejectsFile})` : ''}, ${rows.skipped} skipped` +
          `${summary.error ? `\n${summary.error}` : ''}${rows.skipped > 0 ? '\nskipped rows: see the per-record results of the transids (GET /resources/v2/profile/status/{transid})' : ''}`,
      );
      if (summary.status === 'failed') process.exitCode = 1;
    } finally {
      wake.port1.close();
      await applier.stop();
      await store.close();
    }
  });
}
