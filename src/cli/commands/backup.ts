import { resolve } from 'node:path';
import type { Command } from 'commander';
import { type CommonOptions, withStore } from '../context.js';
import { CliError, print } from '../output.js';

export function backupCommand(program: Command, common: (cmd: Command) => Command): void {
  common(
    program
      .command('backup <file>')
      .description('copy the embedded store, queue included, to a new file while the server runs (docs/backup.md)'),
  ).action((file: string, options: CommonOptions) =>
    withStore(options, async ({ store, out }) => {
      if (!store.backup) throw new CliError('the store is PostgreSQL: back it up with pg_dump (docs/backup.md)');
      const path = resolve(file);
      if (!out.isJson) process.stderr.write(`copying the store to ${path} …\n`);
      const started = performance.now();
      const bytes = await store.backup(path);
      const seconds = Number(((performance.now() - started) / 1000).toFixed(1));
      print(out, { file: path, bytes, seconds }, `backup written: ${path} (${(bytes / 1048576).toFixed(1)} MiB in ${seconds} s)`);
    }),
  );
}
