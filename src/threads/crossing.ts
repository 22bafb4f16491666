import type { TransferListItem } from 'node:worker_threads';

/**
 * What one side of a crossing sends: requests, each with its body and its answer, and one-way
 * notes. Both sides of a thread crossing name the same two maps, in opposite order.
 */
export type MessageMap = {
  requests: { [type: string]: { body: unknown; answer: unknown } };
  notes: { [type: string]: unknown };
};

/** Nothing to send (a side that only hears, or only answers). */
export type Silent = { requests: Record<never, never>; notes: Record<never, never> };

/** Why a request was not answered; `isUnavailable`: the other side could not take it (retry). */
export interface Refusal {
  message: string;
  isUnavailable: boolean;
}

/** A `MessagePort`, `parentPort` or the `Worker` seen from its parent. */
export interface Port {
  postMessage(value: unknown, transferList?: readonly TransferListItem[]): void;
  on(event: 'message' | 'close', listener: (value: unknown) => void): unknown;
}

/** How a side answers what it hears: each request by `answer` or `refuse`, once. */
export type Handlers<In extends MessageMap> = {
  requests: {
    [K in keyof In['requests']]: (body: In['requests'][K]['body'], answer: (answer: In['requests'][K]['answer']) => void, refuse: (refusal: Refusal) => void) => void;
  };
  notes: { [K in keyof In['notes']]: (body: In['notes'][K]) => void };
};

type Wire =
  | { kind: 'requests'; requests: { id: number; type: string; body: unknown }[] }
  | { kind: 'answers'; answers: { id: number; answer?: unknown; refusal?: Refusal }[] }
  | { kind: 'note'; type: string; body: unknown };

interface Waiter {
  resolve(answer: unknown): void;
  reject(err: Error): void;
}

/**
 * One side of a thread crossing: requests answered by id, and notes. The requests made in one turn
 * of the event loop travel in one message (the group commit depends on it), and so do the answers
 * given in one synchronous run (a commit's answers go before the next commit starts). When the
 * other side goes away (`close`, or the port closes), every request not answered is refused.
 */
export class Crossing<Out extends MessageMap, In extends MessageMap> {
  private outgoing: { id: number; type: string; body: unknown }[] = [];
  private answers: { id: number; answer?: unknown; refusal?: Refusal }[] = [];
  private readonly waiting = new Map<number, Waiter>();
  private nextId = 1;
  private closed: Refusal | null = null;

  constructor(
    private readonly port: Port,
    private readonly handlers: Handlers<In>,
    private readonly toError: (refusal: Refusal) => Error = (r) => new Error(r.message),
  ) {
    port.on('message', (msg) => this.receive(msg as Wire));
    port.on('close', () => this.close('the other side of the thread crossing closed'));
  }

  request<K extends keyof Out['requests'] & string>(type: K, body: Out['requests'][K]['body']): Promise<Out['requests'][K]['answer']> {
    if (this.closed) return Promise.reject(this.toError(this.closed));
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.waiting.set(id, { resolve: (a) => resolve(a as Out['requests'][K]['answer']), reject });
      if (this.outgoing.push({ id, type, body }) === 1) setImmediate(() => this.flush());
    });
  }

  /** Sends the requests made so far now, not at the end of this turn. */
  flush(): void {
    if (this.outgoing.length === 0) return;
    const requests = this.outgoing;
    this.outgoing = [];
    this.port.postMessage({ kind: 'requests', requests } satisfies Wire);
  }

  notify<K extends keyof Out['notes'] & string>(type: K, body: Out['notes'][K], transferList?: readonly TransferListItem[]): void {
    this.port.postMessage({ kind: 'note', type, body } satisfies Wire, transferList);
  }

  /** The other side is gone: refuses every request not answered, and every one to come. */
  close(message: string): void {
    this.closed ??= { message, isUnavailable: true };
    this.outgoing = [];
    for (const w of this.waiting.values()) w.reject(this.toError(this.closed));
    this.waiting.clear();
  }

  private receive(msg: Wire): void {
    if (msg.kind === 'note') {
      (this.handlers.notes as Record<string, (body: unknown) => void>)[msg.type](msg.body);
    } else if (msg.kind === 'requests') {
      const handlers = this.handlers.requests as Record<string, (body: unknown, answer: (a: unknown) => void, refuse: (r: Refusal) => void) => void>;
      for (const { id, type, body } of msg.requests) {
        handlers[type](
          body,
          (answer) => this.answer({ id, answer }),
          (refusal) => this.answer({ id, refusal }),
        );
      }
    } else {
      for (const { id, answer, refusal } of msg.answers) {
        const waiter = this.waiting.get(id);
        this.waiting.delete(id);
        if (refusal) waiter?.reject(this.toError(refusal));
        else waiter?.resolve(answer);
      }
    }
  }

  private answer(answer: { id: number; answer?: unknown; refusal?: Refusal }): void {
    if (this.answers.push(answer) > 1) return;
    queueMicrotask(() => {
      const answers = this.answers;
      this.answers = [];
      this.port.postMessage({ kind: 'answers', answers } satisfies Wire);
    });
  }
}
