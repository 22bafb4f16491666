import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import type { DirectoryCache } from '../domain/directory.js';
import type { Import, ImportFormat, ImportReject } from '../model/import.js';
import type { EnqueueResult, NewWriteTransaction } from '../model/write-transaction.js';
import type { Store } from '../storage/ports.js';
import { describeImport, directoryDeps, ImportBusyError, ImportStoppedError, type ImportSummary, runImport, summaryOf } from './import-run.js';

/** Wait before running an import again after it failed on an error that may pass (the store unavailable), ms. */
const RETRY_MS = 5000;

/**
 * The server's imports (`POST /openprofiles/v1/imports`): each upload is streamed to a file in the
 * data directory (`imports/<id>.<format>`), never held in memory, and run in this process, its
 * chunks accepted through the server's committer. Imports left running when the server stopped
 * are run again when it starts (`resumeRunning`); a run continues where the last one stopped. The
 * file is deleted once its import has finished.
 */
export class ImportService {
  private readonly running = new Map<string, Promise<void>>();
  private isStopping = false;
  private readonly dir: string;

  constructor(
    private readonly store: Pick<Store, 'imports' | 'journal'>,
    private readonly directory: DirectoryCache,
    /** The server's committer: accepts one write transaction. */
    private readonly submitOne: (wt: NewWriteTransaction) => Promise<EnqueueResult>,
    dataDir: string,
    private readonly logger: Logger,
  ) {
    this.dir = join(dataDir, 'imports');
  }

  /** Stores the body, then starts (or finds) the import it makes; answers its id and state. */
  async upload(tenantId: number, body: Readable, format: ImportFormat, appid: string | null): Promise<{ id: string; status: Import['state'] }> {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const temp = join(this.dir, `upload-${randomBytes(8).toString('hex')}.tmp`);
    try {
      await pipeline(body, createWriteStream(temp, { mode: 0o600 }));
      const file = (id: string) => join(this.dir, `${id}.${format}`);
      const spec = await describeImport(temp, { tenantId, format, appid, source: '', isUpload: true });
      const path = file(spec.id);
      // The same content and arguments name the same import: its file is there already.
      if (!existsSync(path)) renameSync(temp, path);
      const record = await this.store.imports.startImport(tenantId, { ...spec, source: path });
      if (record.state === 'running') this.start(record);
      // An import that finished already needs no file.
      else rmSync(path, { force: true });
      return { id: record.id, status: record.state };
    } finally {
      rmSync(temp, { force: true });
    }
  }

  async get(tenantId: number, id: string): Promise<ImportSummary | null> {
    const record = await this.store.imports.getImport(tenantId, id);
    return record && summaryOf(record, await this.store.imports.listChunks(tenantId, id));
  }

  /** The import's rejects, in line order, a page at a time; null when the tenant has no such import. */
  async rejects(tenantId: number, id: string): Promise<AsyncGenerator<ImportReject[]> | null> {
    if (!(await this.store.imports.getImport(tenantId, id))) return null;
    const imports = this.store.imports;
    return (async function* pages() {
      for (let after = 0; ; ) {
        const page = await imports.listRejects(tenantId, id, after, 1000);
        if (page.length === 0) return;
        yield page;
        after = page.at(-1)!.line;
      }
    })();
  }

  /** Runs every upload import still running (of any tenant), as after a restart. */
  async resumeRunning(): Promise<void> {
    for (const record of await this.store.imports.listRunningUploads()) if (existsSync(record.source)) this.start(record);
  }

  /** Stops the runs at their next chunk, and waits for them. */
  async stop(): Promise<void> {
    this.isStopping = true;
    await Promise.all(this.running.values());
  }

  private start(record: Import): void {
    if (this.running.has(record.id) || this.isStopping) return;
    const run = this.run(record).finally(() => this.running.delete(record.id));
    this.running.set(record.id, run);
  }

  private async run(record: Import): Promise<void> {
    // One after another: a commit that fails leaves those after it unaccepted.
    const submit = async (wts: NewWriteTransaction[]) => {
      for (const wt of wts) await this.submitOne(wt);
    };
    const deps = { store: this.store, ...directoryDeps(this.directory, record.tenantId), submit, shouldStop: () => this.isStopping };
    while (!this.isStopping) {
      try {
        const summary = await runImport(deps, record, record.source);
        this.logger.info({ importId: record.id, status: summary.status, rows: summary.rows }, 'import finished');
        // Its report and rejects are in the store: the upload is needed no more.
        rmSync(record.source, { force: true });
        return;
      } catch (err) {
        if (err instanceof ImportStoppedError) return;
        if (err instanceof ImportBusyError) {
          this.logger.info({ importId: record.id }, err.message);
          return;
        }
        this.logger.error({ err, importId: record.id, retryInMs: RETRY_MS }, 'the import failed; running it again');
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS).unref());
      }
    }
  }
}
