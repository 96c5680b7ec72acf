import { Agent, get as httpGet } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import {
  hashApiKey,
  SecureApiErrorCode,
  type ThrottleOptions,
  type ThrottleTier,
} from '@secure-api/nestjs';
import {
  ADAPTERS,
  fakeDateOnly,
  httpRequest,
  type HttpResponse,
  type RedisCluster,
  type RedisServer,
  startRedisCluster,
  startRedisServer,
} from '@secure-api/testing';
import { ThrottleFixture } from './fixtures/throttle-app.fixture.js';
import { expectProblem } from './fixtures/problem.fixture.js';
import { appsPerTest } from './fixtures/apps-per-test.fixture.js';

// A real Redis cannot run on fake timers: where its windows must pass, they are 300 ms and the
// wait keeps 200 ms from the expiry. Every app gets a key prefix of its own; nothing is flushed.
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const RUN = `rl-throttling-e2e:${process.pid}:${Date.now()}`;
let prefixes = 0;
function keyPrefix(): string {
  prefixes += 1;
  return `${RUN}:${prefixes}:`;
}

const RATE_LIMITED = SecureApiErrorCode.RATE_LIMITED;
const MINUTE = 60_000;
const KEY_A = 'sk_test_partnerA_3b7e91c0d4f2a658';
const KEY_B = 'sk_test_partnerB_c81f02e7a9d35b46';
const UNKNOWN_KEY = 'sk_test_nobody_5e0a7c2d91b3f846';

function ipTier(limit: number, ttl = MINUTE): ThrottleTier {
  return { name: 'ip', by: 'ip', limit, ttl };
}

function redisStorage(prefix = keyPrefix(), url = REDIS_URL): ThrottleOptions['storage'] {
  // A generous deadline: a timed-out command would count elsewhere and skew exact counts.
  return { redis: { url, keyPrefix: prefix, commandTimeoutMs: 2000 } };
}

/** The bucket that {@link waitForStore} probes, apart from every bucket a test counts in. */
const PROBE = { 'x-forwarded-for': '192.0.2.254' };
/** The one client address of a test behind `trustProxy: 1`. */
const CLIENT = { 'x-forwarded-for': '203.0.113.50' };

/**
 * Waits until a fail-closed app's Redis client is connected: the app listens before it is,
 * and a request in between is refused with 503 (see the report of this suite). Needs
 * `trustProxy: 1`, so that the probes count in a bucket of their own.
 */
async function waitForStore(url: string): Promise<void> {
  const deadline = Date.now() + 3000;
  for (;;) {
    const { status } = await httpRequest(`${url}/throttle/public`, { headers: PROBE });
    if (status !== 503) return;
    if (Date.now() > deadline) throw new Error(`Redis not ready for ${url} within 3 s`);
    await delay(20);
  }
}

/** How many responses had each status. */
function tally(responses: readonly HttpResponse[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const { status } of responses) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}

/** The 429 contract: problem+json, `Retry-After` in whole seconds, the tier in the fields. */
function expectRateLimited(
  response: HttpResponse,
  tier: string,
  policy: { limit: number; windowSeconds: number },
): void {
  expectProblem(response, 429, RATE_LIMITED);
  expect(response.headers['retry-after']).toMatch(/^[1-9]\d*$/);
  expect(response.headers['ratelimit-policy']).toContain(
    `"${tier}";q=${policy.limit};w=${policy.windowSeconds}`,
  );
  expect(response.headers.ratelimit).toMatch(new RegExp(`^"${tier}";r=0;t=\\d+$`));
}

describe.each(ADAPTERS)('throttling on %s', (adapter) => {
  const apps = appsPerTest(adapter, (options) => ThrottleFixture.with(options));
  const boot = async (throttle: ThrottleOptions): Promise<string> =>
    (await apps.boot({ throttle })).url;

  afterEach(() => {
    jest.useRealTimers();
  });

  const get = (
    url: string,
    path = '/throttle/public',
    headers: Record<string, string> = {},
  ): Promise<HttpResponse> => httpRequest(`${url}${path}`, { headers, timeoutMs: 10_000 });

  async function inSequence(
    count: number,
    send: (index: number) => Promise<HttpResponse>,
  ): Promise<HttpResponse[]> {
    const responses: HttpResponse[] = [];
    for (let index = 0; index < count; index += 1) responses.push(await send(index));
    return responses;
  }

  const statuses = (responses: readonly HttpResponse[]): number[] =>
    responses.map((response) => response.status);

  describe('concurrent requests against the ip tier', () => {
    it.each([
      ['memory', (): ThrottleOptions['storage'] => 'memory'],
      ['Redis', (): ThrottleOptions['storage'] => redisStorage()],
    ])('lets exactly 50 of 200 through with %s storage', async (_name, storage) => {
      const url = await boot({
        tiers: [ipTier(50)],
        storage: storage(),
        onStoreError: 'fail-closed',
        trustProxy: 1,
      });
      await waitForStore(url);
      const responses = await Promise.all(
        Array.from({ length: 200 }, () => get(url, '/throttle/public', CLIENT)),
      );
      expect(tally(responses)).toEqual({ 200: 50, 429: 150 });
      for (const response of responses.filter(({ status }) => status === 429)) {
        expectRateLimited(response, 'ip', { limit: 50, windowSeconds: 60 });
      }
    });

    it('holds the limit across two instances sharing one Redis', async () => {
      const prefix = keyPrefix();
      const options: ThrottleOptions = {
        tiers: [ipTier(30)],
        storage: redisStorage(prefix),
        onStoreError: 'fail-closed',
        trustProxy: 1,
      };
      const urls = [await boot(options), await boot(options)];
      await Promise.all(urls.map(waitForStore));
      const responses = await Promise.all(
        Array.from({ length: 100 }, (_, index) =>
          get(urls[index % 2] ?? '', '/throttle/public', CLIENT),
        ),
      );
      expect(tally(responses)).toEqual({ 200: 30, 429: 70 });
      // Both instances refused some: the count really is shared, not one instance's alone.
      const refusedBy = (index: number): number =>
        responses.filter((response, i) => i % 2 === index && response.status === 429).length;
      expect(refusedBy(0)).toBeGreaterThan(0);
      expect(refusedBy(1)).toBeGreaterThan(0);
    });
  });

  describe('client address', () => {
    it('ignores X-Forwarded-For with trustProxy: false', async () => {
      const url = await boot({ tiers: [ipTier(3)], trustProxy: false });
      const responses = await inSequence(5, (i) =>
        get(url, '/throttle/public', { 'x-forwarded-for': `198.51.100.${i + 1}` }),
      );
      expect(statuses(responses)).toEqual([200, 200, 200, 429, 429]);
    });

    it('uses the right-most hop with trustProxy: 1 and ignores what is left of it', async () => {
      const url = await boot({ tiers: [ipTier(3)], trustProxy: 1 });
      const spoofed = await inSequence(5, (i) =>
        get(url, '/throttle/public', { 'x-forwarded-for': `10.0.0.${i + 1}, 203.0.113.9` }),
      );
      expect(statuses(spoofed)).toEqual([200, 200, 200, 429, 429]);
      const distinct = await inSequence(5, (i) =>
        get(url, '/throttle/public', { 'x-forwarded-for': `203.0.113.9, 198.51.100.${i + 1}` }),
      );
      expect(statuses(distinct)).toEqual([200, 200, 200, 200, 200]);
    });

    it('counts 1,000 addresses of one IPv6 /64 in one bucket', async () => {
      const url = await boot({ tiers: [ipTier(10)], trustProxy: 1 });
      const responses: HttpResponse[] = [];
      for (let batch = 0; batch < 10; batch += 1) {
        responses.push(
          ...(await Promise.all(
            Array.from({ length: 100 }, (_, i) =>
              get(url, '/throttle/public', {
                'x-forwarded-for': `2001:db8:7:9:${(batch * 100 + i).toString(16)}:ab:cd:1`,
              }),
            ),
          )),
        );
      }
      expect(tally(responses)).toEqual({ 200: 10, 429: 990 });
      const other = await get(url, '/throttle/public', { 'x-forwarded-for': '2001:db8:7:a::1' });
      expect(other.status).toBe(200);
    });
  });

  describe('global and principal tiers', () => {
    it('refuses across client addresses with the global tier', async () => {
      const url = await boot({
        tiers: [{ name: 'global', by: 'global', limit: 3, ttl: MINUTE }],
        trustProxy: 1,
      });
      const responses = await inSequence(5, (i) =>
        get(url, '/throttle/public', { 'x-forwarded-for': `198.51.100.${i + 1}` }),
      );
      expect(statuses(responses)).toEqual([200, 200, 200, 429, 429]);
      expectRateLimited(responses[3] as HttpResponse, 'global', { limit: 3, windowSeconds: 60 });
    });

    it('counts the principal tier per token subject', async () => {
      const url = await boot({
        tiers: [{ name: 'principal', by: 'principal', limit: 2, ttl: MINUTE }],
      });
      const as = (subject: string): Record<string, string> => ({
        authorization: `Bearer ${apps.issuer().mint({ scope: 'items.read', subject })}`,
      });
      const alice = await inSequence(3, () => get(url, '/throttle/items', as('alice')));
      expect(statuses(alice)).toEqual([200, 200, 429]);
      expectRateLimited(alice[2] as HttpResponse, 'principal', { limit: 2, windowSeconds: 60 });
      const bob = await inSequence(2, () => get(url, '/throttle/items', as('bob')));
      expect(statuses(bob)).toEqual([200, 200]);
    });

    it('counts a public route per configured API key', async () => {
      const url = await boot({
        tiers: [{ name: 'principal', by: 'principal', limit: 2, ttl: MINUTE }],
        apiKeys: [
          { id: 'partner-a', sha256: hashApiKey(KEY_A) },
          { id: 'partner-b', sha256: hashApiKey(KEY_B) },
        ],
      });
      const withKey = (key: string) => () => get(url, '/throttle/public', { 'x-api-key': key });
      const a = await inSequence(3, withKey(KEY_A));
      expect(statuses(a)).toEqual([200, 200, 429]);
      expectRateLimited(a[2] as HttpResponse, 'principal', { limit: 2, windowSeconds: 60 });
      expect(statuses(await inSequence(2, withKey(KEY_B)))).toEqual([200, 200]);
      // Without a key, the public route is not in the principal tier.
      expect(statuses(await inSequence(3, () => get(url)))).toEqual([200, 200, 200]);
    });

    it('answers each API key on a keep-alive connection by what it is, not by the key before it', async () => {
      const url = await boot({
        tiers: [{ name: 'principal', by: 'principal', limit: 5, ttl: MINUTE }],
        apiKeys: [
          { id: 'partner-a', sha256: hashApiKey(KEY_A) },
          { id: 'partner-b', sha256: hashApiKey(KEY_B) },
        ],
      });
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const send = (key: string): Promise<{ status: number; reused: boolean; limit: string }> =>
        new Promise((resolve, reject) => {
          const request = httpGet(
            `${url}/throttle/public`,
            { agent, headers: { 'x-api-key': key } },
            (response) => {
              response.resume();
              response.on('end', () =>
                resolve({
                  status: response.statusCode ?? 0,
                  reused: request.reusedSocket,
                  limit: String(response.headers.ratelimit ?? ''),
                }),
              );
            },
          );
          request.on('error', reject);
        });
      try {
        const answers = [];
        for (const key of [KEY_A, UNKNOWN_KEY, KEY_B, KEY_A, KEY_A]) answers.push(await send(key));
        expect(answers.map(({ status }) => status)).toEqual([200, 401, 200, 200, 200]);
        expect(answers.slice(1).every(({ reused }) => reused)).toBe(true);
        // partner-a's own count goes on (4, 3, 2 left), untouched by partner-b's request.
        expect(answers[0]?.limit).toMatch(/^"principal";r=4;/);
        expect(answers[2]?.limit).toMatch(/^"principal";r=4;/);
        expect(answers[4]?.limit).toMatch(/^"principal";r=2;/);
      } finally {
        agent.destroy();
      }
    });

    it('refuses an unknown API key with 401 and never echoes it', async () => {
      const url = await boot({
        tiers: [{ name: 'principal', by: 'principal', limit: 2, ttl: MINUTE }],
        apiKeys: [{ id: 'partner-a', sha256: hashApiKey(KEY_A) }],
      });
      const response = await get(url, '/throttle/public', { 'x-api-key': UNKNOWN_KEY });
      expectProblem(response, 401, SecureApiErrorCode.API_KEY_INVALID, {
        secrets: [UNKNOWN_KEY, UNKNOWN_KEY.slice(0, 12)],
      });
    });
  });

  describe('before authentication', () => {
    it('refuses a flood of bad tokens with 429 once the ip limit is reached', async () => {
      const url = await boot({ tiers: [ipTier(3)], authFailures: false });
      const responses = await inSequence(6, () =>
        get(url, '/throttle/items', { authorization: 'Bearer not.a.token' }),
      );
      expect(statuses(responses)).toEqual([401, 401, 401, 429, 429, 429]);
      expectRateLimited(responses[3] as HttpResponse, 'ip', { limit: 3, windowSeconds: 60 });
    });

    // "Past `limit` refusals" (AuthFailureOptions): with limit 3 the 4th refused token blocks.
    it('blocks an address past 3 refused tokens, valid token or not, but not on public routes', async () => {
      const url = await boot({
        tiers: [ipTier(100)],
        authFailures: { limit: 3, ttl: MINUTE, blockDuration: MINUTE },
      });
      const badToken = (): Promise<HttpResponse> =>
        get(url, '/throttle/items', { authorization: 'Bearer not.a.token' });
      const validToken = (): Promise<HttpResponse> =>
        get(url, '/throttle/items', {
          authorization: `Bearer ${apps.issuer().mint({ scope: 'items.read' })}`,
        });
      expect(statuses(await inSequence(3, badToken))).toEqual([401, 401, 401]);
      expect((await validToken()).status).toBe(200);
      expect((await badToken()).status).toBe(401);
      const blocked = await validToken();
      expectProblem(blocked, 429, RATE_LIMITED);
      expect(blocked.headers['retry-after']).toMatch(/^[1-9]\d*$/);
      expect((await get(url)).status).toBe(200);
    });
  });

  describe('route decorators and headers', () => {
    it('refuses the 6th login within a minute', async () => {
      const url = await boot({ tiers: [ipTier(100)] });
      const responses = await inSequence(6, () =>
        httpRequest(`${url}/throttle/login`, { method: 'POST' }),
      );
      expect(statuses(responses)).toEqual([200, 200, 200, 200, 200, 429]);
      expectRateLimited(responses[5] as HttpResponse, 'ip', { limit: 5, windowSeconds: 60 });
      // The login bucket is the route's own: the address's other requests still pass.
      expect((await get(url)).status).toBe(200);
    });

    it('never limits a @SkipThrottle({ ip: true }) route by the ip tier', async () => {
      const url = await boot({ tiers: [ipTier(2)] });
      const skipped = await inSequence(6, () => get(url, '/throttle/unlimited'));
      expect(statuses(skipped)).toEqual([200, 200, 200, 200, 200, 200]);
      expect(skipped[0]?.headers.ratelimit).toBeUndefined();
      expect(statuses(await inSequence(3, () => get(url)))).toEqual([200, 200, 429]);
    });

    it('sends RateLimit headers by default', async () => {
      const url = await boot({ tiers: [ipTier(2)] });
      const response = await get(url);
      expect(response.status).toBe(200);
      expect(response.headers['ratelimit-policy']).toBe('"ip";q=2;w=60');
      expect(response.headers.ratelimit).toMatch(/^"ip";r=1;t=\d+$/);
    });

    it('sends Retry-After but no RateLimit headers with headers: false', async () => {
      const url = await boot({ tiers: [ipTier(1)], headers: false });
      const [ok, refused] = await inSequence(2, () => get(url));
      expect(ok?.status).toBe(200);
      expect(ok?.headers['ratelimit-policy']).toBeUndefined();
      expect(ok?.headers.ratelimit).toBeUndefined();
      const response = refused as HttpResponse;
      expectProblem(response, 429, RATE_LIMITED);
      expect(response.headers['retry-after']).toMatch(/^[1-9]\d*$/);
      expect(response.headers['ratelimit-policy']).toBeUndefined();
      expect(response.headers.ratelimit).toBeUndefined();
    });
  });

  describe('after the window', () => {
    it('lets the client through again with memory storage (clock moved, no wait)', async () => {
      jest.useFakeTimers(fakeDateOnly());
      jest.setSystemTime(Date.UTC(2030, 0, 1));
      const url = await boot({ tiers: [ipTier(2)] });
      const refused = await inSequence(3, () => get(url));
      expect(statuses(refused)).toEqual([200, 200, 429]);
      expect(refused[2]?.headers['retry-after']).toBe('60');
      jest.setSystemTime(Date.now() + MINUTE - 1000);
      expect((await get(url)).status).toBe(429);
      jest.setSystemTime(Date.now() + 1001);
      expect((await get(url)).status).toBe(200);
    });

    it('lets the client through again with Redis storage', async () => {
      const url = await boot({
        tiers: [ipTier(2, 300)],
        storage: redisStorage(),
        onStoreError: 'fail-closed',
        trustProxy: 1,
      });
      await waitForStore(url);
      const refused = await inSequence(3, () => get(url, '/throttle/public', CLIENT));
      expect(statuses(refused)).toEqual([200, 200, 429]);
      expect(refused[2]?.headers['retry-after']).toBe('1');
      await delay(500);
      expect((await get(url, '/throttle/public', CLIENT)).status).toBe(200);
    });
  });

  describe('Redis outage', () => {
    let redis: RedisServer | undefined;

    afterEach(async () => {
      await redis?.stop();
      redis = undefined;
    });

    async function bootOnOwnRedis(
      onStoreError: ThrottleOptions['onStoreError'],
      limit = 100,
    ): Promise<string> {
      redis = await startRedisServer();
      return boot({
        tiers: [ipTier(limit)],
        storage: { redis: { url: redis.url, keyPrefix: keyPrefix(), commandTimeoutMs: 100 } },
        onStoreError,
        trustProxy: 1,
      });
    }

    it("answers 503 within 1 s with 'fail-closed', and works again once Redis is back", async () => {
      const url = await bootOnOwnRedis('fail-closed');
      await waitForStore(url);
      expect((await get(url)).status).toBe(200);
      await redis?.stop();
      const started = performance.now();
      const response = await get(url);
      expect(performance.now() - started).toBeLessThan(1000);
      expectProblem(response, 503, SecureApiErrorCode.RATE_LIMIT_STORE_UNAVAILABLE);
      expect(response.headers['retry-after']).toMatch(/^[1-9]\d*$/);
      await redis?.restart();
      const deadline = Date.now() + 5000;
      let status = 0;
      while (status !== 200 && Date.now() < deadline) {
        status = (await get(url)).status;
        if (status !== 200) await delay(100);
      }
      expect(status).toBe(200);
    });

    it("lets requests through with 'fail-open'", async () => {
      const url = await bootOnOwnRedis('fail-open', 1);
      // Until its client is connected the app fails open too; a 429 shows Redis counts.
      const deadline = Date.now() + 3000;
      let status = 0;
      while (status !== 429 && Date.now() < deadline) {
        status = (await get(url)).status;
        if (status !== 429) await delay(20);
      }
      expect(status).toBe(429);
      await redis?.stop();
      expect(statuses(await inSequence(3, () => get(url)))).toEqual([200, 200, 200]);
    });

    it("holds the limits locally with 'fallback-memory'", async () => {
      const url = await bootOnOwnRedis('fallback-memory', 2);
      await redis?.stop();
      const responses = await inSequence(3, () => get(url));
      expect(statuses(responses)).toEqual([200, 200, 429]);
      expectRateLimited(responses[2] as HttpResponse, 'ip', { limit: 2, windowSeconds: 60 });
    });
  });
  describe('on a Redis Cluster', () => {
    let cluster: RedisCluster;

    beforeAll(async () => {
      cluster = await startRedisCluster({ masters: 3 });
    });

    afterAll(async () => {
      await cluster.stop();
    });

    /** One client address per node: the node of its ip bucket's hash tag `{ip:ip:<address>}`. */
    const clientsByNode = (): string[] =>
      cluster.onEachNode(
        Array.from({ length: 254 }, (_, n) => `203.0.113.${n + 1}`),
        (address) => `{ip:ip:${address}}`,
      );

    const clusterStorage = (commandTimeoutMs: number): ThrottleOptions['storage'] => ({
      redis: { cluster: cluster.urls, keyPrefix: keyPrefix(), commandTimeoutMs },
    });

    it('holds each limit across two instances, whichever node holds the bucket', async () => {
      const options: ThrottleOptions = {
        tiers: [ipTier(10)],
        storage: clusterStorage(2000),
        onStoreError: 'fail-closed',
        trustProxy: 1,
      };
      const urls = [await boot(options), await boot(options)];
      await Promise.all(urls.map(waitForStore));
      const clients = clientsByNode();
      const responses = await Promise.all(
        clients.flatMap((address) =>
          Array.from({ length: 30 }, (_, index) =>
            get(urls[index % 2] ?? '', '/throttle/public', { 'x-forwarded-for': address }).then(
              (response) => ({ address, response }),
            ),
          ),
        ),
      );
      for (const address of clients) {
        const own = responses.filter((entry) => entry.address === address);
        expect(tally(own.map((entry) => entry.response))).toEqual({ 200: 10, 429: 20 });
      }
      const refused = responses.find((entry) => entry.response.status === 429);
      expectRateLimited(refused?.response as HttpResponse, 'ip', { limit: 10, windowSeconds: 60 });
    });

    it("answers 503 for the buckets of a stopped node with 'fail-closed', and counts the others", async () => {
      const url = await boot({
        tiers: [ipTier(100)],
        storage: clusterStorage(100),
        onStoreError: 'fail-closed',
        trustProxy: 1,
      });
      await waitForStore(url);
      const clients = clientsByNode();
      const down = cluster.nodeOf(`{ip:ip:${clients[0] as string}}`);
      const up = clients[1] as string;
      const node = cluster.nodes[down];
      await node?.stop();
      try {
        const started = performance.now();
        const refused = await get(url, '/throttle/public', { 'x-forwarded-for': clients[0] ?? '' });
        expect(performance.now() - started).toBeLessThan(1000);
        expectProblem(refused, 503, SecureApiErrorCode.RATE_LIMIT_STORE_UNAVAILABLE);
        expect(refused.headers['retry-after']).toMatch(/^[1-9]\d*$/);
        const counted = await get(url, '/throttle/public', { 'x-forwarded-for': up });
        expect(counted.status).toBe(200);
        // Counted in the cluster: the remaining quota went down by one per request.
        expect(counted.headers.ratelimit).toMatch(/^"ip";r=99;t=\d+$/);
      } finally {
        await node?.restart();
        await cluster.ready();
      }
      const deadline = Date.now() + 10_000;
      let status = 0;
      while (status !== 200 && Date.now() < deadline) {
        status = (await get(url, '/throttle/public', { 'x-forwarded-for': clients[0] ?? '' }))
          .status;
        if (status !== 200) await delay(100);
      }
      expect(status).toBe(200);
    });
  });
});
