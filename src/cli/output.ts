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
