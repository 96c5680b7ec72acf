import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import { type ThrottlerStorage } from '@nestjs/throttler';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { SecureApiError } from '../errors/secure-api.error.js';
import { SecureApiErrorCode } from '../errors/secure-api-error-code.js';
import { SecureApiHttpError } from '../errors/secure-api-http.error.js';
import { MemoryThrottlerStorage, type ThrottlerStorageRecord } from './memory-throttler.storage.js';
import { THROTTLER_LUA } from './redis-throttler.lua.js';

/**
 * 503 raised by {@link RedisThrottlerStorage} with `onStoreError: 'fail-closed'` when Redis does
 * not answer: the request is refused rather than let through unlimited. Carries
 * `Retry-After: 1`; the Redis error is its `cause` and goes only to the log.
 */
export class ThrottlerStoreUnavailableError extends SecureApiHttpError {
  constructor(cause?: unknown) {
    super(SecureApiErrorCode.RATE_LIMIT_STORE_UNAVAILABLE, {
      status: 503,
      title: 'Service Unavailable',
      detail: 'The rate limit cannot be checked right now.',
      reason: 'rate-limit store unavailable',
      headers: { 'retry-after': '1' },
      cause,
    });
  }
}

/** What {@link RedisThrottlerStorage} does when Redis fails or does not answer in time. */
export type ThrottlerStoreErrorPolicy = 'fail-open' | 'fail-closed' | 'fallback-memory';

/** One hit for {@link RedisThrottlerStorage.incrementMany}: `ThrottlerStorage.increment`'s arguments. */
export interface ThrottlerIncrement {
  readonly key: string;
  /** Window, milliseconds. */
  readonly ttl: number;
  readonly limit: number;
  /** Milliseconds; `<= 0` refuses only while `limit` hits are live. */
  readonly blockDuration: number;
  readonly throttlerName: string;
}

/** Options of {@link RedisThrottlerStorage}. Give exactly one of `url`, `cluster` and `client`. */
export interface RedisThrottlerStorageOptions {
  /**
   * Redis URL (`redis://host:port/db`, `rediss://` for TLS). The storage creates its own client
   * (no offline queue, `commandTimeout: commandTimeoutMs`, no retried or resent commands, so a
   * hit is never counted twice; reconnects with a backoff capped at 1 s) and closes it on
   * application shutdown.
   */
  url?: string;
  /**
   * Redis Cluster: URLs of some of its nodes (`redis://host:port`, `rediss://` for TLS; the
   * user and password of the first one are used for every node the cluster reports). The
   * storage creates and closes its own `Cluster` client with the settings of `url`'s client,
   * except that a command waits for a node connection that is still opening (while the cluster
   * as a whole is up); a command refused because its connection closed is never re-sent (it
   * may have been counted), and every call is bounded by `commandTimeoutMs` whatever the
   * cluster's queueing, redirects and retries. One key's entries share a slot; the tiers of
   * one request are one script call each, sent at once. A TLS cluster whose nodes announce
   * addresses their certificates do not name needs a `client` of your own (ioredis's
   * `dnsLookup` and `redisOptions.tls`).
   */
  cluster?: readonly string[];
  /**
   * A client you own and close. Give it the same settings the storage gives its own:
   * `enableOfflineQueue: false`, `maxRetriesPerRequest: 0`, `autoResendUnfulfilledCommands:
   * false`, and a `commandTimeout`. Without a `commandTimeout`, and always with a `Cluster`, the
   * storage stops waiting after `commandTimeoutMs` itself. With a `Cluster`, `incrementMany`
   * sends one script call per key.
   */
  client?: Redis | Cluster;
  /**
   * Prefix of every Redis key. Must not contain `{` or `}`: the storage puts the Cluster hash
   * tag after it.
   *
   * @default 'rl:'
   */
  keyPrefix?: string;
  /**
   * Longest wait for Redis, milliseconds, before `onStoreError` applies.
   *
   * @default 100
   */
  commandTimeoutMs?: number;
  /**
   * When Redis fails, times out or is disconnected: `'fail-open'` allows the request (a record
   * with `totalHits: 0`), `'fail-closed'` throws {@link ThrottlerStoreUnavailableError} (503),
   * `'fallback-memory'` answers from `fallback` (limits then hold per instance, not across
   * instances) until Redis answers again.
   *
   * @default 'fallback-memory'
   */
  onStoreError?: ThrottlerStoreErrorPolicy;
  /**
   * The storage answering while Redis is unavailable, with `onStoreError: 'fallback-memory'`.
   *
   * @default new MemoryThrottlerStorage()
   */
  fallback?: ThrottlerStorage;
  /**
   * Where store errors are reported: one `warn` per `warnIntervalMs` at most, with the error's
   * class and message, never a key (keys hold IP addresses and principals). `log`, if present,
   * reports that Redis answers again. A Nest `LoggerService` fits.
   *
   * @default new Logger('RedisThrottlerStorage')
   */
  logger?: { warn(message: string): void; log?(message: string): void };
  /**
   * Least time between two store-error warnings, milliseconds.
   *
   * @default 60_000
   */
  warnIntervalMs?: number;
}

const POLICIES: readonly ThrottlerStoreErrorPolicy[] = [
  'fail-open',
  'fail-closed',
  'fallback-memory',
];
// Unlikely to collide with a command a caller defined on a client they share with us.
const SCRIPT_COMMAND = 'secureApiThrottle';

type ScriptCommand = (numKeys: number, ...args: (string | number)[]) => Promise<unknown>;

function invalid(message: string): SecureApiError {
  return new SecureApiError(SecureApiErrorCode.INVALID_OPTIONS, message);
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

/**
 * A `ThrottlerStorage` for `@nestjs/throttler` shared by every instance through Redis, with the
 * semantics of {@link MemoryThrottlerStorage} (the stock storage's) decided atomically by one
 * Lua script on Redis's own clock.
 *
 * - **Atomic.** Each call is one `EVALSHA` (ioredis `defineCommand`, which falls back to `EVAL`
 *   after a Redis restart flushed the script cache); nothing is read and then written from
 *   JavaScript, so concurrent hits from any number of instances allow exactly `limit`.
 * - **Bounded.** A key's hits expire `ttl` after its last hit, its window and block state
 *   `max(ttl, blockDuration)` after they last changed. A key holds at most `limit + 1` hit
 *   entries. An allowed hit is five Redis commands inside the script, three of them writes.
 * - **Cluster-ready.** Keys are `${keyPrefix}{${throttlerName}:${key}}` (and `…:h`), so one
 *   key's two entries share a slot.
 * - **Outages.** A Redis error, a disconnected client or no answer within `commandTimeoutMs`
 *   applies `onStoreError`; once ioredis has reconnected, Redis is used again.
 *
 * @example
 * ThrottlerModule.forRoot({
 *   throttlers: [{ ttl: 60_000, limit: 100 }],
 *   storage: new RedisThrottlerStorage({ url: 'redis://127.0.0.1:6379', onStoreError: 'fail-open' }),
 * });
 */
export class RedisThrottlerStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly client: Redis | Cluster;
  private readonly ownsClient: boolean;
  private readonly script: ScriptCommand;
  private readonly keyPrefix: string;
  /** Set when the client has no `commandTimeout` of its own. */
  private readonly deadlineMs: number | undefined;
  private readonly policy: ThrottlerStoreErrorPolicy;
  private readonly fallback: ThrottlerStorage;
  private readonly ownsFallback: boolean;
  private readonly logger: { warn(message: string): void; log?(message: string): void };
  private readonly warnIntervalMs: number;
  private lastWarnAt = Number.NEGATIVE_INFINITY;
  private suppressed = 0;
  private failing = false;
  private closed = false;

  constructor(options: RedisThrottlerStorageOptions) {
    const {
      url,
      cluster,
      client,
      keyPrefix = 'rl:',
      commandTimeoutMs = 100,
      onStoreError = 'fallback-memory',
      fallback,
      logger = new Logger('RedisThrottlerStorage'),
      warnIntervalMs = 60_000,
    } = options;
    if ([url, cluster, client].filter((given) => given !== undefined).length !== 1) {
      throw invalid('RedisThrottlerStorage needs exactly one of "url", "cluster" and "client"');
    }
    const nodes = cluster === undefined ? undefined : clusterNodes(cluster);
    if (typeof keyPrefix !== 'string' || /[{}]/.test(keyPrefix)) {
      throw invalid(
        `"keyPrefix" must be a string without "{" or "}", got ${JSON.stringify(keyPrefix)}`,
      );
    }
    if (!isPositiveInteger(commandTimeoutMs)) {
      throw invalid(
        `"commandTimeoutMs" must be a positive integer (milliseconds), got ${String(commandTimeoutMs)}`,
      );
    }
    if (!POLICIES.includes(onStoreError)) {
      throw invalid(
        `"onStoreError" must be one of ${POLICIES.map((p) => `'${p}'`).join(', ')}, got ${JSON.stringify(onStoreError)}`,
      );
    }
    if (!(warnIntervalMs === 0 || isPositiveInteger(warnIntervalMs))) {
      throw invalid(
        `"warnIntervalMs" must be a non-negative integer (milliseconds), got ${String(warnIntervalMs)}`,
      );
    }

    this.keyPrefix = keyPrefix;
    this.policy = onStoreError;
    this.fallback = fallback ?? new MemoryThrottlerStorage();
    this.ownsFallback = fallback === undefined;
    this.logger = logger;
    this.warnIntervalMs = warnIntervalMs;

    if (client !== undefined) {
      this.client = client;
      this.ownsClient = false;
      // A cluster's redirects and retries each get a node's commandTimeout anew: only a
      // deadline of the storage's own bounds the whole call.
      const own = client.isCluster ? undefined : (client as Redis).options.commandTimeout;
      this.deadlineMs = typeof own === 'number' ? undefined : commandTimeoutMs;
    } else if (nodes !== undefined) {
      this.client = new Cluster(
        nodes.map(({ host, port }) => ({ host, port })),
        {
          // Node connections open lazily, and a burst of commands to one that is still
          // connecting would be refused as "Connection is closed" without a queue; the storage's
          // own deadline bounds the wait, and a queued command was never sent, so none is
          // counted twice. A cluster that is down altogether is not `available`: no command is
          // queued then.
          enableOfflineQueue: true,
          // Never re-send a command whose connection closed: Redis may have run it.
          retryDelayOnFailover: 0,
          clusterRetryStrategy: backoff,
          // No auto-pipelining (see below): ioredis routes an auto-pipelined script call by its
          // first argument, the number of keys, not by a key, and a pipeline must hold one slot.
          redisOptions: ownClientOptions(commandTimeoutMs, nodes[0]),
        },
      );
      this.ownsClient = true;
      this.deadlineMs = commandTimeoutMs;
      this.client.on('error', () => undefined);
    } else {
      this.client = new Redis(url as string, {
        enableOfflineQueue: false,
        ...ownClientOptions(commandTimeoutMs, undefined),
        // The script calls of the requests handled in one turn of the event loop go out in one
        // write (ioredis flushes them in setImmediate, before the loop waits for I/O again) and
        // their replies come back in one read: a system call each way per burst instead of per
        // request. Each call stays its own script run, answered and timed out on its own.
        enableAutoPipelining: true,
        retryStrategy: backoff,
      });
      this.ownsClient = true;
      this.deadlineMs = undefined;
      // ioredis reports every failed reconnection as an 'error' event; the calls that fail
      // because of it are what gets reported, once per warnIntervalMs.
      this.client.on('error', () => undefined);
    }
    this.client.defineCommand(SCRIPT_COMMAND, { lua: THROTTLER_LUA });
    const bound = (this.client as unknown as Record<string, ScriptCommand>)[SCRIPT_COMMAND];
    if (bound === undefined) throw new Error('ioredis defineCommand did not define the script');
    this.script = bound.bind(this.client);
  }

  /** Whether Redis is connected and ready, i.e. whether the next hit goes to Redis. */
  get available(): boolean {
    return !this.closed && this.client.status === 'ready';
  }

  /** `ThrottlerStorage.increment`: one hit, one script call. */
  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    const [record] = await this.incrementMany([{ key, ttl, limit, blockDuration, throttlerName }]);
    // incrementMany answers one record per request, always.
    return record as ThrottlerStorageRecord;
  }

  /**
   * Decides several hits (the tiers of one request) and returns their records in order.
   *
   * On a single Redis it is one round trip: one script call with every key. With a `Cluster`
   * the keys live in different slots, so it is one script call per hit, all sent at once (and
   * each failing over on its own).
   *
   * @example
   * const [perIp, global] = await storage.incrementMany([
   *   { key: ipKey, ttl: 60_000, limit: 100, blockDuration: 60_000, throttlerName: 'ip' },
   *   { key: 'all', ttl: 1000, limit: 5000, blockDuration: 0, throttlerName: 'global' },
   * ]);
   */
  async incrementMany(requests: readonly ThrottlerIncrement[]): Promise<ThrottlerStorageRecord[]> {
    if (requests.length === 0) return [];
    if (this.client.isCluster && requests.length > 1) {
      const records = await Promise.all(requests.map((request) => this.decide([request])));
      return records.flat();
    }
    return this.decide(requests);
  }

  /** Closes the client if the storage created it (never one it was given). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsFallback && this.fallback instanceof MemoryThrottlerStorage) this.fallback.clear();
    if (!this.ownsClient) return;
    if (this.client.status === 'ready') {
      try {
        await this.client.quit();
        return;
      } catch {
        // Lost the connection while quitting: disconnecting below is all that is left to do.
      }
    }
    this.client.disconnect();
  }

  /** Closes the client it created. */
  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }

  private async decide(requests: readonly ThrottlerIncrement[]): Promise<ThrottlerStorageRecord[]> {
    try {
      if (!this.available) {
        throw new Error(`Redis connection is ${this.closed ? 'closed' : this.client.status}`);
      }
      const records = parseReply(await this.call(requests), requests.length);
      if (this.failing) {
        this.failing = false;
        this.logger.log?.('Redis answers again; rate limits are shared again');
      }
      return records;
    } catch (error) {
      return this.onError(error, requests);
    }
  }

  private call(requests: readonly ThrottlerIncrement[]): Promise<unknown> {
    const keys: string[] = [];
    const args: number[] = [];
    for (const { key, ttl, limit, blockDuration, throttlerName } of requests) {
      const base = `${this.keyPrefix}{${throttlerName}:${key}}`;
      keys.push(base, `${base}:h`);
      args.push(ttl, limit, blockDuration);
    }
    const reply = this.script(keys.length, ...keys, ...args);
    const deadline = this.deadlineMs;
    if (deadline === undefined) return reply;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('Command timed out')), deadline);
    });
    return Promise.race([reply, timeout]).finally(() => clearTimeout(timer));
  }

  private async onError(
    error: unknown,
    requests: readonly ThrottlerIncrement[],
  ): Promise<ThrottlerStorageRecord[]> {
    this.failing = true;
    this.warn(error, requests);
    switch (this.policy) {
      case 'fail-closed':
        throw new ThrottlerStoreUnavailableError(error);
      case 'fail-open':
        return requests.map(({ ttl }) => ({
          totalHits: 0,
          timeToExpire: Math.ceil(ttl / 1000),
          isBlocked: false,
          timeToBlockExpire: 0,
        }));
      case 'fallback-memory':
        return Promise.all(
          requests.map(({ key, ttl, limit, blockDuration, throttlerName }) =>
            this.fallback.increment(key, ttl, limit, blockDuration, throttlerName),
          ),
        );
    }
  }

  private warn(error: unknown, requests: readonly ThrottlerIncrement[]): void {
    const now = Date.now();
    if (now - this.lastWarnAt < this.warnIntervalMs) {
      this.suppressed++;
      return;
    }
    const name = error instanceof Error ? error.name : typeof error;
    let message = error instanceof Error ? error.message : String(error);
    // A Redis error message can quote a key, and keys hold IP addresses and principals.
    for (const { key } of requests) {
      if (key !== '') message = message.split(key).join('<key>');
    }
    const more = this.suppressed > 0 ? ` (${this.suppressed} more since the last warning)` : '';
    this.lastWarnAt = now;
    this.suppressed = 0;
    this.logger.warn(
      `Redis rate-limit store unavailable (${name}: ${message})${more}; applying onStoreError '${this.policy}'`,
    );
  }
}

/** Reconnection delays of the storage's own clients: 100 ms, 200 ms, 400 ms…, at most 1 s. */
function backoff(attempt: number): number {
  return Math.min(50 * 2 ** attempt, 1000);
}

/** A node of a cluster, from its URL. */
interface ClusterNode {
  readonly host: string;
  readonly port: number;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly tls: boolean;
}

/**
 * The settings of every connection the storage opens: no retried or re-sent command (one that
 * reached Redis before the connection broke was counted) and the command timeout. For a
 * cluster, also the credentials and TLS of its first node, which ioredis applies to the nodes
 * the cluster reports.
 */
function ownClientOptions(commandTimeoutMs: number, node: ClusterNode | undefined): RedisOptions {
  return {
    commandTimeout: commandTimeoutMs,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    ...(node === undefined
      ? {}
      : {
          ...(node.username === undefined ? {} : { username: node.username }),
          ...(node.password === undefined ? {} : { password: node.password }),
          // Each connection checks its node's certificate for the address it connects to.
          ...(node.tls ? { tls: {} } : {}),
        }),
  };
}

/** The nodes of the `cluster` option, checked. */
function clusterNodes(cluster: unknown): ClusterNode[] {
  if (!Array.isArray(cluster) || cluster.length === 0) {
    throw invalid('"cluster" must be a non-empty list of redis:// or rediss:// URLs');
  }
  return cluster.map((entry: unknown, index) => {
    let parsed: URL | undefined;
    try {
      parsed = typeof entry === 'string' ? new URL(entry) : undefined;
    } catch {
      parsed = undefined;
    }
    if (
      parsed === undefined ||
      !['redis:', 'rediss:'].includes(parsed.protocol) ||
      !parsed.hostname
    ) {
      // The URL may hold a password: it is not quoted.
      throw invalid(`"cluster[${index}]" must be a redis:// or rediss:// URL with a host`);
    }
    return {
      host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: parsed.port === '' ? 6379 : Number(parsed.port),
      username: parsed.username === '' ? undefined : decodeURIComponent(parsed.username),
      password: parsed.password === '' ? undefined : decodeURIComponent(parsed.password),
      tls: parsed.protocol === 'rediss:',
    };
  });
}

function parseReply(reply: unknown, count: number): ThrottlerStorageRecord[] {
  if (!Array.isArray(reply) || reply.length !== count * 4) {
    throw new Error('Unexpected reply from the rate-limit script');
  }
  const values = reply as unknown[];
  const records: ThrottlerStorageRecord[] = [];
  for (let i = 0; i < count; i++) {
    const [totalHits, timeToExpire, isBlocked, timeToBlockExpire] = values.slice(4 * i, 4 * i + 4);
    if (
      typeof totalHits !== 'number' ||
      typeof timeToExpire !== 'number' ||
      typeof isBlocked !== 'number' ||
      typeof timeToBlockExpire !== 'number'
    ) {
      throw new Error('Unexpected reply from the rate-limit script');
    }
    records.push({ totalHits, timeToExpire, isBlocked: isBlocked === 1, timeToBlockExpire });
  }
  return records;
}
