import { MemoryThrottlerStorage } from '@secure-api/nestjs';
import type { ProviderMiddleware } from 'oidc-provider';

/** Options of {@link tokenRateLimit}. */
export interface TokenRateLimitMiddlewareOptions {
  /** Path of the token endpoint, e.g. `'/token'`. */
  path: string;
  /** Requests allowed per client IP within `windowMs`. */
  limit: number;
  /** The sliding window, milliseconds. */
  windowMs: number;
  /**
   * Where hits are counted.
   * @default a new `MemoryThrottlerStorage` (clock: `Date.now()`)
   */
  storage?: MemoryThrottlerStorage;
}

const THROTTLER_NAME = 'dev-issuer-token';

/**
 * Whether oidc-provider's router would send `requestPath` to `routePath`: it compares
 * case-insensitively and allows one trailing slash (lib/helpers/router.js), so `/TOKEN/` is the
 * token endpoint too and must not escape the limit. `toUpperCase()` folds at least as much as
 * the router does, so the limit can only cover more paths, never fewer.
 */
function sameRoute(requestPath: string, routePath: string): boolean {
  const trimmed =
    requestPath.length > 1 && requestPath.endsWith('/') ? requestPath.slice(0, -1) : requestPath;
  return trimmed.toUpperCase() === routePath.toUpperCase();
}

/**
 * Koa middleware for `provider.use()` that refuses the token request above `limit` per client
 * IP with `429`, `Retry-After` and an OAuth-style JSON error, before oidc-provider parses the
 * body or authenticates the client (so a password-guessing flood costs no crypto). The IP is
 * the TCP peer: the dev issuer trusts no `X-Forwarded-For`.
 *
 * Counted per IP with `MemoryThrottlerStorage`'s sliding log, the storage the service's own
 * rate limits use; a refused request is not counted.
 */
export function tokenRateLimit(options: TokenRateLimitMiddlewareOptions): ProviderMiddleware {
  const { path, limit, windowMs, storage = new MemoryThrottlerStorage() } = options;
  return async (ctx, next) => {
    if (!sameRoute(ctx.path, path)) {
      await next();
      return;
    }
    const ip = ctx.req.socket.remoteAddress ?? 'unknown';
    const record = storage.hit(ip, windowMs, limit, 0, THROTTLER_NAME);
    if (!record.isBlocked) {
      await next();
      return;
    }
    const retryAfter = Math.max(1, record.timeToBlockExpire);
    ctx.status = 429;
    ctx.set('Retry-After', String(retryAfter));
    ctx.set('Cache-Control', 'no-store');
    ctx.body = {
      error: 'too_many_requests',
      error_description: `too many token requests from this address; retry after ${retryAfter} s`,
    };
  };
}
