import type { Command } from 'commander';
import { eraseTenant, planTenantErase } from '../../domain/erasure.js';
import type { Tenant, TenantSettings } from '../../model/directory.js';
import { type CommonOptions, withStore } from '../context.js';
import { CliError, describeRows, parseBoolean, parseInteger, parseTenantId, print, printErasePlan, progressOnStderr } from '../output.js';

const describe = (t: Tenant) =>
  `${t.id}\t${t.name}\tformat=${t.settings.responseFormat} batch-limit=${t.settings.batchLimit} rate-limit=${t.settings.rateLimit}/s ` +
  `upsert-on-update=${t.settings.upsertOnUpdate} retention=${t.settings.retentionDays}d allow-list=${t.allowList.join(',') || 'any'}`;

export function tenantCommand(program: Command, common: (cmd: Command) => Command): void {
  const tenant = program.command('tenant').description('create, list and configure tenants');

  common(tenant.command('create <name>').description('create a tenant with one profile key (printed once)')).action(
    (name: string, options: CommonOptions) =>
      withStore(options, async ({ admin, out }) => {
        const { tenant: t, keyId, key } = await admin.createTenant(name);
        print(out, { id: t.id, name: t.name, keyId, key, settings: t.settings }, `tenant ${t.id} (${t.name}) created\nkey ${keyId}: ${key}\n(the key is shown only now)`);
      }),
  );

  common(tenant.command('list').description('list tenants and their settings')).action((options: CommonOptions) =>
    withStore(options, async ({ store, out }) => {
      const tenants = await store.directory.listTenants();
      print(out, { tenants }, tenants.length ? tenants.map(describe).join('\n') : 'no tenants');
    }),
  );

  common(
    tenant
      .command('update <id>')
      .description("change a tenant's settings")
      .option('--response-format <format>', 'legacy or batch')
      .option('--batch-limit <n>', 'most records per write request (1-1000)')
      .option('--rate-limit <n>', 'requests per second')
      .option('--upsert-on-update <bool>', 'true: an update of a missing profile creates it')
      .option('--retention-days <n>', 'days to keep finished write transactions and imports'),
  ).action(
    (
      id: string,
      options: CommonOptions & { responseFormat?: string; batchLimit?: string; rateLimit?: string; upsertOnUpdate?: string; retentionDays?: string },
    ) =>
      withStore(options, async ({ admin, out }) => {
        const patch: Partial<TenantSettings> = {};
        if (options.responseFormat !== undefined) patch.responseFormat = options.responseFormat as TenantSettings['responseFormat'];
        if (options.batchLimit !== undefined) patch.batchLimit = parseInteger(options.batchLimit);
        if (options.rateLimit !== undefined) patch.rateLimit = parseInteger(options.rateLimit);
        if (options.upsertOnUpdate !== undefined) patch.upsertOnUpdate = parseBoolean(options.upsertOnUpdate);
        if (options.retentionDays !== undefined) patch.retentionDays = Number(options.retentionDays);
        if (Object.keys(patch).length === 0) throw new CliError('nothing to change: give at least one setting');
        const t = await admin.updateSettings(parseTenantId(id), patch);
        print(out, { id: t.id, name: t.name, settings: t.settings }, describe(t));
      }),
  );

  common(
    tenant
      .command('delete <id>')
      .description('erase a tenant and everything it owns: keys, apps, attribute definitions, profiles, write transactions (queued ones too)')
      .option('--erase', 'confirm: without it, the command only says what it would erase'),
  ).action((id: string, options: CommonOptions & { erase?: boolean }) =>
    withStore(options, async ({ store, out }) => {
      const tenantId = parseTenantId(id);
      const plan = await planTenantErase(store, tenantId);
      const what = plan.tenant ? `tenant ${tenantId} (${plan.tenant.name})` : `tenant ${tenantId}`;
      if (!options.erase) return printErasePlan(out, { tenantId }, what, plan.tenant !== null, plan.rows);
      const erased = await eraseTenant(store, tenantId, progressOnStderr(what));
      print(out, { tenantId, erased }, `${what} erased: ${describeRows(erased)}`);
    }),
  );
}
