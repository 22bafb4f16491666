import type { Command } from 'commander';
import { ATTRIBUTE_TYPES, type AttributeType } from '../../model/directory.js';
import { type CommonOptions, withStore } from '../context.js';
import { parseInteger, parseTenantId, print } from '../output.js';

export function attributeCommand(program: Command, common: (cmd: Command) => Command): void {
  const attribute = program.command('attribute').description("a tenant's master profile schema");

  common(
    attribute
      .command('add <tenantId> <name>')
      .description('add a typed custom attribute to the master profile schema')
      .requiredOption('--type <type>', ATTRIBUTE_TYPES.join(', '))
      .option('--max-length <n>', 'longest accepted value, characters')
      .option('--values <list>', 'comma list of the values of an enum')
      .option('--indexed', 'index its values, so profiles can be found by it (GET /openprofiles/v1/profiles?<name>=…); also for an attribute already defined'),
  ).action((id: string, name: string, options: CommonOptions & { type: string; maxLength?: string; values?: string; indexed?: boolean }) =>
    withStore(options, async ({ admin, store, out }) => {
      const tenantId = parseTenantId(id);
      const added = await admin.addAttribute(tenantId, {
        name,
        type: options.type as AttributeType,
        ...(options.maxLength !== undefined && { maxLength: parseInteger(options.maxLength) }),
        ...(options.values !== undefined && { values: options.values.split(',').map((v) => v.trim()) }),
      });
      // The index is built before the attribute is marked indexed: servers find by it only once it is there.
      if (options.indexed && !out.isJson) process.stderr.write(`indexing ${name} …\n`);
      const def = options.indexed ? await store.profileScan.indexMasterAttribute(tenantId, added.name) : added;
      print(out, { attribute: def }, `attribute ${def.name} (${def.type}) has ID ${def.id}${def.isIndexed ? ', indexed' : ''}`);
    }),
  );

  common(attribute.command('list <tenantId>').description('list the master profile schema')).action((id: string, options: CommonOptions) =>
    withStore(options, async ({ store, out }) => {
      const tenantId = parseTenantId(id);
      const attributes = (await store.directory.load()).attributes.filter((a) => a.tenantId === tenantId && a.scope === 'master');
      print(out, { attributes }, attributes.map((a) => `${a.id}\t${a.name}\t${a.type}${a.isIndexed ? '\tindexed' : ''}`).join('\n'));
    }),
  );
}
