import { type OnApplicationShutdown } from '@nestjs/common';
import { type ThrottlerStorage } from '@nestjs/throttler';
import { SecureApiError } from '../errors/secure-api.error.js';
import { SecureApiErrorCode } from '../errors/secure-api-error-code.js';

/**
 * What `ThrottlerStorage.increment()` resolves to: `{ totalHits, timeToExpire, isBlocked,
 * timeToBlockExpire }`, the two times in seconds. `@nestjs/throttler` does not export the type
 * from its index, hence derived here rather than deep-imported from its `dist/`.
 */
export type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/** Options of {@link MemoryThrottlerStorage}. */
export interface MemoryThrottlerStorageOptions {
  /**
   * Most keys held at once. When a new key would exceed it, the least recently hit key is
   * forgotten (its hits and any block with it), so a flood of unique trackers costs bounded
   * memory instead of growing without end.
   *
   * @default 50_000
   */
  maxKeys?: number;
  /**
   * The clock, in epoch milliseconds. Injectable for tests.
   *
   * @default () => Date.now()
   */
  now?: () => number;
}

/** The sorted expiry times of one key's live hits, as a queue with a moving head. */
class HitLog {
  private times: number[] = [];
  private head = 0;

  get count(): number {
    return this.times.length - this.head;
  }

  /** Expiry of the oldest live hit; only meaningful when `count > 0`. */
  get earliest(): number {
    return this.times[this.head] ?? 0;
  }

  /** Drops hits whose expiry is not after `now` (the stock storage keeps `expiresAt > now`). */
  prune(now: number): void {
    const times = this.times;
    let head = this.head;
    while (head < times.length && (times[head] ?? 0) <= now) head++;
    if (head === times.length) {
      this.clear();
      return;
    }
    // Compacting only once the dead prefix is half the array keeps each hit's cost O(1) amortised.
    if (head >= 1024 && head * 2 >= times.length) {
      this.times = times.slice(head);
      this.head = 0;
    } else {
      this.head = head;
    }
  }

  add(expiresAt: number): void {
    const times = this.times;
    const last = times[times.length - 1];
    if (last === undefined || expiresAt >= last) {
      times.push(expiresAt);
      return;
    }
    // Only when a key's ttl shrank between calls (a resolvable ttl): keep the log sorted.
    let lo = this.head;
    let hi = times.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((times[mid] ?? 0) <= expiresAt) lo = mid + 1;
      else hi = mid;
    }
    times.splice(lo, 0, expiresAt);
  }

  clear(): void {
    this.times = [];
    this.head = 0;
  }
}

interface KeyState {
  readonly hits: HitLog;
  /** End of the current reporting window (`timeToExpire`), epoch ms. */
  expiresAt: number;
  /** End of the current block, epoch ms; 0 when never blocked. */
  blockExpiresAt: number;
  isBlocked: boolean;
  /** The storage's hit count when the key was last moved to the back of the eviction order. */
  movedAt: number;
}

const DEFAULT_MAX_KEYS = 50_000;

/**
 * A drop-in `ThrottlerStorage` for `@nestjs/throttler` that keeps its records in process, with
 * the stock `ThrottlerStorageService`'s semantics and none of its costs:
 *
 * - no timer per hit and no sweep: a hit's expiry is a timestamp, checked lazily on the key's
 *   next hit (nestjs/throttler#2629, #2665);
 * - O(1) amortised work per hit (the stock storage filters the key's whole hit list on every
 *   hit, so a hot key with 10 000 hits in its window costs 10 000 comparisons per request);
 * - at most `maxKeys` keys, least recently hit evicted first: a key hit again is moved to the
 *   back of the eviction order once at least `maxKeys / 2` hits of the storage have passed since
 *   it was last moved, so a key hit at least once in every `maxKeys / 2` hits is never evicted,
 *   and the tiers of one request, hit in turn, do not move their keys on every hit. A key holds
 *   at most `limit + 1` hit timestamps, because hits refused while over the limit are not
 *   recorded.
 *
 * Semantics, exactly as the stock storage: a key counts the hits of the last `ttl`
 * milliseconds, each expiring `ttl` after it was counted (a sliding log, not a fixed window);
 * `timeToExpire` reports a window that starts at the key's first hit and restarts at the first
 * hit after it ends. With `blockDuration > 0`, the hit that takes the count over `limit` blocks
 * the key for `blockDuration`; hits while blocked are refused and not counted; the first hit
 * after the block ends starts a fresh count at 1. With `blockDuration <= 0`, a hit is refused
 * (and not counted) while `limit` hits are live, and `timeToBlockExpire` is the time until the
 * oldest of them expires.
 *
 * Three deliberate differences, none visible through the stock guard with a limit of 1 or more:
 * - a record that is not blocked always has `timeToBlockExpire: 0` (the stock storage returns a
 *   meaningless negative number there on the blocking path; the stock guard reads it only when
 *   blocked);
 * - keys are kept per `(throttlerName, key)` (the stock storage shares the block state of a key
 *   between throttler names; the stock guard puts the throttler name into every key anyway);
 * - the first hit after a block is checked against the limit like any other, so `limit: 0`
 *   refuses every hit (the stock storage lets that hit through unless its 60 s sweep happened to
 *   drop the key first, which makes its answer depend on when the sweep ran).
 *
 * Single-threaded JavaScript and no `await` between reading and writing a key make concurrent
 * calls exact: 200 concurrent hits on a limit of 50 allow exactly 50.
 *
 * @example
 * ThrottlerModule.forRoot({
 *   throttlers: [{ ttl: 60_000, limit: 100 }],
 *   storage: new MemoryThrottlerStorage({ maxKeys: 100_000 }),
 * });
 */
export class MemoryThrottlerStorage implements ThrottlerStorage, OnApplicationShutdown {
  // A Map in insertion order is the LRU: re-inserting a key on each hit moves it to the end, and
  // the first key is the least recently hit. That is two O(1) Map operations per hit, with no
  // per-entry bookkeeping beyond the state itself (lru-cache would add its own node arrays
  // sized to `max` up front, 50 000 slots, whether or not they are ever used).
  private readonly keys = new Map<string, KeyState>();
  private readonly maxKeys: number;
  private readonly now: () => number;
  /** Hits so far (the clock of the eviction order); safe as a number for 2^53 hits. */
  private hitCount = 0;

  constructor(options: MemoryThrottlerStorageOptions = {}) {
    const { maxKeys = DEFAULT_MAX_KEYS, now = () => Date.now() } = options;
    if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) {
      throw new SecureApiError(
        SecureApiErrorCode.INVALID_OPTIONS,
        `"maxKeys" must be a positive integer, got ${String(maxKeys)}`,
      );
    }
    if (typeof now !== 'function') {
      throw new SecureApiError(
        SecureApiErrorCode.INVALID_OPTIONS,
        '"now" must be a function returning epoch milliseconds',
      );
    }
    this.maxKeys = maxKeys;
    this.now = now;
  }

  /** Number of keys held (one per throttler name and key). */
  get size(): number {
    return this.keys.size;
  }

  /**
   * Counts a hit on `key` for the throttler `throttlerName` and returns its record.
   *
   * @param ttl window length, milliseconds
   * @param blockDuration how long the key is refused once over `limit`, milliseconds; `<= 0`
   *   refuses only while `limit` hits are live
   * @returns the record, with `timeToExpire` and `timeToBlockExpire` in seconds
   */
  increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    return Promise.resolve(this.hit(key, ttl, limit, blockDuration, throttlerName));
  }

  /** {@link increment}, synchronously: for callers that decide several tiers in one go. */
  hit(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): ThrottlerStorageRecord {
    const now = this.now();
    const state = this.touch(`${throttlerName.length}:${throttlerName}:${key}`, now, ttl);
    const { hits } = state;
    hits.prune(now);

    let timeToExpire = Math.ceil((state.expiresAt - now) / 1000);
    if (timeToExpire <= 0) {
      state.expiresAt = now + ttl;
      timeToExpire = Math.ceil(ttl / 1000);
    }

    if (blockDuration <= 0) {
      const isBlocked = hits.count >= limit;
      if (!isBlocked) {
        hits.add(now + ttl);
        return { totalHits: hits.count, timeToExpire, isBlocked, timeToBlockExpire: 0 };
      }
      return {
        totalHits: hits.count + 1,
        timeToExpire,
        isBlocked,
        timeToBlockExpire: hits.count > 0 ? Math.ceil((hits.earliest - now) / 1000) : timeToExpire,
      };
    }

    if (state.isBlocked && now >= state.blockExpiresAt) {
      // The first hit after a block counts from zero and, unlike the stock storage before its
      // sweep has dropped the key, is checked against the limit: with `limit: 0` it blocks again.
      state.isBlocked = false;
      hits.clear();
    }
    if (!state.isBlocked) {
      hits.add(now + ttl);
      if (hits.count > limit) {
        state.isBlocked = true;
        state.blockExpiresAt = now + blockDuration;
      }
    }
    return {
      totalHits: hits.count,
      timeToExpire,
      isBlocked: state.isBlocked,
      timeToBlockExpire: state.isBlocked ? Math.ceil((state.blockExpiresAt - now) / 1000) : 0,
    };
  }

  /** Forgets every key. */
  clear(): void {
    this.keys.clear();
  }

  /** Forgets every key when the application shuts down. */
  onApplicationShutdown(): void {
    this.clear();
  }

  /** The key's state, created if new, and marked most recently used. */
  private touch(mapKey: string, now: number, ttl: number): KeyState {
    const count = ++this.hitCount;
    let state = this.keys.get(mapKey);
    if (state === undefined) {
      state = {
        hits: new HitLog(),
        expiresAt: now + ttl,
        blockExpiresAt: 0,
        isBlocked: false,
        movedAt: count,
      };
      if (this.keys.size >= this.maxKeys) {
        const oldest = this.keys.keys().next();
        if (oldest.done !== true) this.keys.delete(oldest.value);
      }
      this.keys.set(mapKey, state);
    } else if (count - state.movedAt >= this.maxKeys / 2) {
      // Since the key was last moved, fewer than maxKeys / 2 keys can have been added or moved
      // behind it (one per hit), so in a full map about half of them are still ahead of it and
      // must be evicted first. Moving it only past that spares a Map delete and insert on
      // nearly every hit of a hot key.
      this.keys.delete(mapKey);
      this.keys.set(mapKey, state);
      state.movedAt = count;
    }
    return state;
  }
}
