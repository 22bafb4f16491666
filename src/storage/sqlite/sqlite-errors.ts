import { ConflictError, StorageError, StorageUnavailableError } from '../storage.js';

const UNAVAILABLE = /^SQLITE_(FULL|IOERR|BUSY|LOCKED|CANTOPEN|READONLY|NOMEM|PROTOCOL)/;
const CONFLICT = /^SQLITE_CONSTRAINT_(UNIQUE|PRIMARYKEY)$/;

/** The contract's error for a better-sqlite3 error; other errors pass through unchanged. */
export function translateSqliteError(err: unknown): unknown {
  if (err instanceof StorageError) return err;
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string') {
    if (CONFLICT.test(code)) return new ConflictError((err as Error).message);
    if (UNAVAILABLE.test(code)) return new StorageUnavailableError(`${code}: ${(err as Error).message}`);
  }
  if (err instanceof TypeError && /database connection is not open/.test(err.message)) {
    return new StorageUnavailableError('the store is closed');
  }
  return err;
}

/** Runs `fn`, translating driver errors (no raw driver error leaves the adapter). */
export function translated<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw translateSqliteError(err);
  }
}
