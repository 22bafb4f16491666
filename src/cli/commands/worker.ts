import type { Command } from 'commander';
import type { CommonOptions } from '../context.js';
import { parseInteger } from '../output.js';
import { configWith } from './serve.js';

export function workerCommand(program: Command, common: (cmd: Command) => Command): void {
  common(
    program
      .command('worker')
      .description('apply queued writes without serving HTTP (scale-out on PostgreSQL; one worker per SQLite store)')
      .option('--concurrency <n>', 'workers in this process (PROFILES_WORKER_CONCURRENCY)'),
  ).action(async (options: CommonOptions & { concurrency?: string }) => {
    const config = configWith(options, options.concurrency !== undefined ? { workerConcurrency: parseInteger(options.concurrency) } : {});
    const { closeOnSignals, createLogger, startWorkers } = await import('../../main.js');
    const logger = createLogger(config.logLevel);
    const running = await startWorkers(config, logger);
    closeOnSignals(running, logger, config.shutdownTimeoutMs);
    if (options.json) process.stdout.write(`${JSON.stringify({ workers: running.workers.workers.map((w) => w.workerId) })}\n`);
  });
}
