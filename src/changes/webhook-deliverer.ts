import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { StoredChangeEvent } from '../model/change-event.js';
import type { AttemptOutcome, DeliveryResult, EndpointVerdict, LeasedEndpoint, PendingDelivery } from '../model/webhook.js';
import type { ChangeFeed, WebhookDeliveries } from '../storage/ports.js';
import { Wakeup } from '../wakeup.js';
import { eventJson } from './feed.js';
import { isGone, nextStep } from './webhook-retries.js';
import { type SendResult, WebhookSender } from './webhook-sender.js';
import { resolveTarget, UnsafeTargetError } from './webhook-targets.js';

/**
 * The deliverer (docs/changes.md, "Webhooks"): runs in `serve` and in `openprofiles worker`. It
 * holds the leases of the endpoints no other deliverer holds, and for each one:
 *   1. takes the events after the endpoint's feed position into its pending deliveries, moving the
 *      position in the same database transaction (nothing is dropped or taken twice);
 *   2. sends the deliveries first in their customer's line, at most `concurrency` at a time, one
 *      per customer: a customer's next event waits while an earlier one is sent or retried, other
 *      customers' go past it;
 *   3. records the attempts in one database transaction per round (a delivered one leaves the
 *      line; a failed one is due again later), and only then lets that customer's next one go.
 * A deliverer that loses a lease (it stalled past it, and another took over) stores nothing more
 * for that endpoint; what it sent meanwhile may be sent again by the new holder (at least once).
 */

export interface DelivererOptions {
  /** How long a lease holds unless renewed, ms; renewed every third of it. */
  leaseMs: number;
  /** Attempts in flight per endpoint. */
  concurrency: number;
  /** Longest wait for a receiver's answer, ms. */
  timeoutMs: number;
  /** Delays before each retry, ms; its length is the number of retries. */
  retrySchedule: readonly number[];
  /** An endpoint whose attempts all failed for this long is disabled, ms. */
  disableAfterMs: number;
  /** Private, loopback and link-local targets, and http, allowed (PROFILES_WEBHOOK_ALLOW_PRIVATE). */
  allowPrivate: boolean;
  /** Extra PEM CA certificates trusted for https targets; null: the system's only. */
  ca: string | null;
  logger: Logger;
  /** Hears every attempt: its outcome, and for a delivered one the time from the change to now, s. */
  onAttempt?: (outcome: AttemptOutcome, lagS: number | null) => void;
}

/** How often an idle endpoint looks for new events and due retries, ms. */
const IDLE_POLL_MS = 100;
/** Most events taken from the feed at once. */
const TAKE_BATCH = 500;
/** An endpoint holds at most this many pending deliveries; it takes more once they are a batch fewer. */
const MAX_PENDING = 10_000;
/** On shutdown, the longest wait for attempts in flight before their deliveries are left pending. */
const STOP_WAIT_MS = 2000;

/** `occurredAt` of a stored body: its first field after `type` (`ChangeEventBody`), read without parsing the whole body. */
function occurredAtOf(e: StoredChangeEvent): number {
  const match = /"occurredAt":"([^"]+)"/.exec(e.bodyJson);
  return match ? Date.parse(match[1]) : Date.now();
}

type Store = { changes: Pick<ChangeFeed, 'read'>; webhookDeliveries: WebhookDeliveries };

export class WebhookDeliverer {
  /** This deliverer's name in the leases it holds. */
  readonly owner = `d-${process.pid}-${randomBytes(4).toString('hex')}`;
  private readonly pumps = new Map<string, EndpointPump>();
  private readonly sender: WebhookSender;
  private timer: NodeJS.Timeout | null = null;
  private leasing: Promise<void> | null = null;
  private isStopping = false;

  constructor(
    private readonly store: Store,
    private readonly options: DelivererOptions,
  ) {
    this.sender = new WebhookSender(options.timeoutMs, options.ca, options.concurrency);
  }

  start(): void {
    if (this.timer) return;
    const tick = () => {
      this.leasing ??= this.renewLeases().finally(() => (this.leasing = null));
    };
    this.timer = setInterval(tick, Math.max(50, Math.floor(this.options.leaseMs / 3)));
    this.timer.unref();
    tick();
  }

  /** Events were applied: look for them now rather than at the next poll. */
  wake(): void {
    for (const pump of this.pumps.values()) pump.wake();
  }

  /** The endpoints this deliverer works on now. */
  get endpointIds(): string[] {
    return [...this.pumps.keys()];
  }

  /** Stops every endpoint's work (attempts in flight get a moment to finish and be recorded), and gives up the leases. */
  async stop(): Promise<void> {
    this.isStopping = true;
    if (this.timer) clearInterval(this.timer);
    await this.leasing;
    await Promise.all([...this.pumps.values()].map((p) => p.stop()));
    this.pumps.clear();
    await this.store.webhookDeliveries.release(this.owner).catch((err) => this.options.logger.warn({ err }, 'releasing webhook leases failed; they run out by themselves'));
    this.sender.close();
  }

  private async renewLeases(): Promise<void> {
    let held: LeasedEndpoint[];
    try {
      held = await this.store.webhookDeliveries.lease(this.owner, this.options.leaseMs);
    } catch (err) {
      this.options.logger.warn({ err }, 'renewing webhook leases failed; retrying');
      return;
    }
    if (this.isStopping) return;
    const ids = new Set(held.map((e) => e.id));
    for (const [id, pump] of this.pumps) {
      if (!ids.has(id) || pump.isStopped) {
        this.pumps.delete(id);
        void pump.stop();
      }
    }
    for (const endpoint of held) {
      if (this.pumps.has(endpoint.id)) continue;
      const pump = new EndpointPump(endpoint, this.owner, this.store, this.sender, this.options);
      this.pumps.set(endpoint.id, pump);
      pump.start();
    }
  }
}

/** One endpoint's work, under its lease: take, send, record, in turn (one store call at a time). */
class EndpointPump {
  /** The customers with an attempt in flight or not yet recorded, and that attempt's delivery. */
  private readonly inFlight = new Map<string, Promise<void>>();
  /** The customer of each delivery in flight, by its seq. */
  private readonly customerOf = new Map<number, string>();
  private finished: DeliveryResult[] = [];
  private position: string;
  private pending: number;
  private failingSince: number | null;
  private isGone = false;
  isStopped = false;
  private running: Promise<void> | null = null;
  private readonly wakeup = new Wakeup();
  private isWakeQueued = false;

  constructor(
    private readonly endpoint: LeasedEndpoint,
    private readonly owner: string,
    private readonly store: Store,
    private readonly sender: WebhookSender,
    private readonly options: DelivererOptions,
  ) {
    this.position = endpoint.position;
    this.pending = endpoint.pending;
    this.failingSince = endpoint.failingSince;
  }

  start(): void {
    this.running ??= this.loop();
  }

  wake(): void {
    this.wakeup.wake();
  }

  async stop(): Promise<void> {
    this.isStopped = true;
    this.wake();
    await this.running;
  }

  private get log() {
    return { endpointId: this.endpoint.id, tenantId: this.endpoint.tenantId };
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.isStopped) {
      try {
        this.wakeup.clear();
        const hasWorked = await this.step();
        failures = 0;
        if (!hasWorked && !this.isStopped) await this.wakeup.idle(IDLE_POLL_MS);
      } catch (err) {
        failures++;
        const delay = Math.min(100 * 2 ** failures, 5000);
        this.options.logger.warn({ err, ...this.log, retryInMs: delay }, 'webhook delivery step failed; retrying');
        await sleep(delay);
      }
    }
    // Attempts in flight get a moment to finish, so that what they did is recorded, not sent again.
    await Promise.race([Promise.all(this.inFlight.values()), sleep(STOP_WAIT_MS)]);
    if (this.finished.length > 0) await this.record().catch((err) => this.options.logger.warn({ err, ...this.log }, 'recording the last webhook attempts failed; they will be sent again'));
  }

  /** One round; false when there was nothing to do. */
  private async step(): Promise<boolean> {
    let hasWorked = false;
    if (this.finished.length > 0) {
      await this.record();
      hasWorked = true;
    }
    if (this.isStopped) return hasWorked;
    // Topped up a batch at a time: behind a backlog, a take per delivery would cost a feed read and a database transaction each.
    if (this.pending <= MAX_PENDING - TAKE_BATCH && (await this.take())) hasWorked = true;
    if (this.isStopped) return hasWorked;
    const free = this.options.concurrency - this.inFlight.size;
    // Asked even when this deliverer counts nothing pending: a resend adds one behind its back.
    if (free > 0) {
      const due = await this.store.webhookDeliveries.due(this.endpoint.tenantId, this.endpoint.id, Date.now(), free + this.inFlight.size);
      for (const delivery of due) {
        if (this.inFlight.size >= this.options.concurrency) break;
        if (this.inFlight.has(delivery.event.customerId)) continue;
        this.inFlight.set(delivery.event.customerId, this.attempt(delivery));
        this.customerOf.set(delivery.seq, delivery.event.customerId);
        hasWorked = true;
      }
    }
    return hasWorked;
  }


  /** Moves the events after the position into the pending deliveries; true when there were some. */
  private async take(): Promise<boolean> {
    const { tenantId, id, types } = this.endpoint;
    const limit = Math.min(TAKE_BATCH, MAX_PENDING - this.pending);
    // Every type is read, so the position moves past the events the endpoint does not take too.
    const page = await this.store.changes.read(tenantId, this.position, limit, null);
    let to: string;
    let events = page.events;
    if (page.expired !== null) {
      this.options.logger.warn({ ...this.log, from: this.position, to: page.expired }, 'events for this webhook endpoint were purged past retention before it took them; it goes on from the oldest event kept');
      to = page.expired;
      events = [];
    } else if (events.length === 0) {
      return false;
    } else {
      to = events.at(-1)!.position;
    }
    const wanted = types ? events.filter((e) => types.includes(e.type)) : events;
    const pending = await this.store.webhookDeliveries.take(this.owner, tenantId, id, this.position, to, wanted.map((event) => ({ event, occurredAt: occurredAtOf(event) })));
    if (pending === null) return this.lostLease();
    this.position = to;
    this.pending = pending;
    return true;
  }

  /** Sends one delivery; its result waits in `finished` for the next round's record. */
  private async attempt(delivery: PendingDelivery): Promise<void> {
    const { tenantId, secret } = this.endpoint;
    const attemptedAt = Date.now();
    let result: Omit<SendResult, 'outcome'> & { outcome: AttemptOutcome };
    try {
      const target = await resolveTarget(new URL(this.endpoint.url), this.options.allowPrivate);
      result = await this.sender.send(target, secret, delivery.event.id, eventJson(tenantId, delivery.event));
    } catch (err) {
      // The sender never throws: this is the target's check (or a URL stored before a rule changed).
      const outcome: AttemptOutcome = err instanceof UnsafeTargetError ? 'refused' : 'unreachable';
      result = { outcome, status: null, durationMs: Date.now() - attemptedAt, response: (err as Error).message, retryAfterMs: null };
    }
    const attempt = delivery.attempts + 1;
    const now = Date.now();
    if (isGone(result)) this.isGone = true;
    this.finished.push({
      seq: delivery.seq,
      attempt: { eventId: delivery.event.id, attempt, attemptedAt, outcome: result.outcome, status: result.status, durationMs: result.durationMs, response: result.response },
      next: nextStep(attempt, result, this.options.retrySchedule, now),
    });
    this.options.onAttempt?.(result.outcome, result.outcome === 'delivered' ? (now - delivery.occurredAt) / 1000 : null);
    this.wakeAfterTurn();
  }

  /**
   * An attempt finished: the loop goes on once this turn of the event loop is over, so that the
   * attempts whose answers came in the same turn are recorded in one database transaction (woken
   * at once, it would record them one by one).
   */
  private wakeAfterTurn(): void {
    if (this.isWakeQueued) return;
    this.isWakeQueued = true;
    setImmediate(() => {
      this.isWakeQueued = false;
      this.wake();
    });
  }

  /** Stores the finished attempts; then their customers' next deliveries may go. */
  private async record(): Promise<void> {
    const results = this.finished;
    this.finished = [];
    const now = Date.now();
    const verdict: EndpointVerdict = {};
    if (results.some((r) => r.attempt.outcome === 'delivered')) {
      if (this.failingSince !== null) verdict.failingSince = null;
    } else if (this.failingSince === null) {
      verdict.failingSince = now;
    }
    const failingSince = verdict.failingSince === undefined ? this.failingSince : verdict.failingSince;
    if (this.isGone) verdict.disable = 'the endpoint answered 410 Gone';
    else if (failingSince !== null && now - failingSince >= this.options.disableAfterMs) {
      verdict.disable = `every attempt failed since ${new Date(failingSince).toISOString()}`;
    }
    const pending = await this.store.webhookDeliveries.record(this.owner, this.endpoint.tenantId, this.endpoint.id, results, verdict, now);
    if (pending === null) {
      this.lostLease();
      return;
    }
    this.pending = pending;
    this.failingSince = failingSince;
    for (const { seq } of results) {
      this.inFlight.delete(this.customerOf.get(seq)!);
      this.customerOf.delete(seq);
    }
    if (verdict.disable) {
      this.options.logger.warn({ ...this.log, reason: verdict.disable }, 'webhook endpoint disabled');
      this.isStopped = true;
    }
  }

  private lostLease(): false {
    this.options.logger.warn(this.log, 'this deliverer no longer holds the webhook endpoint (another took it over, or it was removed or disabled); it stops working on it');
    this.isStopped = true;
    return false;
  }
}
