import { join } from 'node:path';
import { TenantAdmin } from './domain/tenant-admin.js';
import { eraseTenant } from './domain/erasure.js';
import { ensurePrivateDir, removeFileDurably, writeFileDurably } from './storage/private-files.js';
import type { Store } from './storage/ports.js';

/** The demo tenant's apps: one per channel, with fixed appids so the README's commands work as written. */
export const DEMO_APPS = [
  ['fb', 'demo-fb'],
  ['twitter', 'demo-twitter'],
  ['wechat', 'demo-wechat'],
  ['rt', 'demo-rt'],
  ['whatsapp', 'demo-whatsapp'],
] as const;

export interface DemoTenant {
  tenantId: number;
  key: string;
  appids: Record<string, string>;
  envFile: string;
}

/**
 * On an empty store, creates the `demo` tenant with one app per channel, and writes its key to
 * `<dataDir>/demo.env` (mode 0600, durably) so the README's commands work. Returns null when the store
 * already has tenants.
 */
export async function createDemoTenant(store: Pick<Store, 'directory' | 'keys'>, dataDir: string): Promise<DemoTenant | null> {
  if ((await store.directory.listTenants()).length > 0) return null;
  const admin = new TenantAdmin(store);
  const { tenant, key } = await admin.createTenant('demo');
  const appids: Record<string, string> = {};
  for (const [channel, appid] of DEMO_APPS) appids[channel] = (await admin.createApp(tenant.id, channel, appid)).appid;
  const envFile = join(dataDir, 'demo.env');
  ensurePrivateDir(dataDir);
  writeFileDurably(envFile, `# The demo tenant's profile key (created on first start). Delete this file once noted.\nexport PROFILES_KEY=${key}\n`);
  return { tenantId: tenant.id, key, appids, envFile };
}

/** Takes back a demo tenant this start created and could not show (the server did not start): the next start creates it again and shows its key. */
export async function forgetDemoTenant(store: Pick<Store, 'directory' | 'erasure'>, demo: DemoTenant): Promise<void> {
  await eraseTenant(store, demo.tenantId);
  removeFileDurably(demo.envFile);
}

/** What first start prints: the key, the appids and a curl that works as printed. */
export function demoBanner(demo: DemoTenant, baseUrl: string): string {
  const apps = Object.entries(demo.appids)
    .map(([channel, appid]) => `    ${channel.padEnd(9)} ${appid}`)
    .join('\n');
  return [
    '',
    'Created the demo tenant (turn this off with PROFILES_DEMO=false).',
    `  profile key: ${demo.key}   (shown once; also in ${demo.envFile})`,
    '  apps:',
    apps,
    '  try:',
    `    curl -k -H 'key: ${demo.key}' -H 'content-type: application/json' -X POST ${baseUrl}/resources/v2/customerprofile -d '{"Records":[{"customerId":"9876","Attributes":{"name":"Joe James","email":"joe@example.com"}}]}'`,
    `    curl -k -H 'key: ${demo.key}' ${baseUrl}/resources/v2/customerprofile/9876`,
    '',
  ].join('\n');
}
