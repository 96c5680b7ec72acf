import { type ThrottlerStorage } from '@nestjs/throttler';
import {
  booleanOption,
  describeValue,
  isRecord,
  knownKeys,
  OptionsError,
  positiveInteger,
} from '../option-checks.js';
import { type ApiKeyConfig, createApiKeyResolver, type ApiKeyResolver } from './api-key.js';
import { compileTrustProxy, type TrustFunction, type TrustProxy } from './client-address.js';
import { formatRateLimitPolicy } from './rate-limit-headers.js';
import { type ThrottlerStoreErrorPolicy } from './redis-throttler.storage.js';

/** What a tier counts requests by. */
export type TierKey = 'ip' | 'principal' | 'global';

/** One rate-limit tier: at most `limit` requests per `ttl` milliseconds per key. */
export interface ThrottleTier {
  /** Name, used by `@Throttle({ <name>: … })`, `@SkipThrottle({ <name>: true })` and headers. */
  name: string;
  /**
   * `'ip'`: the client address (IPv6 by /64), checked before authentication; `'principal'`: the
   * token's issuer and subject (or client id), or on `@Public()` routes the caller's API key,
   * checked after authorization; `'global'`: one bucket for the whole service, checked first.
   */
  by: TierKey;
  /** Requests allowed per window. */
  limit: number;
  /** Window, milliseconds (as in `@nestjs/throttler`). */
  ttl: number;
  /**
   * Once over the limit, how long the key stays refused, milliseconds (as in
   * `@nestjs/throttler`, whose storage forgets a key's hits when its block ends).
   * @default ttl
   */
  blockDuration?: number;
}

/** Redis storage settings, with exactly one of `url` and `cluster`; see `RedisThrottlerStorage`. */
export interface RedisStorageOptions {
  /** One Redis: `redis://host:port/db`, or `rediss://` for TLS. */
  url?: string;
  /**
   * Redis Cluster: URLs of some of its nodes (`redis://host:port`, `rediss://` for TLS); the
   * credentials of the first one are used for all.
   */
  cluster?: readonly string[];
  /** @default 'rl:' */
  keyPrefix?: string;
  /** Longest wait for Redis before `onStoreError` applies, milliseconds. @default 100 */
  commandTimeoutMs?: number;
}

/** Repeated authentication failures from one address, counted apart from its requests. */
export interface AuthFailureOptions {
  /** Refused tokens allowed per window and address. @default 20 */
  limit?: number;
  /** Window, milliseconds. @default 60_000 */
  ttl?: number;
  /** How long the address is then refused before its token is even looked at. @default 300_000 */
  blockDuration?: number;
}

/** The `throttle` option of `SecureApiModule`. */
export interface ThrottleOptions {
  /** The tiers, checked global first, then IP (before authentication), then principal. */
  tiers: readonly ThrottleTier[];
  /**
   * Where hits are counted: `'memory'` (one instance), `{ redis: { url } }` or
   * `{ redis: { cluster: [url, …] } }` (shared by every instance: what makes limits hold across
   * several), or any `@nestjs/throttler` `ThrottlerStorage`.
   * @default 'memory'
   */
  storage?: 'memory' | { redis: RedisStorageOptions } | ThrottlerStorage;
  /**
   * What a request gets when Redis does not answer: `'fallback-memory'` counts locally until
   * Redis is back, `'fail-open'` lets it through (logged once a minute), `'fail-closed'`
   * refuses it with `503`.
   * @default 'fallback-memory'
   */
  onStoreError?: ThrottlerStoreErrorPolicy;
  /**
   * Which `X-Forwarded-For` hop to believe: `false` (the socket address), a number of trusted
   * proxy hops, or the proxies' addresses/CIDRs. The right-most untrusted hop is the client.
   * @default false
   */
  trustProxy?: TrustProxy;
  /**
   * API keys that identify callers of `@Public()` routes for the `principal` tier, by the hex
   * SHA-256 of the key (`hashApiKey()`); never a grant of any scope.
   * @default []
   */
  apiKeys?: readonly ApiKeyConfig[];
  /**
   * Limit on refused tokens per address, or `false`.
   * @default { limit: 20, ttl: 60_000, blockDuration: 300_000 }
   */
  authFailures?: AuthFailureOptions | false;
  /**
   * Send `RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers) on
   * throttled responses. `Retry-After` on a 429 is sent either way.
   * @default true
   */
  headers?: boolean;
}

/** A tier after validation. */
export interface ResolvedTier {
  readonly name: string;
  readonly by: TierKey;
  readonly limit: number;
  readonly ttl: number;
  readonly blockDuration: number;
}

/** {@link RedisStorageOptions} after defaults and validation: one of `url` and `cluster`. */
export interface ResolvedRedisStorage {
  readonly url?: string;
  readonly cluster?: readonly string[];
  readonly keyPrefix: string;
  readonly commandTimeoutMs: number;
}

/** {@link ThrottleOptions} after defaults and validation; frozen. */
export interface ResolvedThrottleOptions {
  readonly tiers: readonly ResolvedTier[];
  readonly storage: 'memory' | { readonly redis: ResolvedRedisStorage } | ThrottlerStorage;
  readonly onStoreError: ThrottlerStoreErrorPolicy;
  readonly trust: TrustFunction;
  readonly apiKeys: ApiKeyResolver;
  readonly authFailures: Readonly<Required<AuthFailureOptions>> | false;
  readonly headers: boolean;
}

const TIER_KEYS: readonly TierKey[] = ['ip', 'principal', 'global'];
const TIER_NAME = /^[A-Za-z0-9._-]{1,32}$/;
const DAY_MS = 86_400_000;
const ERROR_POLICIES: readonly ThrottlerStoreErrorPolicy[] = [
  'fail-open',
  'fail-closed',
  'fallback-memory',
];

function nonNegativeInteger(value: unknown, path: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > DAY_MS) {
    throw new OptionsError(path, `must be an integer from 0 to ${DAY_MS} (milliseconds)`);
  }
  return value;
}

function requiredPositiveInteger(value: unknown, path: string, max: number): number {
  if (value === undefined) throw new OptionsError(path, 'is required');
  return positiveInteger(value, path, 1, max);
}

function resolveTier(value: unknown, index: number, names: Set<string>): ResolvedTier {
  const path = `throttle.tiers[${index}]`;
  if (!isRecord(value)) {
    throw new OptionsError(
      path,
      'must be an object',
      "e.g. { name: 'ip', by: 'ip', limit: 300, ttl: 60_000 }",
    );
  }
  knownKeys(value, path, ['name', 'by', 'limit', 'ttl', 'blockDuration']);
  const { name, by } = value;
  if (typeof name !== 'string' || !TIER_NAME.test(name)) {
    throw new OptionsError(`${path}.name`, 'must be 1 to 32 letters, digits, ".", "_" or "-"');
  }
  if (names.has(name)) throw new OptionsError(`${path}.name`, `repeats the tier name '${name}'`);
  names.add(name);
  if (typeof by !== 'string' || !TIER_KEYS.includes(by as TierKey)) {
    throw new OptionsError(
      `${path}.by`,
      `must be 'ip', 'principal' or 'global' (got ${describeValue(by)})`,
    );
  }
  return Object.freeze({
    name,
    by: by as TierKey,
    limit: requiredPositiveInteger(value.limit, `${path}.limit`, 1_000_000_000),
    ttl: requiredPositiveInteger(value.ttl, `${path}.ttl`, DAY_MS),
    blockDuration: positiveInteger(
      value.blockDuration,
      `${path}.blockDuration`,
      Number(value.ttl),
      DAY_MS,
    ),
  });
}

/**
 * Whether a `storage` value is a `ThrottlerStorage` rather than the module's storage settings:
 * decided by `increment()`, since a storage may well have a `redis` member of its own (its
 * client, as `@nest-lab/throttler-storage-redis`'s does).
 */
export function isThrottlerStorage(value: unknown): value is ThrottlerStorage {
  return isRecord(value) && typeof value.increment === 'function';
}

function resolveStorage(value: unknown): ResolvedThrottleOptions['storage'] {
  if (value === undefined || value === 'memory') return 'memory';
  if (isThrottlerStorage(value)) return value;
  if (isRecord(value) && 'redis' in value) {
    const redis = value.redis;
    if (!isRecord(redis) || (redis.url === undefined) === (redis.cluster === undefined)) {
      throw new OptionsError(
        'throttle.storage.redis',
        'must have exactly one of url (one Redis) and cluster (the URLs of Redis Cluster nodes)',
      );
    }
    knownKeys(redis, 'throttle.storage.redis', ['url', 'cluster', 'keyPrefix', 'commandTimeoutMs']);
    const where =
      redis.url !== undefined
        ? { url: redisUrl(redis.url, 'throttle.storage.redis.url') }
        : { cluster: clusterUrls(redis.cluster) };
    const keyPrefix = redis.keyPrefix ?? 'rl:';
    if (typeof keyPrefix !== 'string' || /[{}]/.test(keyPrefix)) {
      throw new OptionsError(
        'throttle.storage.redis.keyPrefix',
        'must be a string without "{" or "}"',
      );
    }
    return Object.freeze({
      redis: Object.freeze({
        ...where,
        keyPrefix,
        commandTimeoutMs: positiveInteger(
          redis.commandTimeoutMs,
          'throttle.storage.redis.commandTimeoutMs',
          100,
          10_000,
        ),
      }),
    });
  }
  throw new OptionsError(
    'throttle.storage',
    "must be 'memory', { redis: { url } }, { redis: { cluster } } or a ThrottlerStorage",
  );
}

/** A redis:// or rediss:// URL; the message never quotes it (it may hold a password). */
function redisUrl(value: unknown, path: string): string {
  if (typeof value !== 'string') {
    throw new OptionsError(path, 'must be a redis:// or rediss:// URL');
  }
  let protocol: string;
  try {
    protocol = new URL(value).protocol;
  } catch (error) {
    throw new OptionsError(path, 'is not a URL', undefined, error);
  }
  if (protocol !== 'redis:' && protocol !== 'rediss:') {
    throw new OptionsError(path, 'must be a redis:// or rediss:// URL');
  }
  return value;
}

function clusterUrls(value: unknown): readonly string[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new OptionsError(
      'throttle.storage.redis.cluster',
      'must be a non-empty list of the URLs of Redis Cluster nodes',
    );
  }
  return Object.freeze(
    value.map((entry: unknown, index) =>
      redisUrl(entry, `throttle.storage.redis.cluster[${index}]`),
    ),
  );
}

function resolveAuthFailures(value: unknown): ResolvedThrottleOptions['authFailures'] {
  if (value === false) return false;
  const given = value ?? {};
  if (!isRecord(given))
    throw new OptionsError('throttle.authFailures', 'must be an object or false');
  knownKeys(given, 'throttle.authFailures', ['limit', 'ttl', 'blockDuration']);
  return Object.freeze({
    limit: positiveInteger(given.limit, 'throttle.authFailures.limit', 20, 1_000_000),
    ttl: positiveInteger(given.ttl, 'throttle.authFailures.ttl', 60_000, DAY_MS),
    blockDuration: nonNegativeInteger(
      given.blockDuration,
      'throttle.authFailures.blockDuration',
      300_000,
    ),
  });
}

/** Resolves the `throttle` option; `undefined` and `false` mean no rate limiting. */
export function resolveThrottleOptions(value: unknown): ResolvedThrottleOptions | false {
  if (value === undefined || value === false) return false;
  if (!isRecord(value)) {
    throw new OptionsError(
      'throttle',
      'must be an object or false',
      "throttle: { tiers: [{ name: 'ip', by: 'ip', limit: 300, ttl: 60_000 }] }",
    );
  }
  knownKeys(value, 'throttle', [
    'tiers',
    'storage',
    'onStoreError',
    'trustProxy',
    'apiKeys',
    'authFailures',
    'headers',
  ]);
  if (!Array.isArray(value.tiers) || value.tiers.length === 0) {
    throw new OptionsError(
      'throttle.tiers',
      'must be a non-empty array of tiers',
      "e.g. [{ name: 'ip', by: 'ip', limit: 300, ttl: 60_000 }]",
    );
  }
  const names = new Set<string>();
  const tiers = Object.freeze(
    value.tiers.map((tier: unknown, index) => resolveTier(tier, index, names)),
  );
  const onStoreError = value.onStoreError ?? 'fallback-memory';
  if (!ERROR_POLICIES.includes(onStoreError as ThrottlerStoreErrorPolicy)) {
    throw new OptionsError(
      'throttle.onStoreError',
      "must be 'fail-open', 'fail-closed' or 'fallback-memory'",
    );
  }
  let trust: TrustFunction;
  try {
    trust = compileTrustProxy((value.trustProxy ?? false) as TrustProxy);
  } catch (error) {
    // The message starts with what is wrong ("must be…") or with the entry ("[1] …").
    const message = error instanceof Error ? error.message : 'is invalid';
    throw new OptionsError('throttle.trustProxy', message, undefined, error);
  }
  let apiKeys: ApiKeyResolver;
  try {
    apiKeys = createApiKeyResolver((value.apiKeys ?? []) as readonly ApiKeyConfig[]);
  } catch (error) {
    throw new OptionsError(
      'throttle.apiKeys',
      error instanceof Error ? error.message : 'is invalid',
      undefined,
      error,
    );
  }
  // Formatted once here so that a tier name that cannot be a header value fails the boot.
  formatRateLimitPolicy(
    tiers.map((tier) => ({ name: tier.name, limit: tier.limit, windowSeconds: 1 })),
  );
  return Object.freeze({
    tiers,
    storage: resolveStorage(value.storage),
    onStoreError: onStoreError as ThrottlerStoreErrorPolicy,
    trust,
    apiKeys,
    authFailures: resolveAuthFailures(value.authFailures),
    headers: booleanOption(value.headers, 'throttle.headers', true),
  });
}
