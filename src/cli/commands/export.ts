import { once } from 'node:events';
import { createWriteStream, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { EXPORT_FORMATS, type ExportFormat, type ExportProgress, exportTenant } from '../../bulk/export.js';
import { DirectoryCache } from '../../domain/directory.js';
import type { Tenant } from '../../model/directory.js';
import type { Directory } from '../../storage/ports.js';
import { publishDurably, temporaryNameOf } from '../../storage/private-files.js';
import { type CommonOptions, withStore } from '../context.js';
import { CliError } from '../output.js';
import { progressOnStderr } from '../progress.js';

interface ExportOptions extends CommonOptions {
  tenant: string;
  format: string;
  app?: string;
  out: string;
  progressEvery: string;
}

/** The tenant with that name, else with that id. */
export async function findTenant(directory: Pick<Directory, 'listTenants'>, nameOrId: string): Promise<Tenant> {
  const tenants = await directory.listTenants();
  const found = tenants.find((t) => t.name === nameOrId) ?? tenants.find((t) => String(t.id) === nameOrId);
  if (!found) throw new CliError(`no tenant named ${JSON.stringify(nameOrId)} and none with that id (openprofiles tenant list shows them)`);
  return found;
}

/** Counts what passes through. */
function counted(into: { bytes: number }): (source: AsyncIterable<string>) => AsyncGenerator<string> {
  return async function* (source) {
    for await (const chunk of source) {
      into.bytes += Buffer.byteLength(chunk);
      yield chunk;
    }
  };
}

export function exportCommand(program: Command, common: (cmd: Command) => Command): void {
  common(
    program
      .command('export')
      .description("write a tenant's profiles from one consistent snapshot, as NDJSON or CSV, while the server runs or not (docs/bulk-data.md)")
      .requiredOption('--tenant <nameOrId>', 'the tenant, by name or id')
      .option('--format <format>', EXPORT_FORMATS.join(' or '), 'ndjson')
      .option('--app <appid>', "export this app's app profiles instead")
      .option('--out <file>', 'write to this file (made under a temporary name, and given its name once complete and on disk), or - for stdout', '-')
      .option('--progress-every <seconds>', 'when stderr is not a terminal, a progress line this often', '5'),
  ).action((options: ExportOptions) =>
    withStore(options, async ({ store, out }) => {
      const format = options.format as ExportFormat;
      if (!EXPORT_FORMATS.includes(format)) throw new CliError(`--format takes ${EXPORT_FORMATS.join(' or ')}, got ${JSON.stringify(options.format)}`);
      const everyS = Number(options.progressEvery);
      if (!(everyS > 0)) throw new CliError(`--progress-every takes a number of seconds above 0, got ${JSON.stringify(options.progressEvery)}`);
      const tenant = await findTenant(store.directory, options.tenant);
      const directory = new DirectoryCache(store.directory);
      await directory.reload();
      const app = options.app === undefined ? null : directory.app(tenant.id, options.app);
      if (options.app !== undefined && !app) throw new CliError(`tenant ${tenant.name} has no app ${options.app} (openprofiles app list ${tenant.id} shows them)`);

      const toStdout = options.out === '-';
      const file = toStdout ? null : resolve(options.out);
      const partial = file ? temporaryNameOf(file) : null;
      const progress: ExportProgress = { rows: 0, total: null };
      const shown = progressOnStderr('exported', { isTerminal: Boolean(process.stderr.isTTY), everyMs: everyS * 1000 });
      const timer = setInterval(() => shown.update(progress.rows, progress.total), 200);
      const size = { bytes: 0 };
      const started = performance.now();
      try {
        const chunks = exportTenant(store.profileScan, directory, { tenantId: tenant.id, format, app, isCounted: true }, progress);
        // Personal data: the file is the owner's alone (0600), and exists under its name only once whole and on disk.
        const sink: Writable = partial ? createWriteStream(partial, { flags: 'wx', mode: 0o600 }) : process.stdout;
        if (partial) await once(sink, 'open');
        await pipeline(Readable.from(chunks), counted(size), sink, { end: !toStdout });
        if (partial && file) publishDurably(partial, file);
      } catch (err) {
        if (partial) rmSync(partial, { force: true });
        throw err;
      } finally {
        clearInterval(timer);
      }
      shown.stop(progress.rows, progress.total);
      const seconds = Number(((performance.now() - started) / 1000).toFixed(1));
      const summary = { tenant: { id: tenant.id, name: tenant.name }, format, app: app?.appid ?? null, rows: progress.rows, bytes: size.bytes, seconds, out: file ?? '-' };
      // With the data on stdout, the summary goes to stderr: stdout holds the export alone.
      const line = out.isJson ? JSON.stringify(summary) : `exported ${summary.rows} ${app ? `app profiles of ${app.appid}` : 'profiles'} of ${tenant.name} to ${file ?? 'stdout'} (${format}, ${summary.bytes} bytes, ${seconds} s)`;
      (toStdout ? process.stderr : process.stdout).write(`${line}\n`);
    }),
  );
}
