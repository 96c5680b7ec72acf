// Logging overhead benchmark: req/s of GET /items/:id with the module's logging on (a masked
// completion line per request to an asynchronous destination, the request context, the debug
// interceptor's level check) divided by req/s of the same route with logging: false, on Express
// and Fastify. Logging is configured per process (nestjs-pino keeps one root logger), so each
// arm is its own server process; both run side by side on the server CPU. See bench/README.md,
// "Logging over HTTP".
//
//   npm run bench:logging       (builds first; same as: npm run build && node bench/logging.mjs)
//   BENCH_QUICK=1 node bench/logging.mjs     smoke test: 2 rounds of 2 s, not kept as latest
//   BENCH_ROUNDS, BENCH_SECONDS, BENCH_CONNECTIONS, BENCH_PIN, BENCH_QUIET_WAIT as for bench/run.mjs
import { join } from 'node:path';
import { commandLine, describeLoad, log, readLoadConfig, setProgramName } from './lib/cli.mjs';
import {
  BENCH_DIR,
  describeMachine,
  describeRevision,
  describeVersions,
  NEST_PACKAGES,
} from './lib/machine.mjs';
import { preflightChecks } from './lib/preflight.mjs';
import { installStopHandlers, runMain, startServer, stopChild } from './lib/processes.mjs';
import { abFigures, measureInterleaved, plannedSeconds } from './lib/rounds.mjs';
import { fileStamp, finishRun, printTable, summaryEntry } from './lib/results.mjs';

setProgramName('bench/logging');

const SERVER = join(BENCH_DIR, 'logging-server.mjs');
const ADAPTERS = ['express', 'fastify'];

/** Minimum logged ÷ unlogged ratio, from the issue. */
const TARGET = 0.9;

const REQUEST = Object.freeze({
  path: '/items/a1b2c3',
  headers: { 'user-agent': 'bench/logging (autocannon)' },
});

/**
 * Refuses to measure unless both arms answer the route, the logged arm writes exactly one line
 * per request (a completion line; the count comes from the destination itself) and the other
 * writes none.
 */
async function preflight(off, on) {
  const lines = async (server) => {
    const response = await fetch(`${server.url}/log-lines`);
    return (await response.json()).lines;
  };
  const item = (expected) => ({
    description: `GET ${REQUEST.path}`,
    ...REQUEST,
    expected: 200,
    verify: (json) => (json?.ok === true && json.id === 'a1b2c3' ? null : `expected ${expected}`),
  });
  await preflightChecks(off.url, [item('{"ok":true,"id":"a1b2c3"}')]);
  const before = await lines(on);
  await preflightChecks(on.url, [item('{"ok":true,"id":"a1b2c3"}')]);
  // The /log-lines call itself is logged once it completes, after it answered.
  const after = await lines(on);
  if (after - before !== 2) {
    throw new Error(`preflight: the logged arm wrote ${after - before} lines for 2 requests`);
  }
  if ((await lines(off)) !== 0) throw new Error('preflight: the unlogged arm wrote log lines');
}

async function benchAdapter(adapter, config, lifetimeSeconds) {
  const servers = [];
  try {
    for (const logging of ['off', 'on']) {
      servers.push(
        await startServer({
          script: SERVER,
          args: [
            `--adapter=${adapter}`,
            `--logging=${logging}`,
            `--max-seconds=${lifetimeSeconds}`,
          ],
          label: `${adapter} logging server (${logging})`,
          pinning: config.pinning,
        }),
      );
    }
    const [off, on] = servers;
    await preflight(off, on);
    const measured = await measureInterleaved(
      off,
      [
        ['off', REQUEST, off],
        ['on', REQUEST, on],
      ],
      config,
      adapter.padEnd(7),
    );
    return { adapter, ...abFigures(measured, ['off', 'on'], TARGET, config) };
  } finally {
    await Promise.all(servers.map((server) => stopChild(server.child)));
  }
}

async function main() {
  installStopHandlers();
  const config = readLoadConfig();
  const startedAt = new Date().toISOString();
  const { typical, worst } = plannedSeconds(config, 1);
  const lifetimeSeconds = Math.ceil(worst) + 120;
  log(
    `bench/logging: ${describeLoad(config)}, ` +
      `about ${Math.ceil((ADAPTERS.length * typical) / 60)} min on a quiet machine` +
      ` (at most ${Math.ceil((ADAPTERS.length * worst) / 60)})`,
  );
  const results = [];
  for (const adapter of ADAPTERS)
    results.push(await benchAdapter(adapter, config, lifetimeSeconds));
  const report = {
    benchmark: 'logging',
    description:
      'req/s of GET /items/:id (@Public) with the module logging on (one masked completion line per request to an asynchronous sonic-boom destination on /dev/null) divided by req/s of the same route with logging: false; each arm its own server process',
    command: commandLine({ npmScript: 'bench:logging', script: 'bench/logging.mjs' }),
    startedAt,
    finishedAt: new Date().toISOString(),
    valid: results.every((r) => r.valid),
    machine: describeMachine(),
    revision: describeRevision(),
    versions: describeVersions([
      ...NEST_PACKAGES,
      'nestjs-pino',
      'pino',
      'pino-http',
      'autocannon',
    ]),
    config: {
      ...config,
      order:
        'per adapter: two servers side by side on the server CPU; warm-up off, warm-up on, then off on off on …',
      statistic:
        'ratio = median(on req/s) / median(off req/s); latencies are medians of per-round p50/p99',
      adapters: ADAPTERS,
      request: REQUEST,
      loadGenerator:
        'autocannon (programmatic API) in the parent process; servers in child processes',
    },
    target: TARGET,
    summary: results.map((r) => summaryEntry(r, { adapter: r.adapter }, 'off', 'on')),
    results,
  };
  printTable(
    [
      'adapter',
      'off req/s',
      'on req/s',
      'ratio',
      '+µs/req',
      'target',
      'result',
      'server CPU off/on',
    ],
    results.map((r) => [
      r.adapter,
      r.off.median.reqPerSec.toFixed(0),
      r.on.median.reqPerSec.toFixed(0),
      r.ratio.toFixed(3),
      r.addedMicrosPerRequest.toFixed(1),
      `≥ ${TARGET.toFixed(2)}`,
      (!r.valid ? 'INVALID' : r.pass ? 'PASS' : 'MISS') + (r.disturbed ? ' (disturbed)' : ''),
      `${r.off.median.serverCores.toFixed(2)}/${r.on.median.serverCores.toFixed(2)}`,
    ]),
  );
  for (const r of results) {
    log(`${r.adapter}: ratio ${r.ratio} ${r.pass ? 'PASS' : 'MISS'} (target ≥ ${TARGET})`);
  }
  finishRun(report, {
    name: `logging-${fileStamp(startedAt)}${config.quick ? '-quick' : ''}`,
    latest: 'latest-logging',
    quick: config.quick,
  });
}

runMain(main);
