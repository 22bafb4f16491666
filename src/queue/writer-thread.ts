import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { EnqueueResult, NewWriteTransaction } from '../model/write-transaction.js';
import { StorageError, StorageUnavailableError } from '../storage/ports.js';
import { threadEntry } from '../thread-entry.js';
import { Crossing, type Silent } from '../threads/crossing.js';
import { States } from '../threads/states.js';
import type { Committer } from './group-commit.js';
import type { AppliedWriteTransaction } from './worker.js';

/** What the server's thread sends a writer thread: writes to commit, the applying thread's wake-up port, stop. */
export type ToWriter = {
  requests: { enqueue: { body: NewWriteTransaction; answer: EnqueueResult } };
  notes: { peer: MessagePort; stop: null };
};

/** What a writer thread sends the server's thread. */
export type FromWriter = { requests: Silent['requests']; notes: { ready: { workerIds: string[] }; applied: AppliedWriteTransaction[] } };

/** What the committing thread sends the applying one, directly (see `WriterThread.connect`). */
export type ToApplier = { requests: Silent['requests']; notes: { wake: null } };

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
  /** Hears each new thread ready, the first and each one started after a thread died. */
  onReady?(): void;
  /** Wait before starting a writer thread again after it died, ms. Default 1000. */
  restartDelayMs?: number;
}

/** The committing thread's young generation, MB (V8's default 48): what it allocates dies once committed (docs/performance.md). */
const COMMITTER_YOUNG_GENERATION_MB = 8;

/**
 * A writer thread's handle: `starting` (its first thread), `ready`, `restarting` (the thread died:
 * a new one starts after `restartDelayMs`, and again until one is ready), `stopping`, `stopped`.
 */
type State = 'starting' | 'ready' | 'restarting' | 'stopping' | 'stopped';
const TRANSITIONS: Record<State, readonly State[]> = {
  stopped: ['starting'],
  starting: ['ready', 'stopping', 'stopped'],
  ready: ['restarting', 'stopping'],
  restarting: ['ready', 'restarting', 'stopping'],
  stopping: ['stopped'],
};

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
  private crossing: Crossing<ToWriter, FromWriter> | null = null;
  private readonly lifecycle = new States<State>(TRANSITIONS, 'stopped');
  workerIds: string[] = [];

  constructor(private readonly options: WriterThreadOptions) {}

  /** Starts the thread; resolves once its store is open and its worker runs. */
  start(): Promise<void> {
    this.lifecycle.to('starting');
    return this.launch();
  }

  get isAvailable(): boolean {
    return this.lifecycle.state === 'ready';
  }

  submit(wt: NewWriteTransaction): Promise<EnqueueResult> {
    if (!this.options.isCommitter) throw new Error('this thread only applies; submit writes to the committing one');
    if (!this.crossing || this.lifecycle.state === 'stopping') return Promise.reject(new StorageUnavailableError('the store writer is restarting; retry'));
    // Every request parsed in this turn of the event loop joins one message.
    return this.crossing.request('enqueue', wt);
  }

  /** Lets the batch in hand and every submitted write transaction finish, then ends the thread. */
  async stop(): Promise<void> {
    if (this.lifecycle.state === 'stopped') return;
    this.lifecycle.to('stopping');
    const { thread, crossing } = this;
    if (!thread || !crossing) return this.lifecycle.to('stopped');
    const exited = new Promise<void>((resolve) => thread.once('exit', () => resolve()));
    crossing.notify('stop', null);
    await exited;
  }

  /**
   * Connects the committing thread to the applying one, which it then wakes itself after each
   * commit. Called when either is ready (each start and restart): a new channel once both are.
   */
  static connect(committer: WriterThread, applier: WriterThread | null): void {
    if (!committer.isAvailable || !applier?.isAvailable) return;
    const { port1, port2 } = new MessageChannel();
    committer.crossing!.notify('peer', port1, [port1]);
    applier.crossing!.notify('peer', port2, [port2]);
  }

  private launch(): Promise<void> {
    return new Promise((resolve, reject) => {
      const { config, idempotencyWindowMs, isCommitter } = this.options;
      const resourceLimits = isCommitter ? { maxYoungGenerationSizeMb: COMMITTER_YOUNG_GENERATION_MB } : {};
      const thread = new Worker(threadEntry('writer-thread-main.js'), { workerData: { config, idempotencyWindowMs, isCommitter } satisfies WriterThreadData, resourceLimits });
      const ready = ({ workerIds }: { workerIds: string[] }) => {
        this.workerIds = workerIds;
        if (this.lifecycle.state === 'stopping') return resolve();
        this.lifecycle.to('ready');
        resolve();
        this.options.onReady?.();
      };
      const crossing = new Crossing<ToWriter, FromWriter>(thread, { requests: {}, notes: { ready, applied: (a) => this.options.onApplied(a) } }, (r) =>
        r.isUnavailable ? new StorageUnavailableError(r.message) : new StorageError(r.message),
      );
      this.thread = thread;
      this.crossing = crossing;
      thread.on('error', (err) => {
        const state = this.lifecycle.state;
        if (state === 'starting' || state === 'restarting') reject(err);
        else this.options.logger.error({ err }, 'the writer thread failed');
      });
      thread.on('exit', (code) => {
        this.thread = null;
        this.crossing = null;
        crossing.close('the store writer stopped before answering; retry');
        reject(new StorageUnavailableError(`the writer thread exited with code ${code} while starting`));
        const state = this.lifecycle.state;
        if (state === 'stopping' || state === 'starting') this.lifecycle.to('stopped');
        else this.restartLater(code);
      });
    });
  }

  private restartLater(code: number): void {
    this.lifecycle.to('restarting');
    const delay = this.options.restartDelayMs ?? 1000;
    this.options.logger.error({ code, restartInMs: delay }, 'the writer thread exited; starting a new one');
    setTimeout(() => {
      if (this.lifecycle.state !== 'restarting') return;
      // A thread that dies while starting is started again (see the exit handler).
      this.launch().catch((err) => {
        if (this.lifecycle.state === 'restarting') this.options.logger.error({ err }, 'the writer thread could not start');
      });
    }, delay).unref();
  }
}
