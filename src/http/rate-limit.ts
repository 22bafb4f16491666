/**
 * Per-tenant token buckets (contract §9): `rate` tokens per second, holding at most `rate`.
 * One request takes one token. Kept per process: with N API nodes a tenant gets N times the rate.
 */
export interface RateDecision {
  isAllowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the bucket is full again (RateLimit-Reset). */
  resetSeconds: number;
  /** Seconds until one token is available (Retry-After), when refused. */
  retryAfterSeconds: number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

export class RateLimiter {
  private readonly buckets = new Map<number, Bucket>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  take(tenantId: number, rate: number): RateDecision {
    const now = this.now();
    let bucket = this.buckets.get(tenantId);
    if (!bucket) this.buckets.set(tenantId, (bucket = { tokens: rate, updatedAt: now }));
    bucket.tokens = Math.min(rate, bucket.tokens + ((now - bucket.updatedAt) / 1000) * rate);
    bucket.updatedAt = now;
    const isAllowed = bucket.tokens >= 1;
    if (isAllowed) bucket.tokens -= 1;
    return {
      isAllowed,
      limit: rate,
      remaining: Math.floor(bucket.tokens),
      resetSeconds: Math.ceil((rate - bucket.tokens) / rate),
      retryAfterSeconds: isAllowed ? 0 : Math.max(1, Math.ceil((1 - bucket.tokens) / rate)),
    };
  }
}
