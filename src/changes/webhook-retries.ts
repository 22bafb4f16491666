import type { AttemptOutcome, DeliveryResult } from '../model/webhook.js';

/**
 * What becomes of a delivery after an attempt (docs/changes.md, "Retries"): a 2xx delivers it; a
 * 410 gives it up and disables the endpoint; anything else is retried after the schedule's next
 * delay (with jitter), or after the receiver's `Retry-After` when that is longer, until the
 * schedule is spent, when it is given up (a resend can deliver it again).
 */

/** The longest `Retry-After` honoured, ms. */
const MAX_RETRY_AFTER_MS = 24 * 3600_000;
/** Delays vary by up to this share either way, so that retries of many deliveries spread out. */
const JITTER = 0.2;

export interface AttemptReport {
  outcome: AttemptOutcome;
  status: number | null;
  retryAfterMs: number | null;
}

/** Whether the receiver asked to be disabled (410 Gone). */
export const isGone = (report: Pick<AttemptReport, 'status'>): boolean => report.status === 410;

/** The next step of a delivery whose `attempt`-th attempt (1 for the first) ended as `report`. */
export function nextStep(attempt: number, report: AttemptReport, schedule: readonly number[], now: number, random: () => number = Math.random): DeliveryResult['next'] {
  if (report.outcome === 'delivered' || isGone(report) || attempt > schedule.length) return { kind: 'done' };
  const planned = schedule[attempt - 1];
  const jittered = planned === 0 ? 0 : Math.round(planned * (1 - JITTER + 2 * JITTER * random()));
  const asked = report.retryAfterMs === null ? 0 : Math.min(report.retryAfterMs, MAX_RETRY_AFTER_MS);
  return { kind: 'retry', retryAt: now + Math.max(jittered, asked) };
}
