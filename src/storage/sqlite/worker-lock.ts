import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { StorageUnavailableError } from '../storage.js';

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * One claiming worker per SQLite store: a pid file beside the database. Every process using an
 * embedded store runs on this host, so a holder that is no longer alive is detected and replaced.
 * This is what lets the adapter take back a dead worker's claims at once, in order.
 */
export class WorkerLock {
  private isHeld = false;

  constructor(private readonly path: string) {}

  acquire(): void {
    if (this.isHeld) return;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(this.path, 'wx', 0o600);
        writeSync(fd, String(process.pid));
        closeSync(fd);
        this.isHeld = true;
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = Number(readFileSync(this.path, 'utf8').trim());
      if (holder === process.pid) {
        this.isHeld = true;
        return;
      }
      if (Number.isInteger(holder) && holder > 0 && isAlive(holder)) {
        throw new StorageUnavailableError(`the worker of process ${holder} applies this store's queue; run one worker per SQLite store`);
      }
      unlinkSync(this.path);
    }
    throw new StorageUnavailableError(`could not take ${this.path}`);
  }

  release(): void {
    if (!this.isHeld) return;
    this.isHeld = false;
    try {
      unlinkSync(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}
