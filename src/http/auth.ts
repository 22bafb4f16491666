import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { DirectoryCache, TenantContext } from '../domain/directory.js';
import { ApiError } from '../domain/errors.js';
import type { RateLimiter } from './rate-limit.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated tenant; set by `authenticate` on every Profile API route. */
    tenantCtx?: TenantContext;
  }
}

const headerValue = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

/** Profile API routes that answer 7208 instead of 7010 for a refused address (the vendor's deleteProfile). */
const isDeleteProfile = (request: FastifyRequest) =>
  request.method === 'DELETE' && (request.routeOptions.url ?? '').includes('/customerprofile');

/**
 * Contract §3.1 order: key (7002/7001), IP allow list (7010/7208), rate limit (7020). Sets the
 * RateLimit-* headers on every answer that gets that far.
 *
 * A request over the rate limit is held `holdMs` (at most its Retry-After) before it is refused,
 * its body never parsed. A client that ignores Retry-After then makes one request per connection
 * per hold instead of as many as the server can refuse: each refusal costs the server's thread
 * its TLS and HTTP work, and every other tenant's requests wait behind it (docs/reliability.md
 * measures it).
 */
export function authenticator(directory: DirectoryCache, limiter: RateLimiter, holdMs: number) {
  return async function authenticate(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const key = headerValue(request.headers.key) ?? headerValue(request.headers.secretkey);
    if (!key) throw new ApiError('7002', 'The profile key header `key` is missing');
    const ctx = directory.authenticate(key);
    if (!ctx) throw new ApiError('7001', 'The profile key is unknown or revoked');
    request.tenantCtx = ctx;
    if (!ctx.allowList.allows(request.ip)) {
      const code = isDeleteProfile(request) ? '7208' : '7010';
      throw new ApiError(code, `Source address ${request.ip} is not in the tenant's allow list`);
    }
    const decision = limiter.take(ctx.tenant.id, ctx.tenant.settings.rateLimit);
    reply.header('ratelimit-limit', String(decision.limit));
    reply.header('ratelimit-remaining', String(decision.remaining));
    reply.header('ratelimit-reset', String(decision.resetSeconds));
    if (!decision.isAllowed) {
      const hold = Math.min(holdMs, decision.retryAfterSeconds * 1000);
      if (hold > 0) await sleep(hold);
      throw new ApiError('7020', `More than ${decision.limit} requests per second`, [], 429, decision.retryAfterSeconds);
    }
  };
}
