import type { RowCounts } from '../model/directory.js';

/** How a command reports: one JSON object with --json, readable lines without. */
export interface Output {
  isJson: boolean;
}

export function print(out: Output, result: Record<string, unknown>, human: string): void {
  process.stdout.write(out.isJson ? `${JSON.stringify(result)}\n` : `${human}\n`);
}

/** A refusal the operator can fix: printed without a stack trace, exit status 1. */
export class CliError extends Error {
  override name = 'CliError';
}

export function parseTenantId(text: string): number {
  const id = Number(text);
  if (!Number.isSafeInteger(id) || id < 1) throw new CliError(`tenant ids are positive integers, got ${JSON.stringify(text)}`);
  return id;
}

export function parseBoolean(text: string): boolean {
  if (text === 'true') return true;
  if (text === 'false') return false;
  throw new CliError(`expected true or false, got ${JSON.stringify(text)}`);
}

export function parseInteger(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new CliError(`expected an integer, got ${JSON.stringify(text)}`);
  return n;
}

const ROW_KINDS: Array<[keyof RowCounts, string, string]> = [
  ['profileKeys', 'profile key', 'profile keys'],
  ['apps', 'app', 'apps'],
  ['attributeDefinitions', 'attribute definition', 'attribute definitions'],
  ['masterProfiles', 'master profile', 'master profiles'],
  ['appProfiles', 'app profile', 'app profiles'],
  ['writeTransactions', 'write transaction', 'write transactions'],
  ['changeEvents', 'change event', 'change events'],
  ['imports', 'import', 'imports'],
  ['importChunks', 'import chunk', 'import chunks'],
  ['importRejects', 'rejected import row', 'rejected import rows'],
  ['webhookEndpoints', 'webhook endpoint', 'webhook endpoints'],
  ['webhookDeliveries', 'pending webhook delivery', 'pending webhook deliveries'],
  ['webhookAttempts', 'webhook attempt', 'webhook attempts'],
];

/** "2 profile keys, 1 app, 30 master profiles": the kinds with rows, or "nothing". */
export function describeRows(rows: RowCounts): string {
  const parts = ROW_KINDS.filter(([kind]) => rows[kind] > 0).map(([kind, one, many]) => `${rows[kind]} ${rows[kind] === 1 ? one : many}`);
  return parts.join(', ') || 'nothing';
}

/**
 * Progress of a long erase on stderr (never on stdout, which --json keeps for one object): a line
 * once it has run a second, then at most one a second.
 */
export function progressOnStderr(what: string): (erasedSoFar: RowCounts) => void {
  const started = Date.now();
  let printed = started;
  return (erased) => {
    const now = Date.now();
    if (now - printed < 1000) return;
    printed = now;
    process.stderr.write(`erasing ${what}: ${describeRows(erased)} erased so far (${Math.round((now - started) / 1000)} s)\n`);
  };
}

/**
 * A delete given without --erase is a dry run: it prints what it would erase and how to confirm.
 * `what` is no longer in the directory when an earlier delete was interrupted: running it again
 * finishes.
 */
export function printErasePlan(out: Output, target: Record<string, unknown>, what: string, isInDirectory: boolean, rows: RowCounts): void {
  const where = isInDirectory ? '' : ' (no longer in the directory: an earlier delete was interrupted)';
  print(
    out,
    { ...target, isDryRun: true, isInDirectory, wouldErase: rows },
    `${what}${where}: deleting it erases ${describeRows(rows)}, for good. Nothing was erased; to erase, run the same command with --erase`,
  );
}
