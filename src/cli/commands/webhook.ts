import type { Command } from 'commander';
import { type AttemptJson, type EndpointJson, WebhookEndpoints } from '../../changes/webhook-endpoints.js';
import { loadConfig } from '../../config/config.js';
import type { Store } from '../../storage/ports.js';
import { type CommonOptions, withStore } from '../context.js';
import { CliError, parseInteger, print } from '../output.js';
import { findTenant } from './export.js';

/** The tenant that holds the endpoint (endpoint ids are unique across tenants). */
async function tenantOfEndpoint(store: Pick<Store, 'directory' | 'webhooks'>, endpointId: string): Promise<number> {
  for (const tenant of await store.directory.listTenants()) {
    if ((await store.webhooks.listEndpoints(tenant.id)).some((e) => e.id === endpointId)) return tenant.id;
  }
  throw new CliError(`no webhook endpoint ${endpointId} (openprofiles webhook list shows them)`);
}

const describeEndpoint = (e: EndpointJson) =>
  `${e.id}\t${e.url}\t${e.types ? e.types.join(',') : 'every type'}\t${e.isEnabled ? (e.failingSince ? `failing since ${e.failingSince}` : 'enabled') : `disabled: ${e.disabledReason}`}`;

const describeAttempt = (a: AttemptJson) =>
  `${a.attemptedAt}\t${a.eventId}\tattempt ${a.attempt}\t${a.outcome}\t${a.status ?? '-'}\t${a.durationMs} ms\t${a.response.replace(/\s+/g, ' ').slice(0, 80)}`;

export function webhookCommand(program: Command, common: (cmd: Command) => Command): void {
  const webhook = program.command('webhook').description("webhook endpoints: a tenant's change events, signed and delivered to a URL (docs/changes.md)");
  const endpoints = (store: Store) => new WebhookEndpoints(store, loadConfig(process.env).webhookAllowPrivate);

  common(
    webhook
      .command('add')
      .description('add an endpoint that receives the events from now on; prints its id and secret (shown only now)')
      .requiredOption('--tenant <nameOrId>', 'the tenant, by name or id')
      .requiredOption('--url <url>', 'https URL of the receiver')
      .option('--types <types>', 'only these event types, a comma list (default: every type)'),
  ).action((options: CommonOptions & { tenant: string; url: string; types?: string }) =>
    withStore(options, async ({ store, out }) => {
      const tenant = await findTenant(store.directory, options.tenant);
      const added = await endpoints(store).add(tenant.id, { url: options.url, types: options.types === undefined ? null : options.types.split(',').map((t) => t.trim()) });
      print(out, { tenantId: tenant.id, ...added }, `webhook endpoint ${added.id}\nsecret: ${added.secret}\n(the secret is shown only now: verify deliveries with it)`);
    }),
  );

  common(webhook.command('list').description('list endpoints (never their secrets)').option('--tenant <nameOrId>', "only this tenant's")).action(
    (options: CommonOptions & { tenant?: string }) =>
      withStore(options, async ({ store, out }) => {
        const tenants = options.tenant === undefined ? await store.directory.listTenants() : [await findTenant(store.directory, options.tenant)];
        const list: Array<EndpointJson & { tenantId: number }> = [];
        for (const tenant of tenants) for (const e of await endpoints(store).list(tenant.id)) list.push({ tenantId: tenant.id, ...e });
        print(out, { endpoints: list }, list.map((e) => `${e.tenantId}\t${describeEndpoint(e)}`).join('\n') || 'no webhook endpoints');
      }),
  );

  common(webhook.command('remove <endpointId>').description('remove an endpoint with its pending deliveries and attempts')).action((id: string, options: CommonOptions) =>
    withStore(options, async ({ store, out }) => {
      const tenantId = await tenantOfEndpoint(store, id);
      await endpoints(store).remove(tenantId, id);
      print(out, { tenantId, endpointId: id, isRemoved: true }, `webhook endpoint ${id} removed`);
    }),
  );

  common(webhook.command('enable <endpointId>').description('enable a disabled endpoint: its pending deliveries go at once, then what came since')).action(
    (id: string, options: CommonOptions) =>
      withStore(options, async ({ store, out }) => {
        const tenantId = await tenantOfEndpoint(store, id);
        const endpoint = await endpoints(store).enable(tenantId, id);
        print(out, { tenantId, ...endpoint }, `webhook endpoint ${id} enabled`);
      }),
  );

  common(webhook.command('attempts <endpointId>').description("an endpoint's delivery attempts, newest first (kept 30 days)").option('--limit <n>', 'most attempts', '50')).action(
    (id: string, options: CommonOptions & { limit: string }) =>
      withStore(options, async ({ store, out }) => {
        const limit = parseInteger(options.limit);
        if (limit < 1 || limit > 1000) throw new CliError('--limit takes 1 to 1000');
        const tenantId = await tenantOfEndpoint(store, id);
        const { data } = await endpoints(store).attempts(tenantId, id, { limit });
        print(out, { endpointId: id, attempts: data }, data.map(describeAttempt).join('\n') || 'no attempts');
      }),
  );

  common(
    webhook
      .command('resend <eventId>')
      .description('deliver an event still in the feed again, with the same webhook-id')
      .requiredOption('--endpoint <endpointId>', 'the endpoint'),
  ).action((eventId: string, options: CommonOptions & { endpoint: string }) =>
    withStore(options, async ({ store, out }) => {
      const tenantId = await tenantOfEndpoint(store, options.endpoint);
      const queued = await endpoints(store).resend(tenantId, options.endpoint, eventId);
      print(out, { tenantId, ...queued }, `event ${eventId} queued for ${options.endpoint}`);
    }),
  );
}
