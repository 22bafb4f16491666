import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { EnqueueResult, NewWriteTransaction } from '../model/write-transaction.js';
import { StorageError, StorageUnavailableError } from '../storage/ports.js';
import { threadEntry } from '../thread-entry.js';
import type { Committer } from './group-commit.js';
import type { AppliedWriteTransaction } from './worker.js';

/** Messages from the server's thread to the writer thread. */
export type ToWriter = { type: 'enqueue'; wts: { id: number; wt: NewWriteTransaction }[] } | { type: 'wake' } | { type: 'stop' };

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
   * True: the thread commits the server's writes (group commit) and runs the retention sweep when
   * the server applies nothing. False: it only applies (its workers, as `config` has them). The
   * server runs one of each (see `main.ts`).
   */
  isCommitter: boolean;
}

export interface WriterThreadOptions extends WriterThreadData {
  logger: Logger;
  onApplied(applied: AppliedWriteTransaction[]): void;
  /** Hears each commit of writes (the server wakes its applying thread). */
  onCommitted?(): void;
  /** Wait before starting a writer thread again after it died, ms. Default 1000. */
  restartDelayMs?: number;
}

/** The committing thread's young generation, MB (V8's default 48): what it allocates dies once committed (docs/performance.md). */
const COMMITTER_YOUNG_GENERATION_MB = 8;

interface Waiter {
  resolve(result: EnqueueResult): void;
  reject(err: unknown): void;
}

/**
 * The server's writes, in threads of their own, so the server's event loop only parses, validates
 * and reads: one thread commits the writes (group commit), one applies the queue
 * (`isCommitter: false`), each with its own connections. On SQLite the committer writes the
 * journal and the applier the store, two files, so neither waits for the other's write lock, and
 * the server's reads (WAL snapshots) wait for neither.
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

  constructor(private readonly options: WriterThreadOptions) {}

  /** Starts the thread; resolves once its store is open and its worker runs. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      const { config, idempotencyWindowMs, isCommitter } = this.options;
      const resourceLimits = isCommitter ? { maxYoungGenerationSizeMb: COMMITTER_YOUNG_GENERATION_MB } : {};
      const thread = new Worker(threadEntry('writer-thread-main.js'), { workerData: { config, idempotencyWindowMs, isCommitter } satisfies WriterThreadData, resourceLimits });
      this.thread = thread;
      thread.on('message', (msg: FromWriter) => {
        if (msg.type !== 'ready') return this.onMessage(msg);
        this.isReady = true;
        this.workerIds = msg.workerIds;
        resolve();
      });
      thread.on('error', (err) => {
        if (!this.isReady) reject(err);
        else this.options.logger.error({ err }, 'the writer thread failed');
      });
      thread.on('exit', (code) => {
        const wasReady = this.isReady;
        this.thread = null;
        this.isReady = false;
        this.refuseInFlight('the store writer stopped before answering; retry');
        if (!wasReady) reject(new StorageUnavailableError(`the writer thread exited with code ${code} while starting`));
        else if (!this.isStopping) this.restartLater(code);
      });
    });
  }

  get isAvailable(): boolean {
    return this.isReady && !this.isStopping;
  }

  submit(wt: NewWriteTransaction): Promise<EnqueueResult> {
    if (!this.options.isCommitter) throw new Error('this thread only applies; submit writes to the committing one');
    if (!this.thread || this.isStopping) return Promise.reject(new StorageUnavailableError('the store writer is restarting; retry'));
    return new Promise((resolve, reject) => {
      this.pending.push({ wt, resolve, reject });
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
  }

  /** New writes are queued: an applying thread stops idling. */
  wake(): void {
    this.thread?.postMessage({ type: 'wake' } satisfies ToWriter);
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
      this.options.onCommitted?.();
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
