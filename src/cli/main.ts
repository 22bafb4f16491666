#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { AdminError } from '../domain/tenant-admin.js';
import { StorageError } from '../storage/storage.js';
import { allowlistCommand } from './commands/allowlist.js';
import { appCommand } from './commands/app.js';
import { attributeCommand } from './commands/attribute.js';
import { backupCommand } from './commands/backup.js';
import { configCommand } from './commands/config.js';
import { keyCommand } from './commands/key.js';
import { migrateCommand } from './commands/migrate.js';
import { serveCommand } from './commands/serve.js';
import { statusCommand } from './commands/status.js';
import { tenantCommand } from './commands/tenant.js';
import { workerCommand } from './commands/worker.js';
import { CliError } from './output.js';

/** Options every command takes. */
const common = (cmd: Command) =>
  cmd
    .option('--json', 'print one JSON object')
    .option('--data-dir <dir>', 'the SQLite store directory (PROFILES_DATA_DIR, default ./data)')
    .option('--database-url <url>', 'a PostgreSQL store instead (PROFILES_DATABASE_URL)');

const program = new Command('openprofiles')
  .description('OpenProfiles: a self-hosted customer profile service (Profile API v2)')
  .showHelpAfterError()
  .exitOverride();

for (const add of [serveCommand, workerCommand, migrateCommand, tenantCommand, keyCommand, appCommand, attributeCommand, allowlistCommand, statusCommand, backupCommand, configCommand]) {
  add(program, common);
}

const isJson = process.argv.includes('--json');
try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  const isExpected = err instanceof CliError || err instanceof AdminError || err instanceof StorageError;
  const message = isExpected ? (err as Error).message : String((err as Error)?.stack ?? err);
  if (isJson) process.stdout.write(`${JSON.stringify({ error: { name: (err as Error).name, message: (err as Error).message } })}\n`);
  process.stderr.write(`openprofiles: ${message}\n`);
  process.exit(1);
}
