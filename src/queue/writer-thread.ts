import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { type EnqueueResult, type NewWriteTransaction, StorageError, StorageUnavailableError } from '../storage/storage.js';
import { threadEntry } from '../thread-entry.js';
import type { Committer } from './group-commit.js';
import type { AppliedWriteTransaction } from './worker.js';

/** Messages from the server's thread to the writer thread. */
export type ToWriter = { type: 'enqueue'; wts: { id: number; wt: NewWriteTransaction }[] } | { type: 'stop' };

/** Messages from the writer thread to the server's thread. */
export type FromWriter =
  | { type: 'ready'; workerIds: string[] }
  | { type: 'enqueued'; answers: { id: number; result: EnqueueResult }[] }
  | { type: 'refused'; ids: number[]; message: string; isUnavailable: boolean }
  | { type: 'applied'; applied: AppliedWriteTransaction[] };

/** What the writer thread is started with (it opens its own connection to the same store). */
export interface WriterThreadData {
  config: Config;
  idempotencyWindowMs: number;
  /**
   * False: the thread only applies (its workers, as `config` has them), and takes no writes. On
   * PostgreSQL the server runs one that commits and one of these (see `main.ts`). Default true.
   */
  isCommitter?: boolean;
  /**
   * Shared with the server's thread: `[0]` counts the enqueue messages posted and not yet taken.
   * The writer thread cuts its batch in hand short when it is above zero (`shouldYield`).
   */
  waiting: Int32Array;
}

export interface WriterThreadOptions extends Omit<WriterThreadData, 'waiting'> {
  logger: Logger;
  onApplied(applied: AppliedWriteTransaction[]): void;
  /** Wait before starting a writer thread again after it died, ms. Default 1000. */
  restartDelayMs?: number;
}

interface Waiter {
  resolve(result: EnqueueResult): void;
  reject(err: unknown): void;
}

/**
 * The server's writes, in a thread of its own: it enqueues (group commit) and applies the queue,
 * so the server's event loop only parses, validates and reads. SQLite lets one connection write
 * at a time; with every write in one thread, the server's thread never waits for the write lock,
 * and its reads (WAL snapshots) never wait for a write. On PostgreSQL the server runs two, each
 * with a pool of its own: one commits, the other only applies (`isCommitter: false`), so the
 * workers' reduce holds neither the event loop that answers requests nor the commits.
 *
 * Write transactions submitted in one turn of the event loop travel in one message; each is
 * answered as soon as the commit that holds it is done (see GroupCommitter). If the thread dies,
 * what it had not answered is refused with 7902 (the client retries; nothing unanswered is ever
 * reported accepted) and a new thread starts, which takes back the queue in order.
 */
export class WriterThread implements Committer {
  private thread: Worker | null = null;
  private pending: Array<{ wt: NewWriteTransaction } & Waiter> = [];
  private readonly inFlight = new Map<number, Waiter>();
  private nextId = 1;
  private isScheduled = false;
  private isStopping = false;
  private restartTimer: NodeJS.Timeout | null = null;
  workerIds: string[] = [];
  private isReady = false;
  private readonly waiting = new Int32Array(new SharedArrayBuffer(4));

  constructor(private readonly options: WriterThreadOptions) {}

  /** Starts the thread; resolves once its store is open and its worker runs. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      const { config, idempotencyWindowMs, isCommitter = true } = this.options;
      // Messages a dead thread never took are not waiting for the new one.
      Atomics.store(this.waiting, 0, 0);
      const { waiting } = this;
      const thread = new Worker(threadEntry('writer-thread-main.js'), { workerData: { config, idempotencyWindowMs, isCommitter, waiting } satisfies WriterThreadData });
      this.thread = thread;
      let isReady = false;
      thread.on('message', (msg: FromWriter) => {
        if (msg.type === 'ready') {
          isReady = true;
          this.isReady = true;
          this.workerIds = msg.workerIds;
          resolve();
        } else this.onMessage(msg);
      });
      thread.on('error', (err) => {
        if (!isReady) reject(err);
        else this.options.logger.error({ err }, 'the writer thread failed');
      });
      thread.on('exit', (code) => {
        this.thread = null;
        this.isReady = false;
        this.refuseInFlight('the store writer stopped before answering; retry');
        if (!isReady) reject(new StorageUnavailableError(`the writer thread exited with code ${code} while starting`));
        else if (!this.isStopping) this.restartLater(code);
      });
    });
  }

  get isAvailable(): boolean {
    return this.isReady && !this.isStopping;
  }

  submit(wt: NewWriteTransaction): Promise<EnqueueResult> {
    if (this.options.isCommitter === false) throw new Error('this thread only applies; submit writes to the committing one');
    if (!this.thread || this.isStopping) return Promise.reject(new StorageUnavailableError('the store writer is restarting; retry'));
    // The records cross as their JSON text only (see NewWriteTransaction): the parsed ones are not
    // kept, and once posted neither is the text, so a write waiting for its commit holds neither.
    const { records: _parsed, ...crossing } = wt;
    return new Promise((resolve, reject) => {
      this.pending.push({ wt: crossing, resolve, reject });
      if (this.isScheduled) return;
      this.isScheduled = true;
      // Every request parsed in this turn of the event loop joins the message.
      setImmediate(() => this.send());
    });
  }

  /** Lets the batch in hand and every submitted write transaction finish, then ends the thread. */
  async stop(): Promise<void> {
    this.isStopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const thread = this.thread;
    if (!thread) return;
    this.send();
    const exited = new Promise<void>((resolve) => thread.once('exit', () => resolve()));
    thread.postMessage({ type: 'stop' } satisfies ToWriter);
    await exited;
  }

  private send(): void {
    this.isScheduled = false;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    if (!this.thread) {
      for (const p of batch) p.reject(new StorageUnavailableError('the store writer is restarting; retry'));
      return;
    }
    const wts = batch.map(({ wt, resolve, reject }) => {
      const id = this.nextId++;
      this.inFlight.set(id, { resolve, reject });
      return { id, wt };
    });
    this.thread.postMessage({ type: 'enqueue', wts } satisfies ToWriter);
    Atomics.add(this.waiting, 0, 1);
  }

  private onMessage(msg: Exclude<FromWriter, { type: 'ready' }>): void {
    if (msg.type === 'applied') {
      this.options.onApplied(msg.applied);
      return;
    }
    const take = (id: number) => {
      const waiter = this.inFlight.get(id);
      this.inFlight.delete(id);
      return waiter;
    };
    if (msg.type === 'enqueued') {
      for (const { id, result } of msg.answers) take(id)?.resolve(result);
    } else {
      const err = msg.isUnavailable ? new StorageUnavailableError(msg.message) : new StorageError(msg.message);
      for (const id of msg.ids) take(id)?.reject(err);
    }
  }

  private refuseInFlight(message: string): void {
    const err = new StorageUnavailableError(message);
    for (const w of this.inFlight.values()) w.reject(err);
    this.inFlight.clear();
  }

  private restartLater(code: number): void {
    const delay = this.options.restartDelayMs ?? 1000;
    this.options.logger.error({ code, restartInMs: delay }, 'the writer thread exited; starting a new one');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      this.start().catch((err) => {
        this.options.logger.error({ err }, 'the writer thread could not start');
        if (!this.isStopping) this.restartLater(1);
      });
    }, delay);
  }
}
