import { performance } from 'node:perf_hooks';
import { Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import {
  createLogCapture,
  type LogCapture,
  type RedisCluster,
  type RedisServer,
  startRedisCluster,
  startRedisServer,
} from '@secure-api/testing';
import { Cluster, Redis } from 'ioredis';
import {
  MemoryThrottlerStorage,
  RedisThrottlerStorage,
  SecureApiErrorCode,
  type ThrottlerStorageRecord,
  type ThrottlerStoreErrorPolicy,
  ThrottlerStoreUnavailableError,
} from '@secure-api/nestjs';

// A real Redis cannot run on fake timers: where time must pass, windows are a few hundred ms
// and every wait keeps >= 50 ms from the nearest expiry, so loopback jitter cannot flip a record.
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `rl-e2e:${process.pid}:${Date.now()}:`;
const COMMAND_TIMEOUT_MS = 100;
// What an increment may take beyond commandTimeoutMs on a loaded test machine.
const MARGIN_MS = 150;

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await delay(20);
  }
}

async function timed<T>(
  fn: () => Promise<T>,
): Promise<{ ms: number; result: PromiseSettledResult<T> }> {
  const start = performance.now();
  const [result] = await Promise.allSettled([fn()]);
  return { ms: performance.now() - start, result: result as PromiseSettledResult<T> };
}

let unique = 0;
function key(label: string): string {
  unique += 1;
  return `${label}-${unique}`;
}

/** One step of a parity sequence: wait, then hit both storages. */
interface Step {
  readonly wait: number;
  readonly hits: number;
}

describe('RedisThrottlerStorage on a shared Redis', () => {
  let client: Redis;
  let storage: RedisThrottlerStorage;
  const sharedLogs = createLogCapture();

  beforeAll(async () => {
    client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0 });
    client.on('error', () => undefined);
    await client.connect();
    // A generous deadline: these tests are about the records, not about timeouts.
    storage = new RedisThrottlerStorage({
      client,
      keyPrefix: PREFIX,
      logger: sharedLogs,
      commandTimeoutMs: 2000,
    });
  });

  // Every record below must come from Redis: a silent fallback would make these tests vacuous.
  afterEach(() => {
    expect(sharedLogs.entries).toEqual([]);
  });

  afterAll(async () => {
    await storage.close();
    // Only this run's keys; they expire on their own anyway.
    let cursor = '0';
    for (let i = 0; i < 1000; i++) {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 1000);
      if (keys.length > 0) await client.del(...keys);
      cursor = next;
      if (cursor === '0') break;
    }
    await client.quit();
  });

  describe('parity with MemoryThrottlerStorage', () => {
    it.each<[string, number, number, number, Step[]]>([
      [
        'no block: hits expire one by one',
        400,
        3,
        0,
        [
          { wait: 0, hits: 2 },
          { wait: 200, hits: 2 },
          { wait: 250, hits: 3 },
          { wait: 450, hits: 1 },
        ],
      ],
      [
        'block shorter than the window, then a fresh count',
        500,
        2,
        300,
        [
          { wait: 0, hits: 4 },
          { wait: 150, hits: 1 },
          { wait: 200, hits: 3 },
        ],
      ],
      [
        'a pause longer than the block and the window: the state has expired, a fresh count',
        200,
        1,
        300,
        [
          { wait: 0, hits: 3 },
          { wait: 350, hits: 2 },
        ],
      ],
      [
        'block longer than the window',
        200,
        1,
        450,
        [
          { wait: 0, hits: 3 },
          { wait: 250, hits: 1 },
          { wait: 250, hits: 2 },
        ],
      ],
    ])('%s', async (_name, ttl, limit, blockDuration, steps) => {
      const memory = new MemoryThrottlerStorage();
      const k = key('parity');
      const expected: ThrottlerStorageRecord[] = [];
      const actual: ThrottlerStorageRecord[] = [];
      for (const { wait, hits } of steps) {
        await delay(wait);
        for (let i = 0; i < hits; i++) {
          expected.push(await memory.increment(k, ttl, limit, blockDuration, 'default'));
          actual.push(await storage.increment(k, ttl, limit, blockDuration, 'default'));
        }
      }
      expect(actual).toEqual(expected);
      expect(actual.some((r) => r.isBlocked)).toBe(true);
    });
  });

  describe('exactness', () => {
    it.each([0, 60_000])(
      '200 concurrent hits on limit 50 (blockDuration %d) allow exactly 50',
      async (blockDuration) => {
        const k = key('exact');
        const records = await Promise.all(
          Array.from({ length: 200 }, () =>
            storage.increment(k, 60_000, 50, blockDuration, 'default'),
          ),
        );
        const allowed = records.filter((r) => !r.isBlocked);
        expect(allowed).toHaveLength(50);
        expect(new Set(allowed.map((r) => r.totalHits))).toEqual(
          new Set(Array.from({ length: 50 }, (_, i) => i + 1)),
        );
      },
    );

    it('two instances with their own clients allow exactly the limit between them', async () => {
      const other = new Redis(REDIS_URL, { maxRetriesPerRequest: 0 });
      other.on('error', () => undefined);
      const second = new RedisThrottlerStorage({
        client: other,
        keyPrefix: PREFIX,
        logger: sharedLogs,
        commandTimeoutMs: 2000,
      });
      try {
        // Not ready yet, the second storage would answer from its fallback: not what is tested.
        await until(() => second.available, 3000);
        const k = key('shared');
        const records = await Promise.all(
          Array.from({ length: 200 }, (_, i) =>
            (i % 2 === 0 ? storage : second).increment(k, 60_000, 50, 60_000, 'default'),
          ),
        );
        expect(records.filter((r) => !r.isBlocked)).toHaveLength(50);
      } finally {
        await second.close();
        await other.quit();
      }
    });
  });

  it('gives the hits a TTL of ttl and the window state one of max(ttl, blockDuration)', async () => {
    const k = key('ttl');
    await storage.increment(k, 2000, 5, 30_000, 'tier');
    const base = `${PREFIX}{tier:${k}}`;
    const [state, hits] = await Promise.all([client.pttl(base), client.pttl(`${base}:h`)]);
    expect(state).toBeGreaterThan(29_000);
    expect(state).toBeLessThanOrEqual(30_000);
    expect(hits).toBeGreaterThan(1000);
    expect(hits).toBeLessThanOrEqual(2000);
  });

  it('decides several tiers in one round trip, and after a SCRIPT FLUSH still answers', async () => {
    const k = key('many');
    const tiers = [
      { key: k, ttl: 60_000, limit: 1, blockDuration: 0, throttlerName: 'short' },
      { key: k, ttl: 60_000, limit: 5, blockDuration: 0, throttlerName: 'long' },
      { key: 'global', ttl: 60_000, limit: 100, blockDuration: 0, throttlerName: `g-${k}` },
    ];
    await storage.incrementMany(tiers);
    const sendCommand = jest.spyOn(client, 'sendCommand');
    const records = await storage.incrementMany(tiers);
    expect(sendCommand).toHaveBeenCalledTimes(1);
    expect(records.map((r) => [r.totalHits, r.isBlocked])).toEqual([
      [2, true],
      [2, false],
      [2, false],
    ]);

    await client.script('FLUSH');
    sendCommand.mockClear();
    const afterFlush = await storage.incrementMany(tiers);
    // EVALSHA answered NOSCRIPT, ioredis sent EVAL: two commands, the hit counted once.
    expect(sendCommand).toHaveBeenCalledTimes(2);
    expect(afterFlush.map((r) => r.totalHits)).toEqual([2, 3, 3]);
  });

  it('writes the script calls of one turn of the event loop in one write, each with its own answer, also after a SCRIPT FLUSH', async () => {
    // The storage's own client (a url): it pipelines automatically; a given client does not.
    const own = new RedisThrottlerStorage({
      url: REDIS_URL,
      keyPrefix: PREFIX,
      logger: sharedLogs,
      commandTimeoutMs: 2000,
    });
    const write = jest.spyOn(Socket.prototype, 'write');
    try {
      await until(() => own.available, 3000);
      const keys = Array.from({ length: 40 }, () => key('burst'));
      const burst = () =>
        Promise.all(keys.map((k, index) => own.increment(k, 60_000, index + 1, 0, 'burst')));
      // Key i has the limit i + 1. A hit over the limit is counted and refused; once a key is
      // blocked its hits are not counted (as in the stock storage).
      const expected = (bursts: number) =>
        keys.map((_, index) => [Math.min(bursts, index + 2), bursts > index + 1]);
      await burst();
      write.mockClear();
      const records = await burst();
      expect(records.map((r) => [r.totalHits, r.isBlocked])).toEqual(expected(2));
      expect(write).toHaveBeenCalledTimes(1);

      await client.script('FLUSH');
      const afterFlush = await burst();
      expect(afterFlush.map((r) => [r.totalHits, r.isBlocked])).toEqual(expected(3));
      // The pipelined EVALSHAs answered NOSCRIPT and ioredis sent each again, on its own, as an
      // EVAL; the next burst is one write again.
      write.mockClear();
      const next = await burst();
      expect(next.map((r) => [r.totalHits, r.isBlocked])).toEqual(expected(4));
      expect(write).toHaveBeenCalledTimes(1);
    } finally {
      write.mockRestore();
      await own.close();
    }
  });
});

describe('RedisThrottlerStorage when its Redis goes away', () => {
  let redis: RedisServer;

  beforeAll(async () => {
    redis = await startRedisServer();
  });

  afterAll(async () => {
    await redis.stop();
  });

  function create(policy: ThrottlerStoreErrorPolicy, logs: LogCapture): RedisThrottlerStorage {
    return new RedisThrottlerStorage({
      url: redis.url,
      onStoreError: policy,
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
      logger: logs,
    });
  }

  const expectations: Record<
    ThrottlerStoreErrorPolicy,
    (results: PromiseSettledResult<ThrottlerStorageRecord>[]) => void
  > = {
    'fail-open': (results) => {
      for (const result of results) {
        expect(result).toEqual({
          status: 'fulfilled',
          value: { totalHits: 0, timeToExpire: 60, isBlocked: false, timeToBlockExpire: 0 },
        });
      }
    },
    'fail-closed': (results) => {
      for (const result of results) {
        expect(result.status).toBe('rejected');
        const error = (result as PromiseRejectedResult).reason as ThrottlerStoreUnavailableError;
        expect(error).toBeInstanceOf(ThrottlerStoreUnavailableError);
        expect(error.status).toBe(503);
        expect(error.code).toBe(SecureApiErrorCode.RATE_LIMIT_STORE_UNAVAILABLE);
        expect(error.headers).toEqual({ 'retry-after': '1' });
      }
    },
    // A fresh in-memory count: the first 3 allowed, then refused.
    'fallback-memory': (results) => {
      const values = results.map((r) => (r.status === 'fulfilled' ? r.value : undefined));
      expect(values.map((v) => v?.isBlocked)).toEqual([false, false, false, true, true, true]);
    },
  };

  describe.each<ThrottlerStoreErrorPolicy>(['fail-open', 'fail-closed', 'fallback-memory'])(
    "onStoreError '%s'",
    (policy) => {
      it('answers within commandTimeout while Redis is down, warns once without the key, and shares limits again once it is back', async () => {
        const logs = createLogCapture();
        const storage = create(policy, logs);
        const peer = create(policy, createLogCapture());
        try {
          await until(() => storage.available && peer.available, 3000);
          const k = key('outage');
          const before = await storage.increment(k, 60_000, 3, 0, 'default');
          expect(before.totalHits).toBe(1);

          // Killed while hits are in flight: each of those settles too, none hangs.
          const inFlight = Array.from({ length: 20 }, () =>
            timed(() => storage.increment(key('inflight'), 60_000, 1000, 0, 'default')),
          );
          await redis.stop();
          for (const { ms } of await Promise.all(inFlight)) {
            expect(ms).toBeLessThan(COMMAND_TIMEOUT_MS + MARGIN_MS);
          }

          const down = [];
          for (let i = 0; i < 6; i++) {
            down.push(await timed(() => storage.increment(`${k}-down`, 60_000, 3, 0, 'default')));
          }
          for (const { ms } of down) expect(ms).toBeLessThan(COMMAND_TIMEOUT_MS + MARGIN_MS);
          expectations[policy](down.map((d) => d.result));

          const warnings = logs.entries.filter((e) => e.level === 'warn');
          expect(warnings).toHaveLength(1);
          expect(warnings[0]?.message).toMatch(/^Redis rate-limit store unavailable \(\w*Error: /);
          expect(logs.text()).not.toContain(k);

          await redis.restart();
          await until(() => storage.available && peer.available, 5000);
          const shared = key('after-restart');
          const records = await Promise.all(
            Array.from({ length: 10 }, (_, i) =>
              (i % 2 === 0 ? storage : peer).increment(shared, 60_000, 5, 0, 'default'),
            ),
          );
          expect(records.filter((r) => !r.isBlocked)).toHaveLength(5);
          expect(logs.find('Redis answers again')).toHaveLength(1);
        } finally {
          await storage.close();
          await peer.close();
        }
      });
    },
  );

  it.each<
    [string, (url: string) => { storage: RedisThrottlerStorage; cleanup: () => Promise<void> }]
  >([
    [
      'its own client (ioredis commandTimeout)',
      (url) => {
        const storage = new RedisThrottlerStorage({
          url,
          onStoreError: 'fail-open',
          commandTimeoutMs: COMMAND_TIMEOUT_MS,
          logger: createLogCapture(),
        });
        return { storage, cleanup: () => storage.close() };
      },
    ],
    [
      'a given client without a commandTimeout (the storage’s own deadline)',
      (url) => {
        const client = new Redis(url, { maxRetriesPerRequest: 0, enableOfflineQueue: false });
        client.on('error', () => undefined);
        const storage = new RedisThrottlerStorage({
          client,
          onStoreError: 'fail-open',
          commandTimeoutMs: COMMAND_TIMEOUT_MS,
          logger: createLogCapture(),
        });
        return {
          storage,
          cleanup: async () => {
            await storage.close();
            client.disconnect();
          },
        };
      },
    ],
  ])('gives up on a hung Redis after commandTimeoutMs, with %s', async (_name, make) => {
    const { storage, cleanup } = make(redis.url);
    try {
      await until(() => storage.available, 3000);
      redis.pause();
      const { ms, result } = await timed(() =>
        storage.increment(key('hung'), 60_000, 5, 0, 'default'),
      );
      expect(result).toEqual({
        status: 'fulfilled',
        value: { totalHits: 0, timeToExpire: 60, isBlocked: false, timeToBlockExpire: 0 },
      });
      expect(ms).toBeGreaterThanOrEqual(COMMAND_TIMEOUT_MS - 5);
      expect(ms).toBeLessThan(COMMAND_TIMEOUT_MS + MARGIN_MS);
    } finally {
      redis.resume();
      await cleanup();
    }
  });
});

describe('RedisThrottlerStorage on a Redis Cluster', () => {
  let cluster: RedisCluster;
  let inspector: Cluster;

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3 });
    inspector = new Cluster(
      cluster.urls.map((url) => ({ port: Number(new URL(url).port) })),
      {
        redisOptions: { maxRetriesPerRequest: 0 },
      },
    );
    inspector.on('error', () => undefined);
  });

  afterAll(async () => {
    inspector.disconnect();
    await cluster.stop();
  });

  /** One key per node: the first `<label>-<n>` whose `{tier:<key>}` lives on that node. */
  const keysByNode = (label: string, tier: string): string[] =>
    cluster.onEachNode(
      Array.from({ length: 1000 }, (_, n) => `${label}-${n}`),
      (candidate) => `{${tier}:${candidate}}`,
    );

  function clusterStorage(
    options: Partial<ConstructorParameters<typeof RedisThrottlerStorage>[0]> = {},
  ): { storage: RedisThrottlerStorage; logs: LogCapture } {
    const logs = createLogCapture();
    const storage = new RedisThrottlerStorage({
      cluster: cluster.urls,
      keyPrefix: `${PREFIX}cluster:`,
      logger: logs,
      commandTimeoutMs: 2000,
      ...options,
    });
    return { storage, logs };
  }

  it('allows exactly the limit of 200 concurrent hits on a key of each node', async () => {
    const { storage, logs } = clusterStorage();
    try {
      await until(() => storage.available, 5000);
      const keys = keysByNode(key('exact'), 'default');
      for (const k of keys) {
        const records = await Promise.all(
          Array.from({ length: 200 }, () => storage.increment(k, 60_000, 50, 60_000, 'default')),
        );
        expect(records.filter((r) => !r.isBlocked)).toHaveLength(50);
      }
      expect(logs.entries).toEqual([]);
    } finally {
      await storage.close();
    }
  });

  it('decides tiers on three nodes in one call, each key in its slot with a TTL', async () => {
    const { storage, logs } = clusterStorage();
    try {
      await until(() => storage.available, 5000);
      const [a, b, c] = keysByNode(key('many'), 'tier') as [string, string, string];
      const tiers = [a, b, c].map((k, index) => ({
        key: k,
        ttl: 60_000,
        limit: index + 1,
        blockDuration: 0,
        throttlerName: 'tier',
      }));
      await storage.incrementMany(tiers);
      const records = await storage.incrementMany(tiers);
      expect(records.map((r) => [r.totalHits, r.isBlocked])).toEqual([
        [2, true],
        [2, false],
        [2, false],
      ]);
      for (const k of [a, b, c]) {
        const base = `${PREFIX}cluster:{tier:${k}}`;
        const [state, hits] = await Promise.all([
          inspector.pttl(base),
          inspector.pttl(`${base}:h`),
        ]);
        expect(state).toBeGreaterThan(59_000);
        expect(hits).toBeGreaterThan(59_000);
      }
      expect(logs.entries).toEqual([]);
    } finally {
      await storage.close();
    }
  });

  it('answers from memory for the keys of a stopped node, from the cluster for the others, and uses the node again once it is back', async () => {
    const { storage, logs } = clusterStorage({ commandTimeoutMs: 100, warnIntervalMs: 0 });
    const [onDown, onUp] = keysByNode(key('outage'), 'ip') as [string, string];
    const node = cluster.nodes[cluster.nodeOf(`{ip:${onDown}}`)];
    try {
      await until(() => storage.available, 5000);
      await storage.increment(onDown, 60_000, 3, 0, 'ip');
      await storage.increment(onUp, 60_000, 3, 0, 'ip');
      await node?.stop();
      const { ms, result } = await timed(() => storage.increment(onDown, 60_000, 3, 0, 'ip'));
      expect(ms).toBeLessThan(100 + MARGIN_MS);
      // The fallback's own count: one hit, not the cluster's two.
      expect(result).toEqual({
        status: 'fulfilled',
        value: expect.objectContaining({ totalHits: 1 }),
      });
      expect(logs.entries.map((entry) => entry.level)).toEqual(['warn']);
      expect(JSON.stringify(logs.entries)).not.toContain(onDown);
      const counted = await storage.increment(onUp, 60_000, 3, 0, 'ip');
      expect(counted.totalHits).toBe(2);
    } finally {
      await node?.restart();
      await cluster.ready();
    }
    try {
      // The restarted node is empty: its key starts over in Redis, not in the fallback (2).
      const deadline = Date.now() + 10_000;
      let record = await storage.increment(onDown, 60_000, 3, 0, 'ip');
      while (record.totalHits !== 1 && Date.now() < deadline) {
        await delay(100);
        record = await storage.increment(onDown, 60_000, 3, 0, 'ip');
      }
      expect(record.totalHits).toBe(1);
      expect(logs.entries.some((entry) => entry.message.includes('answers again'))).toBe(true);
    } finally {
      await storage.close();
    }
  });

  it("gives every node connection the first URL's credentials, decoded, and TLS for rediss:", async () => {
    // Nothing listens on port 1: only the client's settings are looked at.
    const storage = new RedisThrottlerStorage({
      cluster: ['rediss://svc%2Drl:p%40ss@127.0.0.1:1', 'rediss://127.0.0.1:2'],
    });
    try {
      const { redisOptions } = (storage as unknown as { client: Cluster }).client.options;
      expect(redisOptions).toMatchObject({
        username: 'svc-rl',
        password: 'p@ss',
        tls: {},
        maxRetriesPerRequest: 0,
        autoResendUnfulfilledCommands: false,
        commandTimeout: 100,
      });
      expect(storage.available).toBe(false);
    } finally {
      await storage.close();
    }
  });

  it('refuses a cluster option that is empty or not redis URLs, without quoting a password', () => {
    expect(() => new RedisThrottlerStorage({ cluster: [] })).toThrow('"cluster"');
    expect(
      () => new RedisThrottlerStorage({ cluster: ['redis://a:7000', 'http://user:hunter2@b'] }),
    ).toThrow(/"cluster\[1\]".*redis:\/\//);
    let message = 'no error';
    try {
      new RedisThrottlerStorage({ cluster: ['http://user:hunter2@b'] });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('"cluster[0]"');
    expect(message).not.toContain('hunter2');
    expect(() => new RedisThrottlerStorage({ url: REDIS_URL, cluster: cluster.urls })).toThrow(
      'exactly one of',
    );
  });
});
