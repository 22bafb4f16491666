#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { secretsInEnv } from '../config/config.js';
import { redactSecrets, secretsOfUrl } from '../config/secrets.js';
import { allowlistCommand } from './commands/allowlist.js';
import { appCommand } from './commands/app.js';
import { attributeCommand } from './commands/attribute.js';
import { backupCommand } from './commands/backup.js';
import { configCommand } from './commands/config.js';
import { exportCommand } from './commands/export.js';
import { importCommand } from './commands/import.js';
import { keyCommand } from './commands/key.js';
import { migrateCommand } from './commands/migrate.js';
import { serveCommand } from './commands/serve.js';
import { statusCommand } from './commands/status.js';
import { tenantCommand } from './commands/tenant.js';
import { webhookCommand } from './commands/webhook.js';
import { workerCommand } from './commands/worker.js';
import { explain } from './errors.js';

/** Options every command takes. */
const common = (cmd: Command) =>
  cmd
    .option('--json', 'print one JSON object')
    .option('--data-dir <dir>', 'the SQLite store directory (PROFILES_DATA_DIR, default ./data)')
    .option('--database-url <url>', 'a PostgreSQL store instead (PROFILES_DATABASE_URL)')
    .option('--verbose', 'on failure, print the stack trace too (so does PROFILES_LOG_LEVEL=debug)');

const program = new Command('openprofiles')
  .description('OpenProfiles: a self-hosted customer profile service (Profile API v2)')
  .showHelpAfterError()
  .exitOverride();

for (const add of [serveCommand, workerCommand, migrateCommand, tenantCommand, keyCommand, appCommand, attributeCommand, allowlistCommand, statusCommand, backupCommand, exportCommand, importCommand, webhookCommand, configCommand]) {
  add(program, common);
}

const isJson = process.argv.includes('--json');
const isVerbose = process.argv.includes('--verbose') || /^(debug|trace)$/.test(process.env.PROFILES_LOG_LEVEL ?? '');
/** The secrets of the database URLs in the environment and on the command line: never printed, whatever fails. */
const secrets = [...secretsInEnv(process.env), ...process.argv.flatMap((arg) => secretsOfUrl(arg.replace(/^--database-url=/, '')))];
const redacted = (text: string) => redactSecrets(text, secrets);
try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  const { message, hint } = explain(err);
  if (isJson) process.stdout.write(`${JSON.stringify({ error: { name: (err as Error)?.name, message: redacted(message), ...(hint && { hint }) } })}\n`);
  process.stderr.write(redacted(`openprofiles: ${message}\n${hint ? `  hint: ${hint}\n` : ''}${isVerbose ? `${(err as Error)?.stack ?? err}\n` : ''}`));
  process.exit(1);
}
