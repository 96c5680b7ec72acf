import { SkipThrottle, Throttle } from '@nestjs/throttler';
import { SecureApiError } from '../errors/secure-api.error.js';
import { SecureApiErrorCode } from '../errors/secure-api-error-code.js';
import { resolveThrottleOptions } from './throttle-options.js';
import { THROTTLER_METADATA } from './throttler.guard.js';

const IP = { name: 'ip', by: 'ip', limit: 300, ttl: 60_000 };

function refusal(options: unknown): string {
  try {
    resolveThrottleOptions(options);
  } catch (error) {
    if (error instanceof SecureApiError) {
      expect(error.code).toBe(SecureApiErrorCode.INVALID_OPTIONS);
      return error.message;
    }
    throw error;
  }
  throw new Error('the options were accepted');
}

describe('resolveThrottleOptions', () => {
  it('is off when absent or false', () => {
    expect(resolveThrottleOptions(undefined)).toBe(false);
    expect(resolveThrottleOptions(false)).toBe(false);
  });

  it('applies the defaults: memory, fallback-memory, headers, blockDuration = ttl', () => {
    const resolved = resolveThrottleOptions({ tiers: [IP] });
    expect(resolved).toMatchObject({
      tiers: [{ ...IP, blockDuration: 60_000 }],
      storage: 'memory',
      onStoreError: 'fallback-memory',
      authFailures: { limit: 20, ttl: 60_000, blockDuration: 300_000 },
      headers: true,
    });
    expect(Object.isFrozen(resolved)).toBe(true);
  });

  it('keeps a Redis storage with its defaults', () => {
    const resolved = resolveThrottleOptions({
      tiers: [IP],
      storage: { redis: { url: 'redis://127.0.0.1:6379' } },
    });
    expect(resolved && resolved.storage).toEqual({
      redis: { url: 'redis://127.0.0.1:6379', keyPrefix: 'rl:', commandTimeoutMs: 100 },
    });
  });

  it('keeps a Redis Cluster storage, its node URLs in order', () => {
    const cluster = ['redis://10.0.0.1:7000', 'redis://10.0.0.2:7000'];
    const resolved = resolveThrottleOptions({
      tiers: [IP],
      storage: { redis: { cluster, keyPrefix: 'api:' } },
    });
    expect(resolved && resolved.storage).toEqual({
      redis: { cluster, keyPrefix: 'api:', commandTimeoutMs: 100 },
    });
  });

  it('takes a ThrottlerStorage that has a redis member of its own as the storage', () => {
    // @nest-lab/throttler-storage-redis's service keeps its client as `redis`.
    const storage = {
      redis: { status: 'ready' },
      increment: () =>
        Promise.resolve({ totalHits: 1, timeToExpire: 60, isBlocked: false, timeToBlockExpire: 0 }),
    };
    const resolved = resolveThrottleOptions({ tiers: [IP], storage });
    expect(resolved && resolved.storage).toBe(storage);
  });

  it.each([
    [{}, '"throttle.tiers"'],
    [{ tiers: [] }, '"throttle.tiers"'],
    [{ tiers: [{ ...IP, by: 'user' }] }, '"throttle.tiers[0].by"'],
    [{ tiers: [{ ...IP, limit: 0 }] }, '"throttle.tiers[0].limit"'],
    [{ tiers: [{ ...IP, ttl: undefined }] }, '"throttle.tiers[0].ttl"'],
    [{ tiers: [IP, IP] }, '"throttle.tiers[1].name"'],
    [{ tiers: [{ ...IP, name: 'a"b' }] }, '"throttle.tiers[0].name"'],
    [{ tiers: [{ ...IP, burst: 1 }] }, '"throttle.tiers[0].burst"'],
    [{ tiers: [IP], storage: { redis: { url: 'http://x' } } }, '"throttle.storage.redis.url"'],
    [{ tiers: [IP], storage: { redis: {} } }, '"throttle.storage.redis"'],
    [
      { tiers: [IP], storage: { redis: { url: 'redis://a', cluster: ['redis://b'] } } },
      '"throttle.storage.redis"',
    ],
    [{ tiers: [IP], storage: { redis: { cluster: [] } } }, '"throttle.storage.redis.cluster"'],
    [
      { tiers: [IP], storage: { redis: { cluster: ['redis://a:7000', 'http://b'] } } },
      '"throttle.storage.redis.cluster[1]"',
    ],
    [{ tiers: [IP], storage: 'disk' }, '"throttle.storage"'],
    [{ tiers: [IP], onStoreError: 'ignore' }, '"throttle.onStoreError"'],
    [{ tiers: [IP], trustProxy: true }, '"throttle.trustProxy"'],
    [{ tiers: [IP], trustProxy: ['not-an-ip'] }, '"throttle.trustProxy"'],
    [{ tiers: [IP], apiKeys: [{ id: 'a', sha256: 'short' }] }, '"throttle.apiKeys"'],
    [{ tiers: [IP], authFailures: { limit: -1 } }, '"throttle.authFailures.limit"'],
    [{ tiers: [IP], tier: [] }, '"throttle.tier"'],
  ])('refuses %j, naming %s', (options, path) => {
    expect(refusal(options)).toContain(path);
  });
});

describe('THROTTLER_METADATA', () => {
  it("names the keys @nestjs/throttler's @Throttle() and @SkipThrottle() write", () => {
    class Target {
      handler(): void {}
    }
    const descriptor = Object.getOwnPropertyDescriptor(Target.prototype, 'handler');
    if (descriptor === undefined) throw new Error('no handler');
    Throttle({ login: { limit: 5, ttl: 60_000, blockDuration: 1_000 } })(
      Target.prototype,
      'handler',
      descriptor,
    );
    SkipThrottle({ global: true })(Target.prototype, 'handler', descriptor);
    const read = (key: string): unknown => Reflect.getMetadata(key, Target.prototype.handler);
    expect(read(`${THROTTLER_METADATA.limit}login`)).toBe(5);
    expect(read(`${THROTTLER_METADATA.ttl}login`)).toBe(60_000);
    expect(read(`${THROTTLER_METADATA.blockDuration}login`)).toBe(1_000);
    expect(read(`${THROTTLER_METADATA.skip}global`)).toBe(true);
  });
});
