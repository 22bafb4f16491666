import { ConflictError, StorageError, StorageUnavailableError } from '../ports.js';

/** Result codes (primary and extended) after which retrying later can help. */
const UNAVAILABLE = /^SQLITE_(FULL|IOERR|BUSY|LOCKED|CANTOPEN|READONLY|NOMEM|PROTOCOL)/;
const CONFLICT = /^SQLITE_CONSTRAINT_(UNIQUE|PRIMARYKEY)$/;
/** Errors of the file system under the data directory (creating it and the database file, the applier lock file). */
const FILE_UNAVAILABLE = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'EDQUOT', 'EIO', 'ENOTDIR', 'EISDIR', 'EMFILE', 'ENFILE']);

/**
 * The contract's error for a better-sqlite3 (or data directory) error. Any other SQLite result
 * code becomes a plain StorageError, so no driver error leaves the adapter; errors that are not
 * the store's (a reducer's, a bug's) pass through unchanged.
 */
export function translateSqliteError(err: unknown): unknown {
  if (err instanceof StorageError) return err;
  const code = (err as { code?: unknown })?.code;
  const message = (err as Error)?.message ?? String(err);
  if (typeof code === 'string') {
    if (CONFLICT.test(code)) return new ConflictError(message, { cause: err });
    if (UNAVAILABLE.test(code)) return new StorageUnavailableError(`${code}: ${message}`, { cause: err });
    if (code.startsWith('SQLITE_')) return new StorageError(`${code}: ${message}`, { cause: err });
    if (FILE_UNAVAILABLE.has(code)) return new StorageUnavailableError(`${code}: ${message}`, { cause: err });
  }
  if (err instanceof TypeError && /database connection is not open/.test(message)) {
    return new StorageUnavailableError('the store is closed', { cause: err });
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
