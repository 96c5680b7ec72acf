import { Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { type ClientRequest, RateLimiter } from './rate-limiter.service.js';

/** Tier name of the auth-failure counter, in headers and storage keys. */
export const AUTH_FAILURES_TIER = 'auth-failures';

/**
 * Counts refused bearer tokens per client address, apart from its requests: past
 * `throttle.authFailures.limit` refusals in `ttl`, the address is refused with 429 on protected
 * routes for `blockDuration`, before its next token is even decoded. The count lives in the
 * rate-limit storage (shared through Redis); each instance remembers the blocks it has seen in
 * a bounded local map, so the check before authentication costs no round trip.
 */
@Injectable()
export class AuthFailureLimiter {
  /** Blocked addresses and when their block ends (epoch ms). */
  private readonly blocked = new LRUCache<string, number>({ max: 10_000 });

  constructor(private readonly limiter: RateLimiter) {}

  /** Counts a refused token for the request's address. Never throws, never delays the 401. */
  record(request: ClientRequest): void {
    const options = this.limiter.options;
    if (options === false || options.authFailures === false) return;
    const { limit, ttl, blockDuration } = options.authFailures;
    const client = this.limiter.clientBucket(request);
    const check = {
      throttlerName: AUTH_FAILURES_TIER,
      key: `ip:${client}`,
      limit,
      ttl,
      blockDuration,
    };
    const remember = (decision: Awaited<ReturnType<RateLimiter['check']>>): void => {
      const record = decision.refused?.record;
      if (record !== undefined) {
        this.blocked.set(client, Date.now() + Math.max(1, record.timeToBlockExpire) * 1000);
      }
    };
    try {
      const decision = this.limiter.check({ headers: {} }, [check], undefined);
      if (decision instanceof Promise) decision.then(remember, () => undefined);
      else remember(decision);
    } catch {
      // A fail-closed store refuses the next request anyway; a 401 stays a 401.
    }
  }

  /** Throws the 429 when the address is blocked for repeated authentication failures. */
  assertNotBlocked(client: string): void {
    const until = this.blocked.get(client);
    if (until === undefined) return;
    const now = Date.now();
    if (until <= now) {
      this.blocked.delete(client);
      return;
    }
    throw RateLimiter.tooManyRequests(AUTH_FAILURES_TIER, Math.ceil((until - now) / 1000));
  }
}
