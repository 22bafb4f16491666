import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';

/**
 * The data directory holds customer profiles and the TLS key: only its owner may read it. The
 * directory is 0700 and the database files 0600, whatever the umask, and an older, looser one is
 * tightened when the server opens it.
 */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  restrict(dir, 0o700);
}

/**
 * Creates `file` empty with mode 0600 when it does not exist (SQLite reads an empty file as a new
 * database, and creates its -wal and -shm files with the database file's mode), and tightens the
 * mode of it and its companions when they exist.
 */
export function ensurePrivateFile(file: string, companions: string[] = []): void {
  closeSync(openSync(file, 'a', 0o600));
  for (const path of [file, ...companions]) if (existsSync(path)) restrict(path, 0o600);
}

function restrict(path: string, mode: number): void {
  if ((statSync(path).mode & 0o777) !== mode) chmodSync(path, mode);
}
