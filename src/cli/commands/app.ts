import type { Command } from 'commander';
import { GENERIC_CHANNELS } from '../../domain/channels.js';
import { eraseApp, planAppErase } from '../../domain/erasure.js';
import { type CommonOptions, withStore } from '../context.js';
import { describeRows, parseTenantId, print, printErasePlan, progressOnStderr } from '../output.js';

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
    withStore(options, async ({ store, out }) => {
      const apps = await store.directory.listApps(parseTenantId(id));
      print(out, { apps }, apps.map((a) => `${a.appid}\t${a.channel}`).join('\n') || 'no apps');
    }),
  );

  common(
    app
      .command('delete <tenantId> <appid>')
      .description('erase an app, its attribute definitions and every app profile of it (all devices); its writes still queued finish with 7018')
      .option('--erase', 'confirm: without it, the command only says what it would erase'),
  ).action((id: string, appid: string, options: CommonOptions & { erase?: boolean }) =>
    withStore(options, async ({ store, out }) => {
      const tenantId = parseTenantId(id);
      const plan = await planAppErase(store, tenantId, appid);
      const what = `app ${appid} of tenant ${tenantId}`;
      if (!options.erase) return printErasePlan(out, { tenantId, appid }, what, plan.app !== null, plan.rows);
      const erased = await eraseApp(store, tenantId, appid, progressOnStderr(what));
      print(out, { tenantId, appid, erased }, `${what} erased: ${describeRows(erased)}`);
    }),
  );
}
