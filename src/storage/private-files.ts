import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, renameSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The data directory holds customer profiles and the TLS key: only its owner may read it. The
 * directory is 0700 and the database files 0600, whatever the umask, and an older, looser one is
 * tightened when the server opens it.
 *
 * A file or directory this module creates is durable before it returns: the directory that names it
 * is fsync'd, so a power cut cannot take back a name that the service went on to depend on.
 */
export function ensurePrivateDir(dir: string): void {
  const firstCreated = mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (firstCreated !== undefined) {
    for (let created = dir; ; created = dirname(created)) {
      syncPath(dirname(created));
      if (created === firstCreated) break;
    }
  }
  restrict(dir, 0o700);
}

/**
 * Creates `file` empty with mode 0600 when it does not exist (SQLite reads an empty file as a new
 * database, and creates its -wal and -shm files with the database file's mode), and tightens the
 * mode of it and its companions when they exist.
 */
export function ensurePrivateFile(file: string, companions: string[] = []): void {
  if (!existsSync(file)) {
    closeSync(openSync(file, 'a', 0o600));
    syncPath(dirname(file));
  }
  for (const path of [file, ...companions]) if (existsSync(path)) restrict(path, 0o600);
}

/** fsyncs a file or a directory by its path: what was written to it, or the names in it, reach the disk. */
export function syncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes `data` to `file` (mode 0600) so that a power cut leaves either what was there before or
 * all of `data`, never an empty or torn file: a temporary file beside it, fsync'd, then renamed to
 * `file`, then the directory fsync'd. With `isExclusive`, fails with EEXIST when `file` exists.
 */
export function writeFileDurably(file: string, data: string | Uint8Array, options: { isExclusive?: boolean } = {}): void {
  const temp = temporaryNameOf(file);
  const fd = openSync(temp, 'wx', 0o600);
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
  } catch (err) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw err;
  }
  closeSync(fd);
  publishDurably(temp, file, options);
}

/** A name beside `file` for a file that becomes `file` once complete (see `publishDurably`). */
export const temporaryNameOf = (file: string) => `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;

/**
 * Makes the complete file `temp` durable under the name `file`: fsyncs it, renames it (with
 * `isExclusive`, links it, which fails with EEXIST when `file` exists, and removes `temp`), and
 * fsyncs the directory. `temp` is removed if this fails.
 */
export function publishDurably(temp: string, file: string, options: { isExclusive?: boolean } = {}): void {
  try {
    syncPath(temp);
    if (options.isExclusive) {
      linkSync(temp, file);
      unlinkSync(temp);
    } else renameSync(temp, file);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
  syncPath(dirname(file));
}

/** Removes `file` if it exists, and fsyncs its directory. */
export function removeFileDurably(file: string): void {
  rmSync(file, { force: true });
  syncPath(dirname(file));
}

function restrict(path: string, mode: number): void {
  if ((statSync(path).mode & 0o777) !== mode) chmodSync(path, mode);
}
