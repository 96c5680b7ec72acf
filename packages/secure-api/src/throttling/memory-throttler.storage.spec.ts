import { ThrottlerStorageService } from '@nestjs/throttler';
import { SecureApiError } from '../errors/secure-api.error.js';
import { SecureApiErrorCode } from '../errors/secure-api-error-code.js';
import { MemoryThrottlerStorage, type ThrottlerStorageRecord } from './memory-throttler.storage.js';

const T0 = Date.UTC(2030, 0, 1);

/** One call in a sequence: wait `advance` ms, then hit. */
interface Step {
  readonly advance: number;
  readonly key: string;
  readonly name: string;
  readonly ttl: number;
  readonly limit: number;
  readonly blockDuration: number;
}

/** The one documented difference: unblocked records always report `timeToBlockExpire: 0`. */
function normalise(record: ThrottlerStorageRecord): ThrottlerStorageRecord {
  return { ...record, timeToBlockExpire: record.isBlocked ? record.timeToBlockExpire : 0 };
}

// Deterministic, so a failing sequence can be replayed by its seed.
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomSteps(seed: number, count: number): Step[] {
  const rand = mulberry32(seed);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(rand() * values.length)] as T;
  // Each key gets fixed tier settings, as the stock guard's keys do (they embed the throttler).
  const tiers = Array.from({ length: 4 }, (_, i) => {
    const ttl = pick([500, 1000, 2500, 60_000]);
    return {
      key: `tracker-${i}`,
      name: pick(['default', 'burst', 'sustained']) + String(i),
      ttl,
      limit: pick([1, 2, 5, 10]),
      blockDuration: pick([0, 0, ttl, Math.floor(ttl / 2), ttl * 3, 1]),
    };
  });
  return Array.from({ length: count }, () => {
    const tier = pick(tiers);
    const advance = pick([0, 0, 0, 1, 7, 100, 333, 499, 500, 501, 999, 1000, 1001, 2600]);
    return { advance, ...tier };
  });
}

function repeat(n: number, step: Omit<Step, 'advance'>, advance = 0): Step[] {
  return Array.from({ length: n }, () => ({ advance, ...step }));
}

const A = { key: 'a', name: 'default' };

const SCENARIOS: ReadonlyArray<readonly [string, Step[]]> = [
  [
    'no block: refused while limit hits are live, each hit expiring on its own',
    [
      ...repeat(3, { ...A, ttl: 1000, limit: 3, blockDuration: 0 }, 100),
      ...repeat(3, { ...A, ttl: 1000, limit: 3, blockDuration: 0 }, 300),
      ...repeat(4, { ...A, ttl: 1000, limit: 3, blockDuration: 0 }, 250),
    ],
  ],
  [
    'block shorter than the window',
    [
      ...repeat(5, { ...A, ttl: 2000, limit: 2, blockDuration: 500 }, 10),
      ...repeat(5, { ...A, ttl: 2000, limit: 2, blockDuration: 500 }, 200),
    ],
  ],
  [
    'block as long as the window (the guard default)',
    repeat(20, { ...A, ttl: 1000, limit: 3, blockDuration: 1000 }, 150),
  ],
  [
    'block longer than the window',
    repeat(20, { ...A, ttl: 500, limit: 2, blockDuration: 1700 }, 120),
  ],
  [
    'hits on the exact millisecond the window and the block end',
    [
      ...repeat(3, { ...A, ttl: 1000, limit: 2, blockDuration: 1000 }),
      ...repeat(3, { ...A, ttl: 1000, limit: 2, blockDuration: 1000 }, 1000),
      ...repeat(3, { ...A, ttl: 1000, limit: 2, blockDuration: 0 }, 1000),
    ],
  ],
  [
    'limit 0 without blockDuration',
    [
      ...repeat(3, { ...A, ttl: 1000, limit: 0, blockDuration: 0 }, 400),
      ...repeat(3, { key: 'b', name: 'default', ttl: 1000, limit: 1, blockDuration: 0 }, 400),
    ],
  ],
  [
    'a ttl that shrinks and grows between calls on one key',
    [1000, 200, 5000, 50, 50, 3000, 100, 100, 100].flatMap((ttl) =>
      repeat(2, { ...A, ttl, limit: 4, blockDuration: 0 }, 90),
    ),
  ],
  [
    'a hot key sliding through thousands of hits (the log compacts)',
    Array.from({ length: 12_000 }, (_, i) => ({
      ...A,
      advance: i % 4 === 0 ? 1 : 0,
      ttl: 1000,
      limit: 3000,
      blockDuration: 1000,
    })),
  ],
  ...[1, 2, 3, 4, 5, 6].map(
    (seed) => [`random sequence, seed ${seed}`, randomSteps(seed, 400)] as const,
  ),
];

describe('MemoryThrottlerStorage', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  describe('parity with the stock ThrottlerStorageService', () => {
    it.each(SCENARIOS)('%s', async (_name, steps) => {
      jest.useFakeTimers({ now: T0 });
      const stock = new ThrottlerStorageService();
      const ours = new MemoryThrottlerStorage();
      const expected: ThrottlerStorageRecord[] = [];
      const actual: ThrottlerStorageRecord[] = [];
      try {
        for (const { advance, key, name, ttl, limit, blockDuration } of steps) {
          jest.advanceTimersByTime(advance);
          expected.push(normalise(await stock.increment(key, ttl, limit, blockDuration, name)));
          actual.push(await ours.increment(key, ttl, limit, blockDuration, name));
        }
      } finally {
        stock.onApplicationShutdown();
      }
      expect(actual).toEqual(expected);
      // Guards against a vacuous sequence: each scenario must refuse some hits and allow others.
      expect(actual.some((r) => r.isBlocked)).toBe(true);
      expect(actual.some((r) => !r.isBlocked)).toBe(true);
    });
  });

  describe('window', () => {
    it('counts again from 1 once every hit has expired, and reports the window in seconds', async () => {
      let now = T0;
      const storage = new MemoryThrottlerStorage({ now: () => now });
      const first = await storage.increment('k', 2500, 5, 0, 'default');
      now += 1600;
      const second = await storage.increment('k', 2500, 5, 0, 'default');
      now += 2500;
      const third = await storage.increment('k', 2500, 5, 0, 'default');

      expect([first, second, third]).toEqual([
        { totalHits: 1, timeToExpire: 3, isBlocked: false, timeToBlockExpire: 0 },
        { totalHits: 2, timeToExpire: 1, isBlocked: false, timeToBlockExpire: 0 },
        { totalHits: 1, timeToExpire: 3, isBlocked: false, timeToBlockExpire: 0 },
      ]);
    });

    it('keeps the throttler names of one key apart', async () => {
      const storage = new MemoryThrottlerStorage({ now: () => T0 });
      await storage.increment('k', 1000, 1, 0, 'short');
      const short = await storage.increment('k', 1000, 1, 0, 'short');
      const long = await storage.increment('k', 1000, 1, 0, 'long');

      expect([short.isBlocked, long.isBlocked]).toEqual([true, false]);
      expect(storage.size).toBe(2);
    });
  });

  describe('blocking with blockDuration', () => {
    it('blocks on the hit over the limit, refuses without counting, then starts again at 1', async () => {
      let now = T0;
      const storage = new MemoryThrottlerStorage({ now: () => now });
      const hit = (): Promise<ThrottlerStorageRecord> =>
        storage.increment('k', 1000, 2, 5000, 'default');

      const allowed = [await hit(), await hit()];
      const over = await hit();
      now += 4001;
      const stillBlocked = await hit();
      now += 999;
      const afterBlock = await hit();

      expect(allowed.map((r) => [r.totalHits, r.isBlocked])).toEqual([
        [1, false],
        [2, false],
      ]);
      expect(over).toEqual({
        totalHits: 3,
        timeToExpire: 1,
        isBlocked: true,
        timeToBlockExpire: 5,
      });
      // The three hits expired during the block, none was added while blocked.
      expect(stillBlocked).toEqual({
        totalHits: 0,
        timeToExpire: 1,
        isBlocked: true,
        timeToBlockExpire: 1,
      });
      expect(afterBlock).toEqual({
        totalHits: 1,
        timeToExpire: 1,
        isBlocked: false,
        timeToBlockExpire: 0,
      });
    });
  });

  describe('limit 0 with blockDuration (a documented difference)', () => {
    it('refuses the first hit after a block too, as the stock storage does once its sweep ran', async () => {
      let now = T0;
      const storage = new MemoryThrottlerStorage({ now: () => now });
      const records: ThrottlerStorageRecord[] = [];
      for (let i = 0; i < 4; i++) {
        records.push(await storage.increment('k', 1000, 0, 300, 'default'));
        now += 400;
      }
      expect(records.map((r) => [r.totalHits, r.isBlocked, r.timeToBlockExpire])).toEqual([
        [1, true, 1],
        [1, true, 1],
        [1, true, 1],
        [1, true, 1],
      ]);
    });
  });

  describe('key bound', () => {
    it('holds at most maxKeys (default 50 000) through a flood of 100 000 unique keys', async () => {
      const storage = new MemoryThrottlerStorage({ now: () => T0 });
      for (let i = 0; i < 100_000; i++) {
        await storage.increment(`flood-${i}`, 60_000, 10, 60_000, 'default');
      }
      expect(storage.size).toBe(50_000);
    });

    it('keeps a key that is hit during the flood, and forgets the least recently hit', async () => {
      const storage = new MemoryThrottlerStorage({ maxKeys: 1000, now: () => T0 });
      const hot = (): Promise<ThrottlerStorageRecord> =>
        storage.increment('hot', 60_000, 1_000_000, 0, 'default');
      await hot();
      await storage.increment('cold', 60_000, 1_000_000, 0, 'default');
      for (let i = 0; i < 10_000; i++) {
        await storage.increment(`flood-${i}`, 60_000, 10, 0, 'default');
        if (i % 500 === 0) await hot();
      }

      expect((await hot()).totalHits).toBe(22);
      expect((await storage.increment('cold', 60_000, 1_000_000, 0, 'default')).totalHits).toBe(1);
      expect(storage.size).toBe(1000);
    });

    it('never evicts a key hit once in every maxKeys / 2 hits, and evicts one hit no more', async () => {
      const storage = new MemoryThrottlerStorage({ maxKeys: 10, now: () => T0 });
      const hit = (key: string): Promise<ThrottlerStorageRecord> =>
        storage.increment(key, 60_000, 1_000_000, 0, 'default');
      await hit('hot');
      await hit('cold');
      // Four new keys between two hits of "hot": five hits in all, half of maxKeys.
      for (let i = 0; i < 400; i++) {
        await hit(`flood-${i}`);
        if (i % 4 === 3) await hit('hot');
      }
      expect((await hit('hot')).totalHits).toBe(102);
      expect((await hit('cold')).totalHits).toBe(1);
      expect(storage.size).toBe(10);
    });

    it('forgets every key on clear() and on application shutdown', async () => {
      const storage = new MemoryThrottlerStorage();
      await storage.increment('a', 1000, 1, 0, 'default');
      storage.clear();
      expect(storage.size).toBe(0);
      await storage.increment('a', 1000, 1, 0, 'default');
      storage.onApplicationShutdown();
      expect(storage.size).toBe(0);
    });
  });

  describe('exactness under concurrency', () => {
    it.each([0, 1000])(
      '200 concurrent hits on limit 50 (blockDuration %d) allow exactly 50',
      async (blockDuration) => {
        const storage = new MemoryThrottlerStorage();
        const records = await Promise.all(
          Array.from({ length: 200 }, () =>
            storage.increment('k', 60_000, 50, blockDuration, 'default'),
          ),
        );
        const allowed = records.filter((r) => !r.isBlocked);
        expect(allowed).toHaveLength(50);
        expect(allowed.every((r) => r.totalHits <= 50)).toBe(true);
        expect(new Set(allowed.map((r) => r.totalHits)).size).toBe(50);
      },
    );
  });

  describe('options', () => {
    it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])(
      'refuses maxKeys %p with a message naming it',
      (maxKeys) => {
        expect.assertions(3);
        try {
          new MemoryThrottlerStorage({ maxKeys });
        } catch (error) {
          expect(error).toBeInstanceOf(SecureApiError);
          expect((error as SecureApiError).code).toBe(SecureApiErrorCode.INVALID_OPTIONS);
          expect((error as SecureApiError).message).toBe(
            `"maxKeys" must be a positive integer, got ${String(maxKeys)}`,
          );
        }
      },
    );
  });
});
