import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Admission } from '../write/2-admission.js';
import type { AppliedWriteTransaction } from '../write/4-apply.js';

/**
 * The `route` label of a request no route took: `unmatched` for a path no operation has (404,
 * 405); `unreadable` for one whose URL or HTTP the server cannot read, or plain HTTP on the HTTPS
 * port (400, 408, 431, and 401, 403 or 429 when a Profile API path with a malformed URL is
 * refused before it).
 */
export const UNMATCHED_ROUTE = 'unmatched';
export const UNREADABLE_ROUTE = 'unreadable';

/** The service's Prometheus metrics, in a registry of its own (one per app instance). */
export class Metrics {
  readonly registry = new Registry();

  readonly requests = new Counter({
    name: 'openprofiles_http_requests_total',
    help: 'HTTP requests by route, method, HTTP status and API code',
    labelNames: ['route', 'method', 'status', 'code'] as const,
    registers: [this.registry],
  });

  readonly latency = new Histogram({
    name: 'openprofiles_http_request_duration_seconds',
    help: 'HTTP request latency by route and method',
    labelNames: ['route', 'method'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly writeTransactions = new Counter({
    name: 'openprofiles_write_transactions_total',
    help: 'Applied write transactions by outcome (success: every record succeeded; partial: at least one failed)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly records = new Counter({
    name: 'openprofiles_records_applied_total',
    help: 'Applied records by result code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });

  readonly applyLag = new Histogram({
    name: 'openprofiles_apply_lag_seconds',
    help: 'Time from acceptance to applied, per write transaction (applied by this process)',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });

  readonly changeEvents = new Counter({
    name: 'openprofiles_change_events_written_total',
    help: 'Change events written by the applies of this process (one per profile change; docs/changes.md)',
    registers: [this.registry],
  });

  readonly webhookAttempts = new Counter({
    name: 'openprofiles_webhook_attempts_total',
    help: 'Webhook delivery attempts made by this process, by outcome (delivered, failed, timeout, refused, unreachable)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly webhookLag = new Histogram({
    name: 'openprofiles_webhook_delivery_lag_seconds',
    help: "Time from a change (its event's occurredAt) to the 2xx of its webhook delivery, per delivery made by this process",
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 86_400],
    registers: [this.registry],
  });

  /** One webhook attempt, and for a delivered one the time since its change, s. */
  noteWebhookAttempt(outcome: string, lagS: number | null): void {
    this.webhookAttempts.inc({ outcome });
    if (lagS !== null) this.webhookLag.observe(Math.max(0, lagS));
  }

  /**
   * Counts one answered request, and its latency when known (an answer to a request Node could
   * not parse has no start time).
   */
  noteAnswer(answer: { route: string; method: string; status: number; code: string; seconds?: number }): void {
    const { route, method } = answer;
    this.requests.inc({ route, method, status: answer.status, code: answer.code });
    if (answer.seconds !== undefined) this.latency.observe({ route, method }, answer.seconds);
  }

  constructor(monitor: Admission) {
    collectDefaultMetrics({ register: this.registry, prefix: 'openprofiles_' });
    new Gauge({
      name: 'openprofiles_queue_depth',
      help: 'Write transactions queued or being applied',
      registers: [this.registry],
      collect() {
        this.set(monitor.current.depth);
      },
    });
    new Gauge({
      name: 'openprofiles_queue_depth_records',
      help: 'Records in write transactions queued or being applied',
      registers: [this.registry],
      collect() {
        this.set(monitor.current.depthRecords);
      },
    });
    new Gauge({
      name: 'openprofiles_queue_oldest_age_seconds',
      help: 'Age of the oldest write transaction not yet applied (0 when the queue is empty)',
      registers: [this.registry],
      collect() {
        const oldest = monitor.current.oldestAcceptedAt;
        this.set(oldest === null ? 0 : (Date.now() - oldest) / 1000);
      },
    });
  }

  noteApplied(applied: readonly AppliedWriteTransaction[]): void {
    const now = Date.now();
    const byCode = new Map<string, number>();
    let partial = 0;
    let events = 0;
    for (const { codeCounts, acceptedAt, events: written } of applied) {
      events += written;
      let failed = false;
      for (const [code, count] of Object.entries(codeCounts)) {
        byCode.set(code, (byCode.get(code) ?? 0) + count);
        failed ||= code !== '1000';
      }
      if (failed) partial++;
      this.applyLag.observe((now - acceptedAt) / 1000);
    }
    if (partial) this.writeTransactions.inc({ outcome: 'partial' }, partial);
    if (applied.length > partial) this.writeTransactions.inc({ outcome: 'success' }, applied.length - partial);
    for (const [code, count] of byCode) this.records.inc({ code }, count);
    if (events > 0) this.changeEvents.inc(events);
  }
}
