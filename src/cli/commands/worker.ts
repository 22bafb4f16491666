import type { Command } from 'commander';
import type { CommonOptions } from '../context.js';
import { parseInteger } from '../output.js';
import { configWith } from './serve.js';

export function workerCommand(program: Command, common: (cmd: Command) => Command): void {
  common(
    program
      .command('worker')
      .description('apply the journal without serving HTTP (scale-out on PostgreSQL; one applier per SQLite store)')
      .option('--concurrency <n>', 'applier loops in this process (PROFILES_WORKER_CONCURRENCY)'),
  ).action(async (options: CommonOptions & { concurrency?: string }) => {
    const config = configWith(options, options.concurrency !== undefined ? { applierConcurrency: parseInteger(options.concurrency) } : {});
    const { closeOnSignals, createLogger, startWorker } = await import('../../main.js');
    const logger = createLogger(config.logLevel);
    const running = await startWorker(config, logger);
    closeOnSignals(running, logger, config.shutdownTimeoutMs);
    if (options.json) process.stdout.write(`${JSON.stringify({ appliers: running.loops.loops.map((l) => l.applierId) })}\n`);
  });
}
