import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { EnqueueResult, NewWriteTransaction } from '../model/write-transaction.js';
import { StorageError, StorageUnavailableError } from '../storage/ports.js';
import { threadEntry } from '../thread-entry.js';
import type { Committer } from './3-commit.js';
import type { AppliedWriteTransaction } from './4-apply.js';

/** Messages from the server's thread to a pipeline thread. */
export type ToThread =
  | { type: 'enqueue'; wts: { id: number; wt: NewWriteTransaction }[] }
  /** The committer's end of a channel to the applier's thread (or the applier's end): each commit wakes the applier through it. */
  | { type: 'wakePort'; port: MessagePort }
  | { type: 'stop' };

/** Messages from a pipeline thread to the server's thread. */
export type FromThread =
  | { type: 'ready'; applierIds: string[] }
  | { type: 'enqueued'; answers: { id: number; result: EnqueueResult }[] }
  | { type: 'refused'; ids: number[]; message: string; isUnavailable: boolean }
  | { type: 'applied'; applied: AppliedWriteTransaction[] }
  /** Webhook attempts the applier's thread's deliverer made (for the server's metrics). */
  | { type: 'webhookAttempts'; attempts: WebhookAttemptNote[] };

/** One webhook attempt: its outcome, and for a delivered one the time since its change, s. */
export interface WebhookAttemptNote {
  outcome: string;
  lagS: number | null;
}

/**
 * What a pipeline thread does: commit the server's writes (group commit), or apply the journal
 * (its applier loops, as `config` has them, the retention sweep, and the webhook deliverer). The server runs one of each
 * (see `main.ts`).
 */
export type ThreadRole = 'committer' | 'applier';

/** What a pipeline thread is started with (it opens its own connection to the same store). */
export interface PipelineThreadData {
  config: Config;
  idempotencyWindowMs: number;
  role: ThreadRole;
  /** The applier's thread runs its applier loops only: no retention sweep, no webhook deliverer (`openprofiles import`). */
  isApplyOnly?: boolean;
}

export interface PipelineThreadOptions extends PipelineThreadData {
  logger: Logger;
  /** The thread's young generation, MB: V8's default unless given (the committer's is `COMMITTER_YOUNG_GENERATION_MB`). */
  youngGenerationMb?: number;
  onApplied(applied: AppliedWriteTransaction[]): void;
  /** Hears the webhook attempts of the applier's thread's deliverer. */
  onWebhookAttempts?(attempts: WebhookAttemptNote[]): void;
  /** Hears each start of the thread, the first and every restart. */
  onReady?(): void;
  /** Wait before starting a pipeline thread again after it died, ms. Default 1000. */
  restartDelayMs?: number;
}

/**
 * Starts the committer's thread and, if `hasApplier`, the applier's, linked: the committer wakes
 * the applier through a channel of their own after each commit, renewed whenever either thread
 * (re)starts, so nothing is relayed through the server's thread.
 */
export async function startPipelineThreads(options: Omit<PipelineThreadOptions, 'role' | 'onReady'>, hasApplier: boolean): Promise<{ committer: PipelineThread; applier: PipelineThread | null }> {
  const link = () => {
    if (!applier?.isAvailable || !committer.isAvailable) return;
    const { port1, port2 } = new MessageChannel();
    committer.wakeThrough(port1);
    applier.wakeThrough(port2);
  };
  const applier = hasApplier ? new PipelineThread({ ...options, role: 'applier', onReady: link }) : null;
  const committer = new PipelineThread({ ...options, role: 'committer', onReady: link });
  await committer.start();
  await applier?.start();
  return { committer, applier };
}

/** The committing thread's young generation, MB (V8's default 48): what it allocates dies once committed (docs/performance.md). */
const COMMITTER_YOUNG_GENERATION_MB = 8;

interface Waiter {
  resolve(result: EnqueueResult): void;
  reject(err: unknown): void;
}

/**
 * The server's writes, in threads of their own, so the server's event loop only parses, validates
 * and reads: the committer's thread commits the writes (group commit), the applier's thread
 * applies the journal, each with its own connections; the committer wakes the applier directly
 * (`wakeThrough`), not through the server's thread. On SQLite the committer writes the
 * journal and the applier the store, two files, so neither waits for the other's write lock, and
 * the server's reads (WAL snapshots) wait for neither.
 *
 * Write transactions submitted in one turn of the event loop travel in one message; each is
 * answered as soon as the commit that holds it is done (see GroupCommitter). If the thread dies,
 * what it had not answered is refused with 7902 (the client retries; nothing unanswered is ever
 * reported accepted) and a new thread starts, which takes back the queue in order.
 */
export class PipelineThread implements Committer {
  private thread: Worker | null = null;
  private pending: Array<{ wt: NewWriteTransaction } & Waiter> = [];
  private readonly inFlight = new Map<number, Waiter>();
  private nextId = 1;
  private isScheduled = false;
  private isStopping = false;
  private restartTimer: NodeJS.Timeout | null = null;
  applierIds: string[] = [];
  private isReady = false;

  constructor(private readonly options: PipelineThreadOptions) {}

  /** Starts the thread; resolves once its store is open and its applier loops run. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      const { config, idempotencyWindowMs, role, isApplyOnly, youngGenerationMb } = this.options;
      const young = role === 'committer' ? COMMITTER_YOUNG_GENERATION_MB : youngGenerationMb;
      const resourceLimits = young === undefined ? {} : { maxYoungGenerationSizeMb: young };
      const workerData: PipelineThreadData = { config, idempotencyWindowMs, role, isApplyOnly };
      const thread = new Worker(threadEntry('pipeline-thread-main.js'), { workerData, resourceLimits });
      this.thread = thread;
      thread.on('message', (msg: FromThread) => {
        if (msg.type !== 'ready') return this.onMessage(msg);
        this.isReady = true;
        this.applierIds = msg.applierIds;
        resolve();
        this.options.onReady?.();
      });
      thread.on('error', (err) => {
        if (!this.isReady) reject(err);
        else this.options.logger.error({ err, role }, 'a pipeline thread failed');
      });
      thread.on('exit', (code) => {
        const wasReady = this.isReady;
        this.thread = null;
        this.isReady = false;
        this.refuseInFlight('the committer stopped before answering; retry');
        if (!wasReady) reject(new StorageUnavailableError(`the ${this.options.role}'s thread exited with code ${code} while starting`));
        else if (!this.isStopping) this.restartLater(code);
      });
    });
  }

  get isAvailable(): boolean {
    return this.isReady && !this.isStopping;
  }

  submit(wt: NewWriteTransaction): Promise<EnqueueResult> {
    if (this.options.role !== 'committer') throw new Error("the applier's thread takes no writes; submit them to the committer's");
    if (!this.thread || this.isStopping) return Promise.reject(new StorageUnavailableError('the committer is restarting; retry'));
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
    thread.postMessage({ type: 'stop' } satisfies ToThread);
    await exited;
  }

  private send(): void {
    this.isScheduled = false;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    if (!this.thread) {
      for (const p of batch) p.reject(new StorageUnavailableError('the committer is restarting; retry'));
      return;
    }
    const wts = batch.map(({ wt, resolve, reject }) => {
      const id = this.nextId++;
      this.inFlight.set(id, { resolve, reject });
      return { id, wt };
    });
    this.thread.postMessage({ type: 'enqueue', wts } satisfies ToThread);
  }

  /** Hands the thread its end of the channel between the committer and the applier (replacing any before). */
  wakeThrough(port: MessagePort): void {
    if (this.thread) this.thread.postMessage({ type: 'wakePort', port } satisfies ToThread, [port]);
    else port.close();
  }

  private onMessage(msg: Exclude<FromThread, { type: 'ready' }>): void {
    if (msg.type === 'applied') {
      this.options.onApplied(msg.applied);
      return;
    }
    if (msg.type === 'webhookAttempts') {
      this.options.onWebhookAttempts?.(msg.attempts);
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
    this.options.logger.error({ code, role: this.options.role, restartInMs: delay }, 'a pipeline thread exited; starting a new one');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      this.start().catch((err) => {
        this.options.logger.error({ err, role: this.options.role }, 'a pipeline thread could not start');
        if (!this.isStopping) this.restartLater(1);
      });
    }, delay);
  }
}
