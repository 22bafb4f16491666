import type { Command } from 'commander';
import { type CommonOptions, withStore } from '../context.js';
import { CliError, parseTenantId, print } from '../output.js';

export function keyCommand(program: Command, common: (cmd: Command) => Command): void {
  const key = program.command('key').description('profile keys: several may be active at once, for rotation');

  common(key.command('create <tenantId>').description('issue a new profile key (printed once)')).action((id: string, options: CommonOptions) =>
    withStore(options, async ({ admin, out }) => {
      const tenantId = parseTenantId(id);
      const issued = await admin.createKey(tenantId);
      print(out, { tenantId, ...issued }, `key ${issued.keyId}: ${issued.key}\n(the key is shown only now)`);
    }),
  );

  common(key.command('list <tenantId>').description("list a tenant's keys (ids and dates, never the keys)")).action(
    (id: string, options: CommonOptions) =>
      withStore(options, async ({ store, out }) => {
        const keys = (await store.keys.listProfileKeys(parseTenantId(id))).map(({ keyId, createdAt, revokedAt }) => ({ keyId, createdAt, revokedAt }));
        print(out, { keys }, keys.map((k) => `${k.keyId}\tcreated ${k.createdAt}${k.revokedAt ? `\trevoked ${k.revokedAt}` : ''}`).join('\n') || 'no keys');
      }),
  );

  common(key.command('revoke <tenantId> <keyId>').description('revoke a key; requests with it get 7001 within a second')).action(
    (id: string, keyId: string, options: CommonOptions) =>
      withStore(options, async ({ store, out }) => {
        const tenantId = parseTenantId(id);
        if (!(await store.keys.revokeProfileKey(tenantId, keyId))) throw new CliError(`tenant ${tenantId} has no active key ${keyId}`);
        print(out, { tenantId, keyId, revoked: true }, `key ${keyId} revoked`);
      }),
  );
}
