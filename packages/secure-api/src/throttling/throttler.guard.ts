import { type IncomingMessage } from 'node:http';
import { type CanActivate, type ExecutionContext, Injectable, type Type } from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import { type Principal } from '../auth/principal.js';
import { RouteRequirements } from '../auth/route-requirement.js';
import { SecureApiErrorCode } from '../errors/secure-api-error-code.js';
import { SecureApiHttpError } from '../errors/secure-api-http.error.js';
import { ConnectionMemo, connectionOf } from '../logging/request-context.js';
import { RequestLogContext } from '../logging/request-log-context.js';
import { type ApiKeyResolver, type ApiKeyResult } from './api-key.js';
import { AuthFailureLimiter } from './auth-failure.limiter.js';
import {
  type ClientRequest,
  type RateLimitDecision,
  RateLimiter,
  type TierCheck,
} from './rate-limiter.service.js';
import { formatRateLimitPolicy } from './rate-limit-headers.js';
import { type ResolvedTier, type TierKey } from './throttle-options.js';

/**
 * The metadata keys `@Throttle()` and `@SkipThrottle()` of `@nestjs/throttler` write, followed
 * by the tier name. Not exported by the package's index; `throttle-metadata.spec.ts` pins them
 * against the decorators themselves.
 */
export const THROTTLER_METADATA = Object.freeze({
  limit: 'THROTTLER:LIMIT',
  ttl: 'THROTTLER:TTL',
  blockDuration: 'THROTTLER:BLOCK_DURATION',
  skip: 'THROTTLER:SKIP',
});

/** A tier as it applies to one route. */
interface RouteTier {
  readonly tier: ResolvedTier;
  readonly limit: number;
  readonly ttl: number;
  readonly blockDuration: number;
  /** Set when the route overrides the tier: it then counts in a bucket of its own. */
  readonly route: string | undefined;
}

interface RoutePlan {
  readonly isPublic: boolean;
  readonly byKey: Readonly<Record<TierKey, readonly RouteTier[]>>;
  /**
   * `RateLimit-Policy` values, formatted once per route: of the tiers counted before
   * authentication, and of those plus the principal tiers; `undefined` with `headers: false`.
   */
  readonly policy: { readonly edge: string | undefined; readonly all: string | undefined };
}

type ThrottledRequest = ClientRequest & { user?: Principal };

/**
 * The tiers of each route, from the module options and the route's `@Throttle()` /
 * `@SkipThrottle()` (handler over class, as in `@nestjs/throttler`), computed once per route.
 */
@Injectable()
export class RoutePlans {
  private readonly plans = new WeakMap<object, RoutePlan>();
  private readonly requirements: RouteRequirements;

  constructor(
    private readonly reflector: Reflector,
    private readonly limiter: RateLimiter,
  ) {
    this.requirements = new RouteRequirements(reflector);
  }

  of(context: ExecutionContext): RoutePlan {
    const handler = context.getHandler();
    let plan = this.plans.get(handler);
    if (plan === undefined) {
      plan = this.build(context.getClass(), handler, context);
      this.plans.set(handler, plan);
    }
    return plan;
  }

  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- Nest's handler type
  private build(type: Type<unknown>, handler: Function, context: ExecutionContext): RoutePlan {
    const options = this.limiter.options;
    const byKey: Record<TierKey, RouteTier[]> = { global: [], ip: [], principal: [] };
    for (const tier of options === false ? [] : options.tiers) {
      const read = <T>(key: string): T | undefined =>
        this.reflector.getAllAndOverride<T | undefined, string>(`${key}${tier.name}`, [
          handler,
          type,
        ]);
      if (read<boolean>(THROTTLER_METADATA.skip) === true) continue;
      const limit = read<number>(THROTTLER_METADATA.limit);
      const ttl = read<number>(THROTTLER_METADATA.ttl);
      const blockDuration = read<number>(THROTTLER_METADATA.blockDuration);
      const overridden = limit !== undefined || ttl !== undefined;
      byKey[tier.by].push({
        tier,
        limit: limit ?? tier.limit,
        ttl: ttl ?? tier.ttl,
        blockDuration: blockDuration ?? (overridden ? (ttl ?? tier.ttl) : tier.blockDuration),
        route: overridden ? `${type.name}.${(handler as { name?: string }).name ?? ''}` : undefined,
      });
    }
    const edge = [...byKey.global, ...byKey.ip];
    const format = (tiers: readonly RouteTier[]): string | undefined =>
      options === false || !options.headers || tiers.length === 0
        ? undefined
        : formatRateLimitPolicy(
            tiers.map(({ tier, limit, ttl }) => ({
              name: tier.name,
              limit,
              windowSeconds: Math.ceil(ttl / 1000),
            })),
          );
    return {
      isPublic: this.requirements.of(context).kind === 'public',
      byKey,
      policy: { edge: format(edge), all: format([...edge, ...byKey.principal]) },
    };
  }
}

function checksFor(tiers: readonly RouteTier[], key: string): TierCheck[] {
  return tiers.map(({ tier, limit, ttl, blockDuration, route }) => ({
    throttlerName: tier.name,
    key: route === undefined ? key : `${route}:${key}`,
    limit,
    ttl,
    blockDuration,
  }));
}

/** Shared by the two guards: count, then refuse with 429 or pass with the headers set. */
abstract class TierGuard implements CanActivate {
  constructor(
    protected readonly limiter: RateLimiter,
    protected readonly plans: RoutePlans,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  abstract canActivate(context: ExecutionContext): boolean | Promise<boolean>;

  protected enforce(
    context: ExecutionContext,
    request: ClientRequest,
    checks: readonly TierCheck[],
    policy: string | undefined,
  ): boolean | Promise<boolean> {
    if (checks.length === 0) return true;
    const decision = this.limiter.check(request, checks, policy);
    const response: unknown = context.switchToHttp().getResponse();
    return decision instanceof Promise
      ? decision.then((settled) => this.apply(response, settled))
      : this.apply(response, decision);
  }

  private apply(response: unknown, decision: RateLimitDecision): boolean {
    if (decision.refused !== undefined)
      throw RateLimiter.refusal(decision.refused, decision.headers);
    const adapter = this.adapterHost.httpAdapter;
    for (const [name, value] of Object.entries(decision.headers)) {
      adapter.setHeader(response, name, value);
    }
    return true;
  }
}

function invalidApiKey(reason: string): SecureApiHttpError {
  return new SecureApiHttpError(SecureApiErrorCode.API_KEY_INVALID, {
    status: 401,
    title: 'Unauthorized',
    detail: 'The API key is not valid.',
    reason,
  });
}

/**
 * First guard of the chain: the `global` and `ip` tiers, before any token is looked at, so a
 * flood of bad tokens is refused without a signature check; and an address refused for
 * repeated authentication failures is refused here on protected routes. On `@Public()` routes
 * the principal is the caller's `X-Api-Key`, known already: its tiers are decided here too, in
 * the same storage call. An invalid key is a 401 once the request has been counted against its
 * address, so a flood of made-up keys is limited like any other.
 */
@Injectable()
export class EdgeThrottlerGuard extends TierGuard {
  constructor(
    limiter: RateLimiter,
    plans: RoutePlans,
    adapterHost: HttpAdapterHost,
    private readonly failures: AuthFailureLimiter,
    private readonly logContext: RequestLogContext,
  ) {
    super(limiter, plans, adapterHost);
  }

  /**
   * Per connection, the last `X-Api-Key` value and what it resolved to: a keep-alive client
   * sending the same key costs a string comparison instead of a SHA-256 per request. Only the
   * connection that sent a value is ever answered from it.
   */
  private readonly lastApiKey = new ConnectionMemo<ApiKeyResult>();

  private apiKeyOf(request: ThrottledRequest, resolve: ApiKeyResolver): ApiKeyResult {
    const value = request.headers['x-api-key'];
    if (typeof value !== 'string') return resolve(value);
    return this.lastApiKey.get(connectionOf(request), value, resolve);
  }

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const options = this.limiter.options;
    if (options === false || context.getType() !== 'http') return true;
    const request = context.switchToHttp().getRequest<ThrottledRequest>();
    const plan = this.plans.of(context);
    const client = this.limiter.clientBucket(request);
    if (!plan.isPublic) this.failures.assertNotBlocked(client);
    const checks = [
      ...checksFor(plan.byKey.global, 'global'),
      ...checksFor(plan.byKey.ip, `ip:${client}`),
    ];
    const apiKey =
      plan.isPublic && plan.byKey.principal.length > 0
        ? this.apiKeyOf(request, options.apiKeys)
        : ({ kind: 'none' } as const);
    if (apiKey.kind === 'known') {
      checks.push(...checksFor(plan.byKey.principal, `k:${apiKey.id}`));
      this.logContext.identify(request as unknown as IncomingMessage, {
        api_key_id: apiKey.id,
        authMethod: 'api-key',
      });
    }
    const counted = this.enforce(
      context,
      request,
      checks,
      apiKey.kind === 'known' ? plan.policy.all : plan.policy.edge,
    );
    if (apiKey.kind !== 'invalid') return counted;
    if (counted instanceof Promise) {
      return counted.then(() => {
        throw invalidApiKey(apiKey.reason);
      });
    }
    throw invalidApiKey(apiKey.reason);
  }
}

/**
 * Last guard of the chain, after authorization: the `principal` tiers of protected routes,
 * keyed by the token's issuer and subject (or client id). Public routes are done by
 * {@link EdgeThrottlerGuard}.
 */
@Injectable()
export class PrincipalThrottlerGuard extends TierGuard {
  // Declared so that Nest sees the parameter types (an inherited constructor has none).
  constructor(limiter: RateLimiter, plans: RoutePlans, adapterHost: HttpAdapterHost) {
    super(limiter, plans, adapterHost);
  }

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (this.limiter.options === false || context.getType() !== 'http') return true;
    const plan = this.plans.of(context);
    if (plan.isPublic || plan.byKey.principal.length === 0) return true;
    const request = context.switchToHttp().getRequest<ThrottledRequest>();
    const principal = request.user;
    if (principal === undefined) return true;
    return this.enforce(
      context,
      request,
      checksFor(plan.byKey.principal, this.keyOf(request, principal)),
      plan.policy.all,
    );
  }

  /**
   * The principal tiers' key of each principal object: the verified-token cache hands the same
   * object to every request of a token, so its digest is computed once, not per request.
   */
  private readonly principalKeys = new WeakMap<Principal, string>();

  private keyOf(request: ThrottledRequest, principal: Principal): string {
    const subject =
      principal.subject !== undefined
        ? `sub:${principal.subject}`
        : principal.clientId !== undefined
          ? `client:${principal.clientId}`
          : undefined;
    // A principal without subject or client id is keyed by address: that is per request.
    if (subject === undefined) return `ip:${this.limiter.clientBucket(request)}`;
    let key = this.principalKeys.get(principal);
    if (key === undefined) {
      key = `p:${RateLimiter.principalKey(principal.issuer, subject)}`;
      this.principalKeys.set(principal, key);
    }
    return key;
  }
}
