import type { Command } from 'commander';
import { statusBody } from '../../http/replies.js';
import { type CommonOptions, withStore } from '../context.js';
import { parseTenantId, print } from '../output.js';

export function statusCommand(program: Command, common: (cmd: Command) => Command): void {
  common(program.command('status <tenantId> <transid>').description("a write transaction's status, as the status API answers it")).action(
    (id: string, transid: string, options: CommonOptions) =>
      withStore(options, async ({ store, out }) => {
        const { body } = statusBody(transid, await store.journal.getWriteTransactionStatus(parseTenantId(id), transid.toLowerCase()));
        print(out, body as Record<string, unknown>, JSON.stringify(body, null, 2));
      }),
  );
}
