// HTTP benchmark: what the rate-limit storage costs a route throttled by the issue's three tiers
// (ip, principal, global), on Express and Fastify. Three arms, each its own server process
// (bench/throttle-server.mjs), the same route and tiers, only the storage differs:
//
//   redis     the module's RedisThrottlerStorage (storage: { redis: { url, keyPrefix } })
//   nest-lab  @nest-lab/throttler-storage-redis's ThrottlerStorageRedisService, passed to the
//             module as a ThrottlerStorage
//   memory    the module's MemoryThrottlerStorage (storage: 'memory')
//
// Figures, each median(B req/s) ÷ median(A req/s) of interleaved rounds:
//   redis ÷ nest-lab   target ≥ 1.25
//   redis ÷ memory     target ≥ 0.6
// measured twice per adapter: with the servers as they are, and with each held to 0.5 of a core
// by a cgroup CPU quota (bench/lib/cpu-cap.mjs; skipped where cgroups cannot be written), so
// that the server, not a Redis sharing this machine's cores, is the bottleneck ("capped" rows).
//
//   npm run bench:throttle     (builds first; same as: npm run build && node bench/throttle.mjs)
//   BENCH_QUICK=1 node bench/throttle.mjs     smoke test: 2 rounds of 2 s, not kept as latest
//   BENCH_ROUNDS, BENCH_SECONDS, BENCH_CONNECTIONS, BENCH_PIN, BENCH_QUIET_WAIT as for bench/run.mjs
//   REDIS_URL: the Redis both Redis arms count in. Unset, the run starts a redis-server of its
//     own on a free loopback port (@secure-api/testing's startRedisServer) and, when pinning,
//     pins it to the load generator's CPU: Redis stands for another machine, and does not take
//     the servers' core (a shared Redis that lands on the server CPU makes an uncapped Redis arm
//     wait on Redis instead of using its core). Set, that Redis is used as it runs.
//
// Per adapter the three servers run side by side, pinned to the same CPU; one round of each is a
// turn (redis, nest-lab, memory). One warm-up turn, then measured turns after a quiet-machine
// wait. Redis itself is another process on this machine: its CPU (from INFO cpu) is recorded per
// round and left out of the "other load" that makes a turn disturbed. Every key the run writes is
// under a prefix of its own, and is deleted at the end.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { hashApiKey } from '@secure-api/nestjs';
import { ADAPTERS, startRedisServer } from '@secure-api/testing';
import { Redis } from 'ioredis';
import {
  commandLine,
  describeLoad,
  log,
  pinProcess,
  readLoadConfig,
  setProgramName,
} from './lib/cli.mjs';
import {
  awaitQuiet,
  BENCH_DIR,
  describeMachine,
  describeRevision,
  describeVersions,
  NEST_PACKAGES,
} from './lib/machine.mjs';
import { capCpu } from './lib/cpu-cap.mjs';
import { preflightChecks } from './lib/preflight.mjs';
import { installStopHandlers, runMain, startServer, stopChild } from './lib/processes.mjs';
import { measureRound, plannedSeconds } from './lib/rounds.mjs';
import { fileStamp, finishRun, printTable, summaryEntry } from './lib/results.mjs';
import { compare, failures, median, round, summarise } from './lib/stats.mjs';

setProgramName('bench/throttle');

const SERVER = join(BENCH_DIR, 'throttle-server.mjs');
/** The Redis of the run: REDIS_URL, or the run's own (set by main before anything uses it). */
let REDIS_URL = process.env.REDIS_URL;

/**
 * Share of its CPU (a core, or the cap) both servers of a comparison must use for the row to be
 * marked server-bound; below it the result says "latency-bound".
 */
const SERVER_BOUND_SHARE = 0.9;

/** The arms, in the order of a turn: result name, --storage of the server. */
const ARMS = Object.freeze([
  ['redis', 'redis'],
  ['nestLab', 'nest-lab'],
  ['memory', 'memory'],
]);

/**
 * Cores each server is held to in the capped turns: well under what the uncapped servers use
 * (0.7–1.0), so that Redis and the load generator always have CPU to spare.
 */
const SERVER_CPU_CAP = 0.5;

/** The issue's ratios, B ÷ A, and their targets. */
const COMPARISONS = Object.freeze([
  { name: 'redis÷nest-lab', a: 'nestLab', b: 'redis', target: 1.25 },
  { name: 'redis÷memory', a: 'memory', b: 'redis', target: 0.6 },
]);

/** Versions recorded besides the Nest stack. */
const VERSIONS = [
  '@nestjs/throttler',
  'ioredis',
  '@nest-lab/throttler-storage-redis',
  'autocannon',
];

const TIER_NAMES = ['ip', 'principal', 'global'];
/** What every arm's answer must announce: the three tiers, with the server's limits. */
const POLICY = '"global";q=1000000000;w=1, "ip";q=1000000000;w=60, "principal";q=1000000000;w=60';

/** The only key the servers know; random per run, only its SHA-256 is given to them. */
const API_KEY = randomBytes(24).toString('base64url');
const REQUEST = Object.freeze({ path: '/limited', headers: { 'x-api-key': API_KEY } });

/** The Redis URL without credentials, for messages and the results. */
function shownRedisUrl() {
  const url = new URL(REDIS_URL);
  url.username = '';
  url.password = '';
  return url.href;
}

/**
 * Pins the run's own redis-server (when the run pins) to the load generator's CPU, found by the
 * pid it reports. Resolves to `{ pinnedCpu, description }`.
 */
async function pinOwnRedis(redis, pinning) {
  const pid = pinning.enabled ? await redis.pid() : undefined;
  const pinnedCpu =
    pid !== undefined && pinProcess(pid, pinning.loadGeneratorCpu)
      ? pinning.loadGeneratorCpu
      : null;
  const where =
    pinnedCpu === null ? 'not pinned' : `pinned to CPU ${pinnedCpu} (the load generator's)`;
  return { pinnedCpu, description: `the run's own redis-server at ${REDIS_URL}, ${where}` };
}

/** The runner's own Redis client: CPU of the Redis server, the run's keys, their removal. */
function redisProbe() {
  const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, connectTimeout: 5_000 });
  client.on('error', () => undefined);
  const info = async (section) =>
    Object.fromEntries(
      (await client.info(section))
        .split('\r\n')
        .filter((line) => line.includes(':'))
        .map((line) => line.split(':', 2)),
    );
  const keysUnder = async (prefix) => {
    const keys = [];
    let cursor = '0';
    do {
      const [next, found] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...found);
    } while (cursor !== '0');
    return keys;
  };
  return {
    version: async () => (await info('server')).redis_version ?? null,
    /** The Redis server's process id, as it reports it. */
    pid: async () => (await info('server')).process_id,
    /** CPU seconds the Redis server has used, user + system. */
    cpuSeconds: async () => {
      const cpu = await info('cpu');
      return Number(cpu.used_cpu_user) + Number(cpu.used_cpu_sys);
    },
    keysUnder,
    /** Deletes the keys under `prefix` (ours only: the prefix is unique to this run). */
    removeUnder: async (prefix) => {
      const keys = await keysUnder(prefix);
      for (let i = 0; i < keys.length; i += 500) await client.unlink(...keys.slice(i, i + 500));
      return keys.length;
    },
    close: () => client.quit().catch(() => client.disconnect()),
  };
}

/**
 * One autocannon round of an arm (bench/lib/rounds.mjs), with the CPU the Redis server used
 * meanwhile: `cpuCores.redis`, and `cpuCores.otherThanRedis`, the rest of the machine's load,
 * which decides whether the round was disturbed.
 */
async function measureArmRound(arm, config, redis) {
  const before = await redis.cpuSeconds();
  const started = process.hrtime.bigint();
  const result = await measureRound(arm.server, REQUEST, config);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const redisCores = ((await redis.cpuSeconds()) - before) / seconds;
  const other = result.cpuCores.other;
  result.cpuCores.redis = round(redisCores, 2);
  result.cpuCores.otherThanRedis =
    other === null ? null : round(Math.max(0, other - redisCores), 2);
  return result;
}

function disturbedBesidesRedis(result, config) {
  const other = result.cpuCores.otherThanRedis;
  return other !== null && other > config.disturbedAboveCores;
}

async function measureTurn(arms, config, redis) {
  const turn = {};
  for (const arm of arms) turn[arm.name] = await measureArmRound(arm, config, redis);
  return turn;
}

/**
 * A warm-up turn, then measured turns until each arm has `config.rounds` rounds. A turn in which
 * any round was disturbed is kept under `discarded` and measured again, at most `config.rounds`
 * times; after that disturbed turns count (and are flagged).
 */
async function interleaveArms(arms, config, redis, label) {
  const warmup = await measureTurn(arms, config, redis);
  const rounds = Object.fromEntries(arms.map((arm) => [arm.name, []]));
  const discarded = [];
  const quietWaits = [];
  for (let repeats = config.rounds; rounds.redis.length < config.rounds;) {
    quietWaits.push(await awaitQuiet(config));
    const turn = await measureTurn(arms, config, redis);
    const disturbed = arms.some((arm) => disturbedBesidesRedis(turn[arm.name], config));
    const kept = !disturbed || repeats === 0;
    const cells = arms.map(({ name }) => {
      const r = turn[name];
      const bad = failures(r) > 0 ? ` (non-2xx ${r.non2xx}, errors ${r.errors})` : '';
      return `${name} ${r.reqPerSec.toFixed(0).padStart(6)}${bad}`;
    });
    log(
      `  ${label} ${kept ? `round ${rounds.redis.length + 1}/${config.rounds}` : 'disturbed  '} ` +
        `${cells.join('  ')} req/s  other load ` +
        arms.map(({ name }) => turn[name].cpuCores.otherThanRedis ?? '?').join('/') +
        ` cores, Redis ${arms.map(({ name }) => turn[name].cpuCores.redis).join('/')}` +
        (kept && disturbed ? ' (kept: no repeats left)' : ''),
    );
    if (kept) for (const { name } of arms) rounds[name].push(turn[name]);
    else {
      repeats -= 1;
      discarded.push(turn);
    }
  }
  return { warmup, rounds, discarded, quietWaits, disturbedKept: disturbedCount(rounds, config) };
}

function disturbedCount(rounds, config) {
  return Object.values(rounds)[0].filter((_, index) =>
    Object.values(rounds).some((armRounds) => disturbedBesidesRedis(armRounds[index], config)),
  ).length;
}

/**
 * Refuses to measure an arm unless the route answers 200 {"ok":true} with the rate-limit fields
 * of all three tiers, an unknown API key gets 401 (the principal tier reads the key), and, for
 * a Redis arm, every tier now has a key in Redis under the arm's prefix.
 */
async function preflight(arm, redis) {
  await preflightChecks(arm.server.url, [
    {
      description: `GET /limited with the API key (${arm.storage})`,
      ...REQUEST,
      expected: 200,
      verify: (json, response) =>
        json?.ok !== true
          ? 'expected {"ok":true}'
          : !response.headers.get('ratelimit')
            ? 'no RateLimit header'
            : response.headers.get('ratelimit-policy') !== POLICY
              ? `RateLimit-Policy is ${response.headers.get('ratelimit-policy')}, expected ${POLICY}`
              : null,
    },
    {
      description: `GET /limited with an unknown API key (${arm.storage})`,
      path: REQUEST.path,
      headers: { 'x-api-key': `not-${API_KEY}` },
      expected: 401,
    },
  ]);
  if (arm.keyPrefix === undefined) return;
  const keys = await redis.keysUnder(arm.keyPrefix);
  // Ours: <prefix>{<tier>:<key>}; nest-lab: <prefix>{<key>:<tier>}:hits.
  const missing = TIER_NAMES.filter(
    (tier) => !keys.some((key) => key.includes(`{${tier}:`) || key.includes(`:${tier}}:hits`)),
  );
  if (missing.length > 0) {
    throw new Error(
      `preflight: ${arm.storage}: no Redis key for tier ${missing.join(', ')} under ` +
        `${arm.keyPrefix} (found ${keys.length})`,
    );
  }
}

function armFigures(arm, warmup, rounds) {
  const redisCores = median(rounds.map((r) => r.cpuCores.redis));
  const summary = summarise(rounds);
  return {
    storage: arm.storage,
    keyPrefix: arm.keyPrefix ?? null,
    median: {
      ...summary,
      redisCores,
      redisMicrosPerRequest: round((redisCores * 1e6) / summary.reqPerSec, 1),
      otherThanRedisCores: median(rounds.map((r) => r.cpuCores.otherThanRedis ?? NaN)),
    },
    warmup,
    rounds,
  };
}

/**
 * Interleaved turns of the three arms and their figures: one row of the results, for the
 * servers as they are (`cpuCap` undefined) or held to `cpuCap` cores.
 */
async function measureArms(adapter, arms, config, redis, cpuCap) {
  const label =
    cpuCap === undefined ? adapter.padEnd(7) : `${adapter} (servers at ${cpuCap} cores)`;
  const measured = await interleaveArms(arms, config, redis, label);
  const figures = Object.fromEntries(
    arms.map((arm) => [
      arm.name,
      armFigures(arm, measured.warmup[arm.name], measured.rounds[arm.name]),
    ]),
  );
  // A ratio of req/s compares throughputs only where both servers fill the CPU they have; a
  // server below that waits on something else (here, its Redis round trips), and its row
  // measures latency at this many connections as much as throughput.
  const budget = cpuCap ?? 1;
  const bound = (arm) => figures[arm].median.serverCores >= SERVER_BOUND_SHARE * budget;
  const comparisons = COMPARISONS.map(({ name, a, b, target }) => {
    const ratios = compare(figures[a], figures[b]);
    return {
      name: cpuCap === undefined ? name : `${name} capped`,
      a,
      b,
      ...ratios,
      target,
      pass: ratios.ratio >= target,
      serverBound: bound(a) && bound(b),
    };
  });
  return {
    adapter,
    cpuCap: cpuCap ?? null,
    valid: arms.every((arm) => failures(figures[arm.name].median) === 0),
    disturbed: measured.disturbedKept > 0,
    comparisons,
    ...figures,
    discardedTurns: measured.discarded,
    quietWaits: measured.quietWaits,
  };
}

async function benchAdapter(adapter, config, lifetimeSeconds, runPrefix, redis) {
  const arms = [];
  try {
    for (const [name, storage] of ARMS) {
      const keyPrefix = storage === 'memory' ? undefined : `${runPrefix}${adapter}:${storage}:`;
      const server = await startServer({
        script: SERVER,
        args: [
          `--adapter=${adapter}`,
          `--storage=${storage}`,
          `--api-key-sha256=${hashApiKey(API_KEY)}`,
          `--max-seconds=${lifetimeSeconds}`,
          ...(keyPrefix === undefined
            ? []
            : [`--redis-url=${REDIS_URL}`, `--key-prefix=${keyPrefix}`]),
        ],
        label: `${adapter} throttle server (${storage})`,
        pinning: config.pinning,
      });
      arms.push({ name, storage, keyPrefix, server });
    }
    for (const arm of arms) await preflight(arm, redis);
    const rows = [await measureArms(adapter, arms, config, redis, undefined)];
    // Redis shares this machine's cores with the servers and the load generator (with
    // REDIS_URL unset it is kept off the servers' core), and our arm asks more of it per request
    // (the sliding log): a server can end up waiting on Redis instead of using its core. Held to
    // a fraction of a core, every server is the bottleneck and Redis has CPU to spare: req/s at
    // a fixed server CPU budget.
    const cap = capCpu(
      SERVER_CPU_CAP,
      arms.map((arm) => arm.server.child.pid),
    );
    if (!cap.ok) {
      log(`cannot cap the servers' CPU (${cap.reason}): the capped turns are skipped`);
    } else {
      try {
        rows.push(await measureArms(adapter, arms, config, redis, SERVER_CPU_CAP));
      } finally {
        cap.release();
      }
    }
    return rows;
  } finally {
    await Promise.all(arms.map((arm) => stopChild(arm.server.child)));
  }
}

function rowName(r) {
  return r.cpuCap === null ? r.adapter : `${r.adapter} @${r.cpuCap}`;
}

function printResults(results) {
  printTable(
    [
      'adapter',
      'arm',
      'req/s',
      'p50/p99 ms',
      'server CPU',
      'load gen CPU',
      'Redis CPU',
      'Redis µs/req',
    ],
    results.flatMap((r) =>
      ARMS.map(([name, storage]) => {
        const m = r[name].median;
        return [
          rowName(r),
          storage,
          m.reqPerSec.toFixed(0),
          `${m.latencyP50Ms}/${m.latencyP99Ms}`,
          m.serverCores.toFixed(2),
          m.loadGeneratorCores.toFixed(2),
          m.redisCores.toFixed(2),
          m.redisMicrosPerRequest.toFixed(1),
        ];
      }),
    ),
  );
  printTable(
    ['adapter', 'ratio', 'B req/s', 'A req/s', 'ratio', 'per-round', '+µs/req', 'target', 'result'],
    results.flatMap((r) =>
      r.comparisons.map((c) => [
        rowName(r),
        c.name,
        r[c.b].median.reqPerSec.toFixed(0),
        r[c.a].median.reqPerSec.toFixed(0),
        c.ratio.toFixed(3),
        c.medianRoundRatio.toFixed(3),
        c.addedMicrosPerRequest.toFixed(1),
        `≥ ${c.target}`,
        (!r.valid ? 'INVALID' : c.pass ? 'PASS' : 'MISS') +
          (r.disturbed ? ' (disturbed)' : '') +
          (c.serverBound ? '' : ' (latency-bound)'),
      ]),
    ),
  );
}

async function main() {
  installStopHandlers();
  const config = readLoadConfig();
  const startedAt = new Date().toISOString();
  // Taken before the servers start: what they import is the build of that moment, whatever
  // another rebuild of the checkout does during the run.
  const measuredOn = {
    machine: describeMachine(),
    revision: describeRevision(),
    versions: describeVersions([...NEST_PACKAGES, ...VERSIONS]),
  };
  const runPrefix = `bench:throttle:${fileStamp(startedAt)}:${process.pid}:`;
  // Per adapter: the turns as they are, and again with the servers capped.
  const { typical, worst } = plannedSeconds(config, 2, ARMS.length);
  const lifetimeSeconds = Math.ceil(worst) + 120;
  const ownServer = process.env.REDIS_URL === undefined ? await startRedisServer() : undefined;
  if (ownServer !== undefined) REDIS_URL = ownServer.url;
  const redis = redisProbe();
  const results = [];
  let redisVersion;
  let own;
  try {
    redisVersion = await redis.version();
    if (ownServer !== undefined) {
      own = await pinOwnRedis(redis, config.pinning);
      log(own.description);
    }
    log(
      `bench/throttle: ${describeLoad(config)}, Redis ${redisVersion} at ${shownRedisUrl()}, ` +
        `about ${Math.ceil((ADAPTERS.length * typical) / 60)} min on a quiet machine` +
        ` (at most ${Math.ceil((ADAPTERS.length * worst) / 60)})`,
    );
    for (const adapter of ADAPTERS) {
      results.push(...(await benchAdapter(adapter, config, lifetimeSeconds, runPrefix, redis)));
    }
  } finally {
    const removed = await redis.removeUnder(runPrefix).catch(() => null);
    if (removed !== null) log(`removed the run's ${removed} Redis keys (${runPrefix}*)`);
    await redis.close();
    await ownServer?.stop();
  }
  const report = {
    benchmark: 'throttle',
    description:
      "req/s of GET /limited (@Public, X-Api-Key, tiers ip + principal + global, never refused) with the rate-limit hits counted by the module's RedisThrottlerStorage, divided by req/s of the same route counted by @nest-lab/throttler-storage-redis (passed to the module as a ThrottlerStorage) and by the module's MemoryThrottlerStorage; each arm its own server process",
    command: commandLine({
      npmScript: 'bench:throttle',
      script: 'bench/throttle.mjs',
      env: ['REDIS_URL'],
    }),
    startedAt,
    finishedAt: new Date().toISOString(),
    valid: results.every((r) => r.valid),
    ...measuredOn,
    redis: {
      url: shownRedisUrl(),
      version: redisVersion,
      keyPrefix: runPrefix,
      started: own === undefined ? 'REDIS_URL, as it runs' : own.description,
      pinnedCpu: own?.pinnedCpu ?? null,
    },
    config: {
      ...config,
      order:
        'per adapter: three servers side by side on the server CPU; a warm-up turn, then turns of one round each: redis, nest-lab, memory; then the same again with each server held to cpuCap of a core by a cgroup CPU quota (rows with cpuCap set; skipped where cgroups cannot be written)',
      statistic:
        'ratio = median(B req/s) / median(A req/s); latencies are medians of per-round p50/p99',
      disturbed:
        'a turn is disturbed when, in one of its rounds, the rest of the machine besides the server, the load generator and the Redis server (INFO cpu) used more than disturbedAboveCores',
      serverBound: `a comparison is serverBound when the median server CPU of both of its arms is at least ${SERVER_BOUND_SHARE} of what the server may use (a core, or cpuCap); otherwise the row measures latency at this many connections as much as throughput, and is printed "latency-bound"`,
      adapters: ADAPTERS,
      route:
        'GET /limited, @Public(), answers {"ok":true}; every request sends X-Api-Key of the configured key "bench"',
      tiers: TIER_NAMES.map((name) => ({
        name,
        by: name,
        limit: 1_000_000_000,
        ttl: name === 'global' ? 1_000 : 60_000,
      })),
      onStoreError:
        'fail-closed (a failing Redis call of our storage is a 503, which invalidates the run)',
      storages: {
        redis:
          'storage: { redis: { url, keyPrefix } }: RedisThrottlerStorage; one EVALSHA per guard (global + ip in the first, principal in the last), auto-pipelined by its own client (the calls of one event-loop turn in one write)',
        nestLab:
          'storage: { increment } of new ThrottlerStorageRedisService(new Redis(url, { keyPrefix })): the module calls increment() once per tier, concurrently within a guard; one EVAL (whole script) each',
        memory: "storage: 'memory': MemoryThrottlerStorage, synchronous",
      },
      loadGenerator:
        'autocannon (programmatic API) in the parent process; servers in child processes',
    },
    targets: Object.fromEntries(COMPARISONS.map((c) => [c.name, c.target])),
    summary: results.flatMap((r) =>
      r.comparisons.map((c) =>
        summaryEntry(
          { [c.a]: r[c.a], [c.b]: r[c.b], ...c, valid: r.valid },
          { adapter: r.adapter, cpuCap: r.cpuCap, comparison: c.name },
          c.b,
          c.a,
        ),
      ),
    ),
    results,
  };
  printResults(results);
  for (const r of results) {
    for (const c of r.comparisons) {
      log(`${rowName(r)}: ${c.name} ${c.ratio} ${c.pass ? 'PASS' : 'MISS'} (target ≥ ${c.target})`);
    }
  }
  finishRun(report, {
    name: `throttle-${fileStamp(startedAt)}${config.quick ? '-quick' : ''}`,
    latest: 'latest-throttle',
    quick: config.quick,
  });
}

runMain(main);
