import type { TransferListItem } from 'node:worker_threads';

/** What one side of a crossing sends: requests (each a body and its answer) and one-way notes. */
export type MessageMap = { requests: { [type: string]: { body: unknown; answer: unknown } }; notes: { [type: string]: unknown } };

/** Sends nothing (a side that only hears, or only answers). */
export type Silent = { requests: Record<never, never>; notes: Record<never, never> };

/** Why a request was not answered; `isUnavailable`: the other side could not take it (retry). */
export interface Refusal {
  message: string;
  isUnavailable: boolean;
}

/** A `MessagePort`, `parentPort`, or the `Worker` seen from its parent. */
export interface Port {
  postMessage(value: unknown, transferList?: readonly TransferListItem[]): void;
  on(event: 'message' | 'close', listener: (value: unknown) => void): unknown;
}

/** How a side takes what it hears: each request answered or refused, once. */
export type Handlers<In extends MessageMap> = {
  requests: { [K in keyof In['requests']]: (body: In['requests'][K]['body'], answer: (a: In['requests'][K]['answer']) => void, refuse: (r: Refusal) => void) => void };
  notes: { [K in keyof In['notes']]: (body: In['notes'][K]) => void };
};

type Request = { id: number; type: string; body: unknown };
type Answer = { id: number; answer?: unknown; refusal?: Refusal };
type Wire = { requests: Request[] } | { answers: Answer[] } | { note: string; body: unknown };

/**
 * One side of a thread crossing, typed by what each side sends: requests answered by id, and
 * notes. The requests made in one turn of the event loop travel in one message (group commit
 * depends on it), as do the answers given in one synchronous run; a note sends the requests made
 * before it first. When the other side goes away (`close`, or its port closes), every request not
 * answered is refused, and every one after.
 */
export class Crossing<Out extends MessageMap, In extends MessageMap> {
  private requests: Request[] = [];
  private answers: Answer[] = [];
  private readonly waiting = new Map<number, { resolve(a: unknown): void; reject(err: Error): void }>();
  private nextId = 1;
  private closed: Refusal | null = null;

  constructor(
    private readonly port: Port,
    private readonly handlers: Handlers<In>,
    private readonly toError: (r: Refusal) => Error = (r) => new Error(r.message),
  ) {
    port.on('message', (msg) => this.receive(msg as Wire));
    port.on('close', () => this.close('the other side of the thread crossing closed'));
  }

  request<K extends keyof Out['requests'] & string>(type: K, body: Out['requests'][K]['body']): Promise<Out['requests'][K]['answer']> {
    if (this.closed) return Promise.reject(this.toError(this.closed));
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.waiting.set(id, { resolve: (a) => resolve(a as Out['requests'][K]['answer']), reject });
      if (this.requests.push({ id, type, body }) === 1) setImmediate(() => this.flush());
    });
  }

  notify<K extends keyof Out['notes'] & string>(type: K, body: Out['notes'][K], transferList?: readonly TransferListItem[]): void {
    this.flush();
    this.port.postMessage({ note: type, body } satisfies Wire, transferList);
  }

  /** The other side is gone: refuses every request not answered. */
  close(message: string): void {
    this.closed ??= { message, isUnavailable: true };
    this.requests = [];
    for (const w of this.waiting.values()) w.reject(this.toError(this.closed));
    this.waiting.clear();
  }

  private flush(): void {
    if (this.requests.length === 0) return;
    this.port.postMessage({ requests: this.requests } satisfies Wire);
    this.requests = [];
  }

  private receive(msg: Wire): void {
    if ('note' in msg) return (this.handlers.notes as Record<string, (body: unknown) => void>)[msg.note](msg.body);
    if ('requests' in msg) {
      const handlers = this.handlers.requests as Record<string, (body: unknown, answer: (a: unknown) => void, refuse: (r: Refusal) => void) => void>;
      for (const { id, type, body } of msg.requests) handlers[type](body, (answer) => this.answer({ id, answer }), (refusal) => this.answer({ id, refusal }));
      return;
    }
    for (const { id, answer, refusal } of msg.answers) {
      const waiter = this.waiting.get(id);
      this.waiting.delete(id);
      if (refusal) waiter?.reject(this.toError(refusal));
      else waiter?.resolve(answer);
    }
  }

  private answer(answer: Answer): void {
    if (this.answers.push(answer) > 1) return;
    queueMicrotask(() => {
      this.port.postMessage({ answers: this.answers } satisfies Wire);
      this.answers = [];
    });
  }
}
