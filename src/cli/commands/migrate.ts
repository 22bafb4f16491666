import type { Command } from 'commander';
import { openStore } from '../../open-store.js';
import { type CommonOptions, locationOf } from '../context.js';
import { print } from '../output.js';

export function migrateCommand(program: Command, common: (cmd: Command) => Command): void {
  common(program.command('migrate').description("apply the store's pending migrations")).action(async (options: CommonOptions) => {
    const storage = openStore(locationOf(options));
    try {
      const report = await storage.migrate();
      const done = report.applied.length ? `applied ${report.applied.join(', ')}; ` : 'nothing to apply; ';
      print({ isJson: Boolean(options.json) }, { ...report }, `${done}schema version ${report.version}`);
    } finally {
      await storage.close();
    }
  });
}
