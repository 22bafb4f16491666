import type { Command } from 'commander';
import { type Config, loadConfig } from '../../config/config.js';
import type { CommonOptions } from '../context.js';
import { parseInteger } from '../output.js';

type Overrides = { -readonly [K in keyof Config]?: Config[K] };

/** Config from the environment, with the flags every long-running command shares. */
export function configWith(options: CommonOptions, overrides: Overrides = {}): Config {
  if (options.dataDir !== undefined) overrides.dataDir = options.dataDir;
  if (options.databaseUrl !== undefined) overrides.databaseUrl = options.databaseUrl;
  return loadConfig(process.env, overrides);
}

export function serveCommand(program: Command, common: (cmd: Command) => Command): void {
  common(
    program
      .command('serve')
      .description('serve the Profile API over HTTPS, applying the journal in the same process')
      .option('--host <address>', 'address to listen on (PROFILES_HOST)')
      .option('--port <port>', 'port to listen on (PROFILES_PORT)')
      .option('--no-worker', 'API only: leave applying the journal to `openprofiles worker` processes'),
  ).action(async (options: CommonOptions & { host?: string; port?: string; worker: boolean }) => {
    const overrides: Overrides = {};
    if (options.host !== undefined) overrides.host = options.host;
    if (options.port !== undefined) overrides.port = parseInteger(options.port);
    if (!options.worker) overrides.hasApplier = false;
    const config = configWith(options, overrides);
    // Loaded here so that admin commands start without the HTTP stack.
    const { closeOnSignals, createLogger, startServer } = await import('../../main.js');
    const logger = createLogger(config.logLevel);
    const server = await startServer(config, logger);
    closeOnSignals(server, logger, config.shutdownTimeoutMs);
    if (options.json) process.stdout.write(`${JSON.stringify({ url: server.url, appliers: server.applierIds })}\n`);
  });
}
