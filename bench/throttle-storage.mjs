// In-process benchmark: MemoryThrottlerStorage.increment ÷ @nestjs/throttler's
// ThrottlerStorageService.increment, on one hot key that holds 10 000 hits in its window.
//
//   npm run build -w @secure-api/nestjs && node bench/throttle-storage.mjs
//
// Steady state: a virtual clock (Date.now is replaced for the whole run, for both storages)
// advances 6 ms per hit with a 60 s ttl, so after a 10 000-hit warm-up every hit adds one and
// expires one and the window holds exactly 10 000 hits throughout. The limit never blocks;
// blockDuration is the ttl, as the stock guard passes by default.
// Rounds alternate A (stock), B (ours); each runs until BENCH_ROUND_MS or BENCH_MAX_OPS.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { ThrottlerStorageService } from '@nestjs/throttler';
import { MemoryThrottlerStorage } from '../packages/secure-api/dist/throttling/memory-throttler.storage.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 300);
const MAX_OPS = 5_000_000;
const WINDOW_HITS = 10_000;
const TTL = 60_000;
const STEP_MS = TTL / WINDOW_HITS;
const LIMIT = 1_000_000_000;
const KEY = 'hot-key';
const NAME = 'default';
const TARGET = 3;

let virtualNow = Date.UTC(2030, 0, 1);
const realNow = Date.now.bind(Date);
Date.now = () => virtualNow;

async function round(label, make, close) {
  const storage = make();
  try {
    for (let i = 0; i < WINDOW_HITS; i++) {
      virtualNow += STEP_MS;
      await storage.increment(KEY, TTL, LIMIT, TTL, NAME);
    }
    let ops = 0;
    let last;
    const start = performance.now();
    let elapsed = 0;
    while (ops < MAX_OPS) {
      for (let i = 0; i < 256; i++) {
        virtualNow += STEP_MS;
        last = await storage.increment(KEY, TTL, LIMIT, TTL, NAME);
      }
      ops += 256;
      elapsed = performance.now() - start;
      if (elapsed >= ROUND_MS) break;
    }
    // Validity: the window really held WINDOW_HITS hits and nothing was blocked.
    if (last.isBlocked || Math.abs(last.totalHits - WINDOW_HITS) > 1) {
      throw new Error(`${label}: unexpected record ${JSON.stringify(last)}`);
    }
    return { ops, ms: elapsed, opsPerSec: (ops / elapsed) * 1000, lastTotalHits: last.totalHits };
  } finally {
    close(storage);
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const stock = {
  label: 'stock ThrottlerStorageService',
  make: () => new ThrottlerStorageService(),
  close: (s) => s.onApplicationShutdown(),
};
const ours = {
  label: 'MemoryThrottlerStorage',
  make: () => new MemoryThrottlerStorage(),
  close: (s) => s.clear(),
};

const startedAt = new Date(realNow());
// Warm-up, not recorded.
await round(stock.label, stock.make, stock.close);
await round(ours.label, ours.make, ours.close);
const rounds = { stock: [], ours: [] };
for (let r = 0; r < ROUNDS; r++) {
  rounds.stock.push(await round(stock.label, stock.make, stock.close));
  rounds.ours.push(await round(ours.label, ours.make, ours.close));
  const a = rounds.stock.at(-1).opsPerSec;
  const b = rounds.ours.at(-1).opsPerSec;
  console.log(
    `round ${r + 1}/${ROUNDS}: stock ${Math.round(a).toLocaleString('en')} ops/s, ours ${Math.round(b).toLocaleString('en')} ops/s, ×${(b / a).toFixed(1)}`,
  );
}
Date.now = realNow;

const stockMedian = median(rounds.stock.map((x) => x.opsPerSec));
const oursMedian = median(rounds.ours.map((x) => x.opsPerSec));
const ratio = oursMedian / stockMedian;
const medianRoundRatio = median(rounds.ours.map((x, i) => x.opsPerSec / rounds.stock[i].opsPerSec));

const version = (pkg) =>
  JSON.parse(readFileSync(new URL(`../node_modules/${pkg}/package.json`, import.meta.url), 'utf8'))
    .version;

const result = {
  benchmark: 'throttle-storage',
  startedAt: startedAt.toISOString(),
  machine: {
    nproc: availableParallelism(),
    cpu: cpus()[0]?.model,
    node: process.version,
    v8: process.versions.v8,
  },
  versions: { '@nestjs/throttler': version('@nestjs/throttler') },
  config: {
    windowHits: WINDOW_HITS,
    ttlMs: TTL,
    blockDurationMs: TTL,
    limit: LIMIT,
    rounds: ROUNDS,
    roundMs: ROUND_MS,
  },
  rounds,
  medians: { stockOpsPerSec: stockMedian, oursOpsPerSec: oursMedian },
  ratio,
  medianRoundRatio,
  target: TARGET,
  pass: ratio >= TARGET,
};

console.log(
  `\nmedian: stock ${Math.round(stockMedian).toLocaleString('en')} ops/s, ` +
    `MemoryThrottlerStorage ${Math.round(oursMedian).toLocaleString('en')} ops/s, ` +
    `ratio ×${ratio.toFixed(1)} (median of round ratios ×${medianRoundRatio.toFixed(1)}), ` +
    `target ≥ ${TARGET}: ${result.pass ? 'pass' : 'miss'}`,
);

const dir = new URL('./results/', import.meta.url);
mkdirSync(dir, { recursive: true });
const file = new URL(
  `throttle-storage-${startedAt
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replaceAll(':', '-')}.json`,
  dir,
);
writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
console.log(`wrote ${file.pathname}`);
