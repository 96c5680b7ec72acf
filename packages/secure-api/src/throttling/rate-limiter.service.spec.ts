import { resolveOptions } from '../secure-api.options.js';
import { RateLimiter } from './rate-limiter.service.js';

describe('RateLimiter', () => {
  it('counts in a ThrottlerStorage that has a redis member of its own', async () => {
    const calls: string[] = [];
    // @nest-lab/throttler-storage-redis's service keeps its client as `redis`.
    const storage = {
      redis: { status: 'ready' },
      increment: (key: string) => {
        calls.push(key);
        return Promise.resolve({
          totalHits: 1,
          timeToExpire: 60,
          isBlocked: false,
          timeToBlockExpire: 0,
        });
      },
    };
    const limiter = new RateLimiter(
      resolveOptions({
        auth: { issuer: 'https://id.example.com', audience: 'https://api.example.com' },
        throttle: { tiers: [{ name: 'ip', by: 'ip', limit: 5, ttl: 60_000 }], storage },
      }),
    );
    const check = {
      key: 'ip:203.0.113.7',
      ttl: 60_000,
      limit: 5,
      blockDuration: 60_000,
      throttlerName: 'ip',
    };
    const decision = await limiter.check({ headers: {} }, [check], undefined);
    expect(decision.refused).toBeUndefined();
    expect(calls).toEqual(['ip:203.0.113.7']);
    await limiter.onApplicationShutdown();
  });

  describe('storeStatus', () => {
    const auth = { issuer: 'https://id.example.com', audience: 'https://api.example.com' };
    const tiers = [{ name: 'ip', by: 'ip', limit: 5, ttl: 60_000 }];

    it('is none without throttling, memory when counting in memory', async () => {
      expect(new RateLimiter(resolveOptions({ auth })).storeStatus()).toEqual({
        store: 'none',
        ready: true,
      });
      const memory = new RateLimiter(resolveOptions({ auth, throttle: { tiers } }));
      expect(memory.storeStatus()).toEqual({ store: 'memory', ready: true });
      await memory.onApplicationShutdown();
    });

    it('reports a Redis that does not answer as not ready', async () => {
      // Nothing listens on port 1 of loopback: the client never becomes ready.
      const redis = new RateLimiter(
        resolveOptions({
          auth,
          throttle: { tiers, storage: { redis: { url: 'redis://127.0.0.1:1' } } },
        }),
      );
      expect(redis.storeStatus()).toEqual({ store: 'redis', ready: false });
      await redis.onApplicationShutdown();
    });
  });

  describe('clientBucket', () => {
    const auth = { issuer: 'https://id.example.com', audience: 'https://api.example.com' };
    const request = (remoteAddress: string) => ({ headers: {}, socket: { remoteAddress } });

    it('gives an address the same bucket on every request, past the bound of its memo', async () => {
      const limiter = new RateLimiter(
        resolveOptions({ auth, throttle: { tiers: [{ name: 'ip', by: 'ip', limit: 5, ttl: 1 }] } }),
      );
      // More distinct addresses than the memo holds (4 096): it starts over, and still answers
      // what the address is, not what a previous generation held.
      const seen = new Map<string, string>();
      for (let index = 0; index < 5_000; index += 1) {
        const address = `2001:db8:${(index % 7).toString(16)}:${index.toString(16)}::${index.toString(16)}`;
        const bucket = limiter.clientBucket(request(address));
        seen.set(address, bucket);
      }
      for (const [address, bucket] of seen) {
        expect(limiter.clientBucket(request(address))).toBe(bucket);
      }
      expect(limiter.clientBucket(request('2001:db8:0:5::1'))).toBe('2001:db8:0:5::/64');
      expect(limiter.clientBucket(request('2001:db8:0:5:ffff::2'))).toBe('2001:db8:0:5::/64');
      expect(limiter.clientBucket(request('::ffff:203.0.113.7'))).toBe('203.0.113.7');
      await limiter.onApplicationShutdown();
    });
  });
});
