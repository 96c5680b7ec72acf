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
import { clientAddressOf, clientTrustOf } from '../logging/request-context.js';
import { addressBucket, type TrustFunction, UNKNOWN_ADDRESS_BUCKET } from './client-address.js';
import { MemoryThrottlerStorage, type ThrottlerStorageRecord } from './memory-throttler.storage.js';
import { formatRateLimit, retryAfterSeconds } from './rate-limit-headers.js';
import { RedisThrottlerStorage, type ThrottlerIncrement } from './redis-throttler.storage.js';
import { isThrottlerStorage, type ResolvedThrottleOptions } from './throttle-options.js';

/** One tier's check for one request: the tier's limits (or the route's) and the key. */
export type TierCheck = ThrottlerIncrement;

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

/** The tier closest to its limit among those counted for a request so far. */
interface Tightest {
  readonly name: string;
  readonly remaining: number;
  readonly resetSeconds: number;
}

const CLIENT_BUCKET = Symbol('secure-api.clientBucket');
const TIGHTEST = Symbol('secure-api.tightestTier');
type WithState = ClientRequest & { [CLIENT_BUCKET]?: string; [TIGHTEST]?: Tightest };

/**
 * Most client addresses whose bucket is remembered; past that the memo starts over. An address
 * is parsed once per memo generation instead of on every request (ipaddr.js's parse and
 * RFC 5952 formatting cost a few µs each time); the bound keeps a flood of distinct addresses
 * from growing it.
 */
const MAX_REMEMBERED_BUCKETS = 4_096;

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
  /** Which proxies are believed, resolved once (see `clientTrustOf`). */
  private readonly trust: TrustFunction;
  private readonly storage: ThrottlerStorage | undefined;
  private readonly ownsStorage: boolean;
  /** Address as written → its bucket (see {@link MAX_REMEMBERED_BUCKETS}). */
  private readonly buckets = new Map<string, string>();

  constructor(@Inject(SECURE_API_OPTIONS) options: ResolvedSecureApiOptions) {
    this.options = options.throttle;
    this.trust = clientTrustOf(options);
    const throttle = options.throttle;
    if (throttle === false) {
      this.storage = undefined;
      this.ownsStorage = false;
    } else if (throttle.storage === 'memory') {
      this.storage = new MemoryThrottlerStorage();
      this.ownsStorage = true;
    } else if (isThrottlerStorage(throttle.storage)) {
      this.storage = throttle.storage;
      this.ownsStorage = false;
    } else {
      const { url, cluster, keyPrefix, commandTimeoutMs } = throttle.storage.redis;
      this.storage = new RedisThrottlerStorage({
        ...(cluster === undefined ? { url } : { cluster }),
        keyPrefix,
        commandTimeoutMs,
        onStoreError: throttle.onStoreError,
      });
      this.ownsStorage = true;
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
   * For readiness probes: which store counts the requests, and whether it is answering (a
   * Redis that is down is `ready: false`, whatever `onStoreError` does meanwhile; memory and
   * stores the app passed in are always ready).
   */
  storeStatus(): {
    readonly store: 'none' | 'memory' | 'redis' | 'custom';
    readonly ready: boolean;
  } {
    const storage = this.storage;
    if (storage === undefined) return { store: 'none', ready: true };
    if (storage instanceof RedisThrottlerStorage) {
      return { store: 'redis', ready: storage.available };
    }
    return { store: isMemory(storage) && this.ownsStorage ? 'memory' : 'custom', ready: true };
  }

  /**
   * The rate-limit key of the request's client: its address (per `trustProxy`), IPv6 grouped by
   * /64. Computed once per request.
   */
  clientBucket(request: ClientRequest): string {
    const cached = (request as WithState)[CLIENT_BUCKET];
    if (cached !== undefined) return cached;
    const address = clientAddressOf(request, this.trust);
    const bucket = address === undefined ? UNKNOWN_ADDRESS_BUCKET : this.bucketOf(address);
    (request as WithState)[CLIENT_BUCKET] = bucket;
    return bucket;
  }

  private bucketOf(address: string): string {
    let bucket = this.buckets.get(address);
    if (bucket === undefined) {
      bucket = addressBucket(address);
      if (this.buckets.size >= MAX_REMEMBERED_BUCKETS) this.buckets.clear();
      this.buckets.set(address, bucket);
    }
    return bucket;
  }

  /** A principal's key: a digest, so that subjects are not written into a shared store. */
  static principalKey(issuer: string, subject: string): string {
    return createHash('sha256').update(`${issuer}\n${subject}`).digest('base64url').slice(0, 22);
  }

  /**
   * Counts one hit for every check and decides. Synchronous with the memory storage (no
   * promise per request), a promise otherwise: all checks in one Redis round trip. `policy` is
   * the `RateLimit-Policy` value of every tier counted for the request up to these checks
   * (computed once per route), or `undefined` for no rate-limit headers.
   *
   * A `ThrottlerStorage` the app passes in handles its own failures (`onStoreError` is the
   * policy of the Redis storage the module creates); an error it throws is a 500.
   */
  check(
    request: ClientRequest,
    checks: readonly TierCheck[],
    policy: string | undefined,
  ): RateLimitDecision | Promise<RateLimitDecision> {
    const storage = this.storage;
    if (storage === undefined || checks.length === 0) return { refused: undefined, headers: {} };
    if (isMemory(storage)) {
      return this.decide(
        request,
        checks,
        checks.map((c) => storage.hit(c.key, c.ttl, c.limit, c.blockDuration, c.throttlerName)),
        policy,
      );
    }
    const counted =
      storage instanceof RedisThrottlerStorage
        ? storage.incrementMany(checks)
        : Promise.all(
            checks.map((c) =>
              storage.increment(c.key, c.ttl, c.limit, c.blockDuration, c.throttlerName),
            ),
          );
    return counted.then((records) => this.decide(request, checks, records, policy));
  }

  private decide(
    request: ClientRequest,
    checks: readonly TierCheck[],
    records: readonly ThrottlerStorageRecord[],
    policy: string | undefined,
  ): RateLimitDecision {
    let refused: RateLimitDecision['refused'];
    // The headers describe the tier closest to its limit over both guards of the request.
    let tightest = (request as WithState)[TIGHTEST];
    checks.forEach((check, index) => {
      const record = records[index];
      if (record === undefined) return;
      const remaining = Math.max(0, check.limit - record.totalHits);
      if (refused === undefined && (record.isBlocked || record.totalHits > check.limit)) {
        refused = { check, record };
      }
      if (tightest === undefined || remaining < tightest.remaining) {
        tightest = {
          name: check.throttlerName,
          remaining,
          resetSeconds: Math.max(0, secondsUntilAllowed(record)),
        };
      }
    });
    (request as WithState)[TIGHTEST] = tightest;
    if (policy === undefined || tightest === undefined) return { refused, headers: {} };
    const shown: Tightest =
      refused === undefined
        ? tightest
        : {
            name: refused.check.throttlerName,
            remaining: 0,
            resetSeconds: Math.max(0, secondsUntilAllowed(refused.record)),
          };
    return {
      refused,
      headers: { 'ratelimit-policy': policy, ratelimit: formatRateLimit(shown) },
    };
  }

  /**
   * The 429 of a refused request, with `Retry-After` (whole seconds, at least 1) and the
   * rate-limit fields; `tier` goes to the log only.
   */
  static tooManyRequests(
    tier: string,
    seconds: number,
    headers: Readonly<Record<string, string>> = {},
  ): SecureApiHttpError {
    return new SecureApiHttpError(SecureApiErrorCode.RATE_LIMITED, {
      status: 429,
      title: 'Too Many Requests',
      detail: 'Too many requests; retry after the time given in Retry-After.',
      headers: { ...headers, 'retry-after': String(retryAfterSeconds(seconds * 1000)) },
      reason: tier,
    });
  }

  /** The 429 for a refused check of a decision. */
  static refusal(
    { check, record }: NonNullable<RateLimitDecision['refused']>,
    headers: RateLimitDecision['headers'],
  ): SecureApiHttpError {
    return RateLimiter.tooManyRequests(check.throttlerName, secondsUntilAllowed(record), headers);
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.ownsStorage || this.storage === undefined) return;
    if (this.storage instanceof RedisThrottlerStorage) await this.storage.close();
    else if (this.storage instanceof MemoryThrottlerStorage) this.storage.clear();
  }
}

function secondsUntilAllowed(record: ThrottlerStorageRecord): number {
  return record.isBlocked ? record.timeToBlockExpire : record.timeToExpire;
}
