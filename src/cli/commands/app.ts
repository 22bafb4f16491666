import type { Command } from 'commander';
import { GENERIC_CHANNELS } from '../../domain/channels.js';
import { type CommonOptions, withStore } from '../context.js';
import { parseTenantId, print } from '../output.js';

export function appCommand(program: Command, common: (cmd: Command) => Command): void {
  const app = program.command('app').description("a tenant's apps (channel assets)");

  common(
    app
      .command('create <tenantId>')
      .description('create an app for a channel')
      .requiredOption('--channel <channel>', `fb (Messenger), twitter, wechat, rt (in-app/push, one profile per device), or a generic channel: ${GENERIC_CHANNELS.join(', ')}`)
      .option('--appid <appid>', 'the appid to use (default: generated)'),
  ).action((id: string, options: CommonOptions & { channel: string; appid?: string }) =>
    withStore(options, async ({ admin, out }) => {
      const created = await admin.createApp(parseTenantId(id), options.channel, options.appid);
      print(out, { appid: created.appid, channel: created.channel, tenantId: created.tenantId }, `app ${created.appid} (${created.channel}) created`);
    }),
  );

  common(app.command('list <tenantId>').description("list a tenant's apps")).action((id: string, options: CommonOptions) =>
    withStore(options, async ({ storage, out }) => {
      const apps = await storage.listApps(parseTenantId(id));
      print(out, { apps }, apps.map((a) => `${a.appid}\t${a.channel}`).join('\n') || 'no apps');
    }),
  );
}
