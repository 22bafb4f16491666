import { ApiError } from '../domain/errors.js';
import { AdminError } from '../domain/tenant-admin.js';
import { StorageError, StoreAccessError } from '../storage/ports.js';
import { CliError } from './output.js';

/** How the CLI reports a failure: one line, and what to do about it when that is known. */
export interface Explained {
  message: string;
  hint?: string;
}

const LISTEN_HINTS: Record<string, (where: string) => Explained> = {
  EADDRINUSE: (where) => ({
    message: `${where} is already in use`,
    hint: 'another process listens there (another openprofiles serve?): stop it, or choose another port with --port or PROFILES_PORT',
  }),
  EACCES: (where) => ({
    message: `not permitted to listen on ${where}`,
    hint: 'ports below 1024 need root or CAP_NET_BIND_SERVICE: choose another port with --port or PROFILES_PORT',
  }),
  EADDRNOTAVAIL: (where) => ({
    message: `cannot listen on ${where}: no interface of this machine has that address`,
    hint: 'choose an address of this machine with --host or PROFILES_HOST (:: takes them all)',
  }),
};

/** What each kind of store failure asks the operator to do. */
const STORE_HINTS: Array<[RegExp, string]> = [
  [/SQLITE_BUSY|database is locked/, "another process holds the store's write lock (a long erase or a stuck process): try again once it is done"],
  [/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|EAI_AGAIN|ETIMEDOUT|timeout exceeded when trying to connect/, 'is PostgreSQL running, and reachable at the host and port of PROFILES_DATABASE_URL (or --database-url)?'],
  [/ENOSPC|SQLITE_FULL/, 'the disk is full: free some space'],
  [/EACCES|EPERM|EROFS|SQLITE_READONLY|SQLITE_CANTOPEN/, 'this user may not write there: check the owner and mode (the store is in --data-dir or PROFILES_DATA_DIR, default ./data)'],
];

/**
 * The failure as one line and a hint. Refusals the operator can fix (a CLI, admin or store error,
 * a port in use, a bad setting) read as they are; anything else is a defect, and says how to see
 * its stack trace.
 */
export function explain(err: unknown): Explained {
  const e = err as Partial<NodeJS.ErrnoException & { address: string; port: number }>;
  const message = e?.message ?? String(err);
  if (e?.syscall === 'listen' && e.code && LISTEN_HINTS[e.code]) {
    const where = e.port === undefined ? String(e.address ?? 'that address') : `port ${e.port}${e.address ? ` on ${e.address}` : ''}`;
    return LISTEN_HINTS[e.code](where);
  }
  if (err instanceof StoreAccessError) {
    return { message, hint: 'check the role, password and database name in PROFILES_DATABASE_URL (or --database-url): the role and the database must exist (createuser, createdb)' };
  }
  // Store errors, and the file system's (the data directory, certificate files).
  if (err instanceof StorageError || (e?.syscall && e.path)) {
    const hint = STORE_HINTS.find(([pattern]) => pattern.test(message))?.[1];
    return hint ? { message, hint } : { message };
  }
  if (err instanceof CliError || err instanceof AdminError || err instanceof ApiError) return { message };
  if (e?.name === 'ConfigError') return { message, hint: '`openprofiles config --markdown` lists every setting and the values it takes' };
  if (e?.code === 'ERR_INVALID_URL') {
    return { message: 'the database URL is not a valid URL', hint: 'write PROFILES_DATABASE_URL (or --database-url) as postgres://user:password@host:5432/database, with special characters percent-encoded' };
  }
  return { message: `${e?.name ?? 'Error'}: ${message}`, hint: 'this is unexpected: run again with --verbose for the stack trace, and report it' };
}
