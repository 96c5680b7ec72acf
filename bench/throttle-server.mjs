// The server of the rate-limiting benchmark, run as a child process of bench/throttle.mjs: a Nest
// app with SecureApiModule whose `throttle` option has the three tiers (ip, principal,
// global), limits so high that nothing is ever refused, and one route:
//
//   GET /limited  @Public(), answers {"ok":true}. Called with a configured X-Api-Key, so that
//                 every request is counted in all three tiers: global + ip in the first guard
//                 (one storage call), principal (the API key) in the last one.
//
// Where the hits are counted is the one thing that differs between the arms (--storage):
//
//   redis     storage: { redis: { url, keyPrefix } }, the module's RedisThrottlerStorage: one
//             EVALSHA per guard, whatever the number of tiers it decides
//   nest-lab  storage: new ThrottlerStorageRedisService(new Redis(url, { keyPrefix })), from
//             @nest-lab/throttler-storage-redis: the module calls its increment() once per tier
//             (concurrently), one EVAL each
//   memory    storage: 'memory', the module's MemoryThrottlerStorage
//
// onStoreError is 'fail-closed': if our Redis storage ever failed or timed out, the request would
// get a 503 (which makes the run invalid) instead of being counted in memory unseen.
//
// It prints one JSON line, { url, adapter, storage }, once the app listens (and, for nest-lab,
// once its Redis client is ready); it serves until stdin closes, a SIGTERM/SIGINT arrives, the
// IPC channel closes or --max-seconds pass, whichever comes first.
//
//   node bench/throttle-server.mjs --adapter express|fastify --storage redis|nest-lab|memory \
//     --redis-url redis://127.0.0.1:6379 --key-prefix bench:throttle:<run>:<arm>: \
//     --api-key-sha256 <hex> [--max-seconds 3600]
//
// Uses the built packages (npm run build), as a consumer would.
import 'reflect-metadata';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { Controller, Get } from '@nestjs/common';
import { Public } from '@secure-api/nestjs';
import { Redis } from 'ioredis';
import { fail, setProgramName, warn } from './lib/cli.mjs';
import {
  adapterOption,
  announceReady,
  decorateClass,
  decorateMethod,
  positiveSeconds,
  serveBenchApp,
} from './lib/server-child.mjs';

setProgramName('bench/throttle-server');

const STORAGES = Object.freeze(['redis', 'nest-lab', 'memory']);

/** High enough that no tier ever refuses a request of a run (the module's maximum). */
const LIMIT = 1_000_000_000;

/** The three tiers; every arm gets exactly these. */
const TIERS = Object.freeze([
  { name: 'ip', by: 'ip', limit: LIMIT, ttl: 60_000 },
  { name: 'principal', by: 'principal', limit: LIMIT, ttl: 60_000 },
  { name: 'global', by: 'global', limit: LIMIT, ttl: 1_000 },
]);

const REDIS_READY_TIMEOUT_MS = 5_000;

function readArguments() {
  const { values } = parseArgs({
    options: {
      adapter: { type: 'string' },
      storage: { type: 'string' },
      'redis-url': { type: 'string' },
      'key-prefix': { type: 'string' },
      'api-key-sha256': { type: 'string' },
      'max-seconds': { type: 'string', default: '3600' },
    },
    strict: true,
  });
  if (!STORAGES.includes(values.storage ?? '')) {
    fail(`--storage must be one of ${STORAGES.join(', ')} (got ${JSON.stringify(values.storage)})`);
  }
  if (!/^[0-9a-f]{64}$/.test(values['api-key-sha256'] ?? '')) {
    fail('--api-key-sha256 must be 64 lower-case hex digits (hashApiKey of the key)');
  }
  if (values.storage !== 'memory' && (!values['redis-url'] || !values['key-prefix'])) {
    fail(`--storage ${values.storage} needs --redis-url and --key-prefix`);
  }
  return {
    adapter: adapterOption(values.adapter),
    storage: values.storage,
    redisUrl: values['redis-url'],
    keyPrefix: values['key-prefix'],
    apiKeySha256: values['api-key-sha256'],
    maxSeconds: positiveSeconds(values['max-seconds'], 'max-seconds'),
  };
}

class ThrottleBenchController {
  limited() {
    return { ok: true };
  }
}
decorateMethod(ThrottleBenchController, 'limited', [Get('limited'), Public()]);
const DecoratedController = decorateClass(ThrottleBenchController, [Controller()]);

/** `@nest-lab/throttler-storage-redis` as its README sets it up, once its client is ready. */
async function nestLabStorage(url, keyPrefix) {
  const client = new Redis(url, { keyPrefix });
  try {
    await once(client, 'ready', { signal: AbortSignal.timeout(REDIS_READY_TIMEOUT_MS) });
  } catch (error) {
    client.disconnect();
    throw new Error(`nest-lab: Redis at ${url} not ready within ${REDIS_READY_TIMEOUT_MS} ms`, {
      cause: error,
    });
  }
  return { client, storage: new ThrottlerStorageRedisService(client) };
}

async function main() {
  const options = readArguments();
  const nestLab =
    options.storage === 'nest-lab'
      ? await nestLabStorage(options.redisUrl, options.keyPrefix)
      : undefined;
  const storage =
    options.storage === 'memory'
      ? 'memory'
      : options.storage === 'redis'
        ? { redis: { url: options.redisUrl, keyPrefix: options.keyPrefix } }
        : nestLab?.storage;
  // The route is public, but the module needs an issuer to boot: a local one, on loopback.
  // SecureApiModule waits (up to 2 s) for its own Redis storage to connect before listening.
  const { booted } = await serveBenchApp({
    adapter: options.adapter,
    maxSeconds: options.maxSeconds,
    algorithms: ['RS256'],
    options: {
      throttle: {
        tiers: TIERS,
        storage,
        onStoreError: 'fail-closed',
        apiKeys: [{ id: 'bench', sha256: options.apiKeySha256 }],
      },
    },
    controllers: [DecoratedController],
    // A client passed in is the app's to close: neither the module nor Nest closes it.
    onClose: async () => {
      await nestLab?.client.quit();
    },
  });
  announceReady({ url: booted.url, adapter: options.adapter, storage: options.storage });
}

main().catch((error) => {
  warn(String(error?.stack ?? error));
  process.exit(1);
});
