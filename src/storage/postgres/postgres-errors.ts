import { ConflictError, StorageError, StorageUnavailableError, StoreAccessError } from '../ports.js';

/** SQLSTATE classes and codes that mean "try again later": connection, resources, shutdown, serialization. */
const UNAVAILABLE = /^(08|53|57P0[1-4]|40001|40P01|55P03|58)/;
/** SQLSTATEs of a connection the server refuses for good: class 28 (no such role, wrong password), 3D000 (no such database). */
const ACCESS = /^(28|3D000$)/;
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN']);

/** The contract's error for a pg error; other errors pass through unchanged. */
export function translatePostgresError(err: unknown): unknown {
  if (err instanceof StorageError) return err;
  const code = (err as { code?: unknown })?.code;
  const message = (err as Error)?.message ?? String(err);
  if (code === '23505') return new ConflictError(message);
  if (typeof code === 'string' && ACCESS.test(code)) return new StoreAccessError(message);
  if (typeof code === 'string' && (UNAVAILABLE.test(code) || NETWORK.has(code))) return new StorageUnavailableError(`${code}: ${message}`);
  if (/Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Cannot use a pool after calling end/i.test(message)) {
    return new StorageUnavailableError(message);
  }
  return err;
}
