import type { Command } from 'commander';
import { SETTINGS, loadConfig, settingsMarkdown } from '../../config/config.js';
import type { CommonOptions } from '../context.js';
import { print } from '../output.js';

export function configCommand(program: Command, common: (cmd: Command) => Command): void {
  common(
    program
      .command('config')
      .description('print the configuration in effect (environment and defaults), or every setting as Markdown')
      .option('--markdown', 'the table of every setting, its variable, default and meaning'),
  ).action((options: CommonOptions & { markdown?: boolean }) => {
    if (options.markdown) {
      process.stdout.write(settingsMarkdown());
      return;
    }
    const config = loadConfig();
    const lines = Object.entries(SETTINGS).map(([name, s]) => `${s.env}=${JSON.stringify(config[name as keyof typeof config])}`);
    print({ isJson: Boolean(options.json) }, { ...config }, lines.join('\n'));
  });
}
