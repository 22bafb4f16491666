import type { Command } from 'commander';
import { type CommonOptions, withStore } from '../context.js';
import { parseTenantId, print } from '../output.js';

export function allowlistCommand(program: Command, common: (cmd: Command) => Command): void {
  const allowlist = program.command('allowlist').description("a tenant's IP allow list (empty: any address)");

  common(allowlist.command('set <tenantId> <entries...>').description('replace the list with IPv4/IPv6 addresses and CIDR ranges')).action(
    (id: string, entries: string[], options: CommonOptions) =>
      withStore(options, async ({ admin, out }) => {
        const t = await admin.setAllowList(parseTenantId(id), entries);
        print(out, { tenantId: t.id, allowList: t.allowList }, `allow list of tenant ${t.id}: ${t.allowList.join(' ')}`);
      }),
  );

  common(allowlist.command('clear <tenantId>').description('empty the list: any address may call')).action((id: string, options: CommonOptions) =>
    withStore(options, async ({ admin, out }) => {
      const t = await admin.setAllowList(parseTenantId(id), []);
      print(out, { tenantId: t.id, allowList: t.allowList }, `allow list of tenant ${t.id} cleared: any address may call`);
    }),
  );
}
