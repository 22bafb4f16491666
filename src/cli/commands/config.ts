import type { Command } from 'commander';
import { SETTINGS, redactedConfig, settingsMarkdown } from '../../config/config.js';
import type { CommonOptions } from '../context.js';
import { print } from '../output.js';
import { configWith } from './serve.js';

export function configCommand(program: Command, common: (cmd: Command) => Command): void {
  common(
    program
      .command('config')
      .description('print the configuration in effect (environment, flags and defaults; passwords as ***), or every setting as Markdown')
      .option('--markdown', 'the table of every setting, its variable, default and meaning'),
  ).action((options: CommonOptions & { markdown?: boolean }) => {
    if (options.markdown) {
      process.stdout.write(settingsMarkdown());
      return;
    }
    const config = redactedConfig(configWith(options));
    const lines = Object.entries(SETTINGS).map(([name, s]) => `${s.env}=${JSON.stringify(config[name as keyof typeof config])}`);
    print({ isJson: Boolean(options.json) }, { ...config }, lines.join('\n'));
  });
}
