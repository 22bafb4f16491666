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
 */
export function authenticator(directory: DirectoryCache, limiter: RateLimiter) {
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
      throw new ApiError('7020', `More than ${decision.limit} requests per second`, [], 429, decision.retryAfterSeconds);
    }
  };
}
