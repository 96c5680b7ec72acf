import { createHash } from 'node:crypto';
import { type IncomingHttpHeaders } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { type ThrottlerStorage } from '@nestjs/throttler';
import { SecureApiErrorCode } from '../errors/secure-api-error-code.js';
import { SecureApiHttpError } from '../errors/secure-api-http.error.js';
import { SECURE_API_OPTIONS } from '../secure-api.constants.js';
import { type ResolvedSecureApiOptions } from '../secure-api.options.js';
import { addressBucket, resolveClientAddress, UNKNOWN_ADDRESS_BUCKET } from './client-address.js';
import { MemoryThrottlerStorage, type ThrottlerStorageRecord } from './memory-throttler.storage.js';
import { formatRateLimit, formatRateLimitPolicy, retryAfterSeconds } from './rate-limit-headers.js';
import {
  RedisThrottlerStorage,
  type ThrottlerIncrement,
  ThrottlerStoreUnavailableError,
} from './redis-throttler.storage.js';
import { type ResolvedThrottleOptions } from './throttle-options.js';

/** One tier's check for one request: the tier's limits (or the route's) and the key. */
export interface TierCheck extends ThrottlerIncrement {
  /** The tier's name, for headers. */
  readonly tier: string;
}

/** The outcome of a set of checks. */
export interface RateLimitDecision {
  /** The first refused check, if any. */
  readonly refused:
    { readonly check: TierCheck; readonly record: ThrottlerStorageRecord } | undefined;
  /** Headers for the response (`RateLimit-Policy`, `RateLimit`), empty when switched off. */
  readonly headers: Readonly<Record<string, string>>;
}

/** The part of a Node or Fastify request the limiter reads. */
export interface ClientRequest {
  readonly headers: IncomingHttpHeaders;
  readonly socket?: { readonly remoteAddress?: string | undefined };
  readonly raw?: { readonly socket?: { readonly remoteAddress?: string | undefined } };
}

const CLIENT_BUCKET = Symbol('secure-api.clientBucket');
const COUNTED = Symbol('secure-api.rateLimitChecks');
type WithBucket = ClientRequest & {
  [CLIENT_BUCKET]?: string;
  /** Checks counted for this request by an earlier guard, for the headers of the next. */
  [COUNTED]?: { checks: TierCheck[]; records: ThrottlerStorageRecord[] };
};

/** Longest wait at boot for the Redis storage to connect. */
const REDIS_READY_WAIT_MS = 2_000;

/** A storage that answers synchronously: what lets the guards skip a promise per request. */
function isMemory(storage: ThrottlerStorage): storage is MemoryThrottlerStorage {
  return storage instanceof MemoryThrottlerStorage;
}

/**
 * Counts requests per tier in the configured storage and turns the records into decisions and
 * headers. One instance per app; the guards share it, and it owns the storage it creates
 * (closed on shutdown).
 */
@Injectable()
export class RateLimiter implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('SecureApi');
  readonly options: ResolvedThrottleOptions | false;
  private readonly storage: ThrottlerStorage | undefined;
  private readonly ownsStorage: boolean;
  /** Used when a storage the app passed in fails and `onStoreError` is `fallback-memory`. */
  private readonly fallback = new MemoryThrottlerStorage();
  private lastStoreWarning = Number.NEGATIVE_INFINITY;

  constructor(@Inject(SECURE_API_OPTIONS) options: ResolvedSecureApiOptions) {
    this.options = options.throttle;
    const throttle = options.throttle;
    if (throttle === false) {
      this.storage = undefined;
      this.ownsStorage = false;
    } else if (throttle.storage === 'memory') {
      this.storage = new MemoryThrottlerStorage();
      this.ownsStorage = true;
    } else if ('redis' in throttle.storage) {
      const { url, keyPrefix, commandTimeoutMs } = throttle.storage.redis;
      this.storage = new RedisThrottlerStorage({
        url,
        keyPrefix,
        commandTimeoutMs,
        onStoreError: throttle.onStoreError,
        fallback: this.fallback,
      });
      this.ownsStorage = true;
    } else {
      this.storage = throttle.storage;
      this.ownsStorage = false;
    }
  }

  /**
   * Waits, before the app listens, for the Redis storage it created to connect (at most
   * {@link REDIS_READY_WAIT_MS}): requests in the gap would otherwise be counted by
   * `onStoreError` (locally, or not at all) instead of in the shared store. A Redis that is not
   * there by then is logged, and `onStoreError` applies until it answers.
   */
  async onModuleInit(): Promise<void> {
    const storage = this.storage;
    if (!this.ownsStorage || !(storage instanceof RedisThrottlerStorage)) return;
    const deadline = Date.now() + REDIS_READY_WAIT_MS;
    while (!storage.available && Date.now() < deadline) await delay(10);
    if (!storage.available) {
      this.logger.warn(
        `Rate-limit Redis not connected after ${REDIS_READY_WAIT_MS} ms; onStoreError applies until it answers`,
      );
    }
  }

  /**
   * The rate-limit key of the request's client: its address (per `trustProxy`), IPv6 grouped by
   * /64. Computed once per request.
   */
  clientBucket(request: ClientRequest): string {
    const cached = (request as WithBucket)[CLIENT_BUCKET];
    if (cached !== undefined) return cached;
    const trust = this.options === false ? () => false : this.options.trust;
    const socket = request.raw?.socket ?? request.socket;
    const address = resolveClientAddress(
      socket?.remoteAddress,
      request.headers['x-forwarded-for'],
      trust,
    );
    const bucket = address === undefined ? UNKNOWN_ADDRESS_BUCKET : addressBucket(address);
    (request as WithBucket)[CLIENT_BUCKET] = bucket;
    return bucket;
  }

  /** A principal's key: a digest, so that subjects are not written into a shared store. */
  static principalKey(issuer: string, subject: string): string {
    return createHash('sha256').update(`${issuer}\n${subject}`).digest('base64url').slice(0, 22);
  }

  /**
   * Counts one hit for every check and decides. Synchronous with the memory storage (no
   * promise per request), a promise otherwise: all checks in one Redis round trip.
   */
  check(
    request: ClientRequest,
    checks: readonly TierCheck[],
  ): RateLimitDecision | Promise<RateLimitDecision> {
    const storage = this.storage;
    if (storage === undefined || checks.length === 0) return { refused: undefined, headers: {} };
    if (isMemory(storage)) {
      return this.decide(
        request,
        checks,
        checks.map((c) => storage.hit(c.key, c.ttl, c.limit, c.blockDuration, c.throttlerName)),
      );
    }
    return this.count(storage, checks).then((records) => this.decide(request, checks, records));
  }

  private async count(
    storage: ThrottlerStorage,
    checks: readonly TierCheck[],
  ): Promise<ThrottlerStorageRecord[]> {
    try {
      if (storage instanceof RedisThrottlerStorage) return await storage.incrementMany(checks);
      return await Promise.all(
        checks.map((c) =>
          storage.increment(c.key, c.ttl, c.limit, c.blockDuration, c.throttlerName),
        ),
      );
    } catch (error) {
      // RedisThrottlerStorage applies onStoreError itself and throws only for fail-closed.
      if (error instanceof ThrottlerStoreUnavailableError) throw error;
      return this.onStoreError(checks, error);
    }
  }

  /** `onStoreError` for a storage the app passed in. */
  private onStoreError(checks: readonly TierCheck[], error: unknown): ThrottlerStorageRecord[] {
    const policy = this.options === false ? 'fail-open' : this.options.onStoreError;
    const now = Date.now();
    if (now - this.lastStoreWarning >= 60_000) {
      this.lastStoreWarning = now;
      this.logger.warn(
        `Rate-limit storage failed (${error instanceof Error ? error.name : 'error'}); applying onStoreError '${policy}'`,
      );
    }
    if (policy === 'fail-closed') throw new ThrottlerStoreUnavailableError(error);
    if (policy === 'fail-open') {
      return checks.map(() => ({
        totalHits: 0,
        timeToExpire: 0,
        isBlocked: false,
        timeToBlockExpire: 0,
      }));
    }
    return checks.map((c) =>
      this.fallback.hit(c.key, c.ttl, c.limit, c.blockDuration, c.throttlerName),
    );
  }

  /**
   * The decision on this request's checks; the headers cover every check counted for the
   * request so far (the IP and global tiers before authentication, the principal tier after).
   */
  private decide(
    request: ClientRequest,
    current: readonly TierCheck[],
    currentRecords: readonly ThrottlerStorageRecord[],
  ): RateLimitDecision {
    const counted = ((request as WithBucket)[COUNTED] ??= { checks: [], records: [] });
    counted.checks.push(...current);
    counted.records.push(...currentRecords);
    const { checks, records } = counted;
    let refused: RateLimitDecision['refused'];
    let tightest:
      { check: TierCheck; record: ThrottlerStorageRecord; remaining: number } | undefined;
    checks.forEach((check, index) => {
      const record = records[index];
      if (record === undefined) return;
      const remaining = Math.max(0, check.limit - record.totalHits);
      if (refused === undefined && (record.isBlocked || record.totalHits > check.limit)) {
        refused = { check, record };
      }
      if (tightest === undefined || remaining < tightest.remaining) {
        tightest = { check, record, remaining };
      }
    });
    const headers: Record<string, string> = {};
    if (this.options !== false && this.options.headers && tightest !== undefined) {
      headers['ratelimit-policy'] = formatRateLimitPolicy(
        checks.map((c) => ({
          name: c.tier,
          limit: c.limit,
          windowSeconds: Math.ceil(c.ttl / 1000),
        })),
      );
      const shown = refused ?? tightest;
      headers.ratelimit = formatRateLimit({
        name: shown.check.tier,
        remaining: refused === undefined ? tightest.remaining : 0,
        resetSeconds: Math.max(0, secondsUntilAllowed(shown.record)),
      });
    }
    return { refused, headers };
  }

  /** The 429 for a refused check, with `Retry-After` and the rate-limit fields. */
  static tooManyRequests(decision: RateLimitDecision): SecureApiHttpError {
    const record = decision.refused?.record;
    const seconds =
      record === undefined ? 1 : retryAfterSeconds(secondsUntilAllowed(record) * 1000);
    return new SecureApiHttpError(SecureApiErrorCode.RATE_LIMITED, {
      status: 429,
      title: 'Too Many Requests',
      detail: 'Too many requests; retry after the time given in Retry-After.',
      headers: { ...decision.headers, 'retry-after': String(seconds) },
      reason: decision.refused?.check.tier,
    });
  }

  async onApplicationShutdown(): Promise<void> {
    this.fallback.clear();
    if (!this.ownsStorage || this.storage === undefined) return;
    if (this.storage instanceof RedisThrottlerStorage) await this.storage.close();
    else if (this.storage instanceof MemoryThrottlerStorage) this.storage.clear();
  }
}

function secondsUntilAllowed(record: ThrottlerStorageRecord): number {
  return record.isBlocked ? record.timeToBlockExpire : record.timeToExpire;
}
