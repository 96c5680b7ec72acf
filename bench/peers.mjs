// The peers benchmark (issue 8): the same two routes with the same checks under
// @secure-api/nestjs (verified-token cache on and off), the usual peer stack of each adapter,
// and no security at all, on Nest/Express and Nest/Fastify, with RS256 and ES256 tokens.
// See bench/README.md, "peers".
//
//   npm run bench:peers            # build, then node bench/peers.mjs
//   BENCH_QUICK=1 node bench/peers.mjs
//   node bench/peers.mjs --chart bench/results/peers.json   # only redraw the SVG from a JSON
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { createLocalIssuer } from '@secure-api/testing';
import {
  commandLine,
  describeLoad,
  integerFromEnv,
  log,
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
import { CONFIGURATION_LABELS, renderPeersChart } from './lib/peers-chart.mjs';
import { CREATE_ITEM_BODY, INVALID_ITEM_BODY } from './lib/create-item-dto.mjs';
import { preflightChecks } from './lib/preflight.mjs';
import { installStopHandlers, runMain, startServer, stopChild } from './lib/processes.mjs';
import { isDisturbed, measureRound } from './lib/rounds.mjs';
import { failures, median, round, summarise } from './lib/stats.mjs';
import { fileStamp, printTable, RESULTS_DIR, writeResults } from './lib/results.mjs';

setProgramName('bench/peers');

const SERVER = join(BENCH_DIR, 'peers-server.mjs');
const CHART = join(RESULTS_DIR, 'peers.svg');

const ADAPTERS = ['express', 'fastify'];
const ALGORITHMS = ['RS256', 'ES256'];
const ROUTES = ['get', 'post'];
const CONFIGURATIONS = Object.keys(CONFIGURATION_LABELS);

/** From the issue; reported, never tuned for. */
const TARGETS = Object.freeze({
  oursCacheOffVsPeer: 1.0,
  oursCacheOnVsPeer: 1.5,
  oursCacheOnVsBare: 0.85,
});

const SCOPES = ['bench.read', 'bench.write'];

function stackOf(configuration, adapter) {
  if (configuration.startsWith('ours')) return 'ours';
  if (configuration === 'peer') return `${adapter}-peer`;
  return 'bare';
}

function describeVersionsOfPeers() {
  return describeVersions([
    ...NEST_PACKAGES,
    'express-oauth2-jwt-bearer',
    ['jose', ['express-oauth2-jwt-bearer']],
    '@nestjs/throttler',
    'nestjs-pino',
    'pino-http',
    'pino',
    '@fastify/jwt',
    ['fast-jwt', ['@fastify/jwt']],
    'get-jwks',
    '@fastify/rate-limit',
    'class-validator',
    'class-transformer',
    'autocannon',
    'echarts',
  ]);
}

/** Lines the server has written to its log destination, asked over IPC; null if it cannot say. */
function serverLines(child) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('message', onMessage);
      resolve(null);
    }, 2_000);
    function onMessage(message) {
      if (message && typeof message === 'object' && 'lines' in message) {
        clearTimeout(timer);
        child.off('message', onMessage);
        resolve(message.lines);
      }
    }
    child.on('message', onMessage);
    try {
      child.send('lines');
    } catch {
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(null);
    }
  });
}

/** One round, with the server's CPU µs per request and log lines per request added. */
async function measureArm(server, request, config) {
  const linesBefore = await serverLines(server.child);
  const result = await measureRound(server, request, config);
  const linesAfter = await serverLines(server.child);
  const completed = result.requests;
  return {
    ...result,
    cpuMicrosPerRequest:
      result.cpuCores.server === null || result.reqPerSec === 0
        ? null
        : round((result.cpuCores.server * 1e6) / result.reqPerSec, 1),
    // autocannon's total counts completed responses; a few lines of requests still in flight at
    // the round's edges make this approximate (±connections / requests).
    logLinesPerRequest:
      linesBefore === null || linesAfter === null || completed === 0
        ? null
        : round((linesAfter - linesBefore) / completed, 3),
  };
}

function requestFor(route, token) {
  const headers = { authorization: `Bearer ${token}` };
  return route === 'get'
    ? { path: '/items', headers }
    : {
        path: '/items',
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: CREATE_ITEM_BODY,
      };
}

function preflightFor(stack, tokens, issuer) {
  const bearer = (token) => ({ authorization: `Bearer ${token}` });
  const json = { 'content-type': 'application/json' };
  const checks = ALGORITHMS.flatMap((alg) => [
    {
      description: `GET /items ${alg}`,
      path: '/items',
      headers: bearer(tokens[alg]),
      expected: 200,
    },
    {
      description: `POST /items ${alg}`,
      path: '/items',
      method: 'POST',
      headers: { ...bearer(tokens[alg]), ...json },
      body: CREATE_ITEM_BODY,
      expected: 201,
    },
  ]);
  if (stack === 'bare') return checks;
  const minted = (options) => issuer.mint({ scope: SCOPES, ...options });
  return [
    ...checks,
    { description: 'GET /items without a token', path: '/items', expected: 401 },
    {
      description: 'GET /items with an expired token',
      path: '/items',
      headers: bearer(minted({ expired: true })),
      expected: 401,
    },
    {
      description: 'GET /items with another audience',
      path: '/items',
      headers: bearer(minted({ wrongAudience: true })),
      expected: 401,
    },
    {
      description: 'GET /items from another issuer',
      path: '/items',
      headers: bearer(minted({ wrongIssuer: true })),
      expected: 401,
    },
    {
      description: 'GET /items with a bad signature',
      path: '/items',
      headers: bearer(`${tokens.RS256.slice(0, -4)}AAAA`),
      expected: 401,
    },
    {
      description: 'GET /items without the scope',
      path: '/items',
      headers: bearer(issuer.mint({ scope: ['bench.write'] })),
      expected: 403,
    },
    {
      description: 'POST /items with an invalid body',
      path: '/items',
      method: 'POST',
      headers: { ...bearer(tokens.RS256), ...json },
      body: INVALID_ITEM_BODY,
      expected: 400,
    },
  ];
}

function readConfig() {
  const load = readLoadConfig();
  return Object.freeze({
    ...load,
    // Repeats of every arm (the issue's three); BENCH_ROUNDS overrides.
    repeats: process.env.BENCH_ROUNDS ? load.rounds : load.quick ? 1 : 3,
    warmupSeconds: integerFromEnv('BENCH_WARMUP', load.quick ? 1 : 3, 60),
  });
}

/** Seconds the servers (and tokens) must outlive: every round twice, and every quiet wait. */
function plannedSeconds(config, arms, groups) {
  const perRound = config.seconds + 1;
  const typical =
    arms * (config.warmupSeconds + 1 + config.repeats * perRound) + groups * config.repeats;
  const worst =
    arms * (config.warmupSeconds + 1 + 2 * config.repeats * perRound) +
    groups * config.repeats * config.quietWaitSeconds;
  return { typical: Math.round(typical), worst: Math.round(worst) };
}

function rotate(list, by) {
  const shift = by % list.length;
  return [...list.slice(shift), ...list.slice(0, shift)];
}

function ratio(a, b) {
  return a && b ? round(a / b, 3) : null;
}

function cellSummary(cell) {
  const figure = (id) => cell.configurations[id]?.median.reqPerSec;
  const check = (value, target) => ({ value, target, pass: value !== null && value >= target });
  return {
    oursCacheOffVsPeer: check(
      ratio(figure('ours-cache-off'), figure('peer')),
      TARGETS.oursCacheOffVsPeer,
    ),
    oursCacheOnVsPeer: check(
      ratio(figure('ours-cache-on'), figure('peer')),
      TARGETS.oursCacheOnVsPeer,
    ),
    oursCacheOnVsBare: check(
      ratio(figure('ours-cache-on'), figure('bare')),
      TARGETS.oursCacheOnVsBare,
    ),
  };
}

function armSummary(rounds, warmup, discarded, config) {
  return {
    median: {
      ...summarise(rounds),
      cpuMicrosPerRequest: median(rounds.map((r) => r.cpuMicrosPerRequest ?? NaN)),
      logLinesPerRequest: median(rounds.map((r) => r.logLinesPerRequest ?? NaN)),
    },
    disturbed: rounds.some((r) => isDisturbed(r, config)),
    warmup,
    rounds,
    discardedRounds: discarded,
  };
}

function markdownTable(report) {
  const rows = [
    '| Adapter | Alg | Route | Configuration | req/s | p50 ms | p99 ms | CPU µs/req | log lines/req |',
    '| ------- | --- | ----- | ------------- | ----: | -----: | -----: | ---------: | ------------: |',
  ];
  for (const cell of report.cells) {
    for (const id of CONFIGURATIONS) {
      const m = cell.configurations[id].median;
      rows.push(
        `| ${cell.adapter} | ${cell.alg} | ${cell.route.toUpperCase()} | ${id} | ` +
          `${Math.round(m.reqPerSec).toLocaleString('en-US').replace(/,/g, ' ')} | ${m.latencyP50Ms} | ` +
          `${m.latencyP99Ms} | ${m.cpuMicrosPerRequest.toFixed(1)} | ${m.logLinesPerRequest} |`,
      );
    }
  }
  rows.push('');
  rows.push(
    '| Adapter | Alg | Route | ours off ÷ peer (≥ 1.0) | ours on ÷ peer (≥ 1.5) | ours on ÷ bare (≥ 0.85) |',
  );
  rows.push('| ------- | --- | ----- | ----: | ----: | ----: |');
  const cellText = ({ value, pass }) => `${value?.toFixed(3) ?? '—'} ${pass ? 'pass' : 'miss'}`;
  for (const cell of report.cells) {
    rows.push(
      `| ${cell.adapter} | ${cell.alg} | ${cell.route.toUpperCase()} | ` +
        `${cellText(cell.ratios.oursCacheOffVsPeer)} | ${cellText(cell.ratios.oursCacheOnVsPeer)} | ` +
        `${cellText(cell.ratios.oursCacheOnVsBare)} |`,
    );
  }
  return rows.join('\n');
}

async function measure() {
  const config = readConfig();
  installStopHandlers();
  const startedAt = new Date().toISOString();
  log(
    `bench/peers: ${describeLoad(config).replace(/^\d+ measured rounds/, `${config.repeats} repeats`)}`,
  );
  log(`  warm-up ${config.warmupSeconds} s per arm; configurations interleaved within each repeat`);

  const servers = [];
  for (const adapter of ADAPTERS) {
    for (const configuration of CONFIGURATIONS) servers.push({ adapter, configuration });
  }
  const arms = servers.length * ALGORITHMS.length * ROUTES.length;
  const groups = ADAPTERS.length * ALGORITHMS.length * ROUTES.length;
  const planned = plannedSeconds(config, arms, groups);
  log(`  ${arms} arms, about ${Math.ceil(planned.typical / 60)} min on a quiet machine`);
  const lifetime = planned.worst + 300;

  // The issuer lives here, on the load generator's core: the servers fetch its JWKS once.
  const issuer = await createLocalIssuer({ algorithms: ALGORITHMS });
  const tokens = Object.fromEntries(
    ALGORITHMS.map((alg) => [alg, issuer.mint({ alg, scope: SCOPES, expiresInSeconds: lifetime })]),
  );
  const started = [];
  try {
    for (const server of servers) {
      const stack = stackOf(server.configuration, server.adapter);
      const cache = server.configuration === 'ours-cache-off' ? 'off' : 'on';
      const running = await startServer({
        script: SERVER,
        args: [
          `--stack=${stack}`,
          `--adapter=${server.adapter}`,
          `--cache=${cache}`,
          `--issuer=${issuer.url}`,
          `--audience=${issuer.audience}`,
          `--jwks-uri=${issuer.jwksUri}`,
          `--max-seconds=${lifetime}`,
        ],
        label: `${server.adapter} ${server.configuration} server`,
        pinning: config.pinning,
      });
      started.push(running);
      server.running = running;
      server.stack = stack;
      await preflightChecks(running.url, preflightFor(stack, tokens, issuer));
    }
    log(`  ${servers.length} servers up, preflight passed (401/403/400 where they must be)`);

    const cells = [];
    for (const adapter of ADAPTERS) {
      for (const alg of ALGORITHMS) {
        for (const route of ROUTES) {
          const members = servers.filter((server) => server.adapter === adapter);
          cells.push({ adapter, alg, route, members, rounds: {}, warmup: {}, discarded: {} });
        }
      }
    }
    const request = (cell) => requestFor(cell.route, tokens[cell.alg]);

    for (const cell of cells) {
      for (const member of cell.members) {
        cell.warmup[member.configuration] = await measureArm(member.running, request(cell), {
          ...config,
          seconds: config.warmupSeconds,
        });
        cell.rounds[member.configuration] = [];
        cell.discarded[member.configuration] = [];
      }
    }
    log(`  warm-up done`);

    for (let repeat = 0; repeat < config.repeats; repeat += 1) {
      for (const cell of rotate(cells, repeat)) {
        const quiet = await awaitQuiet(config);
        const line = [];
        for (const member of rotate(cell.members, repeat)) {
          let result = await measureArm(member.running, request(cell), config);
          if (isDisturbed(result, config)) {
            cell.discarded[member.configuration].push(result);
            result = await measureArm(member.running, request(cell), config);
          }
          cell.rounds[member.configuration].push({ ...result, quietWait: quiet });
          line.push(
            `${member.configuration} ${result.reqPerSec.toFixed(0)}` +
              (failures(result) > 0 ? ` (FAILED ${failures(result)})` : ''),
          );
        }
        log(
          `  repeat ${repeat + 1}/${config.repeats} ${cell.adapter} ${cell.alg} ${cell.route}: ${line.join('  ')}`,
        );
      }
    }

    const resultCells = cells.map((cell) => {
      const configurations = Object.fromEntries(
        cell.members.map((member) => [
          member.configuration,
          {
            stack: member.stack,
            ...armSummary(
              cell.rounds[member.configuration],
              cell.warmup[member.configuration],
              cell.discarded[member.configuration],
              config,
            ),
          },
        ]),
      );
      const summary = { adapter: cell.adapter, alg: cell.alg, route: cell.route, configurations };
      return { ...summary, ratios: cellSummary(summary) };
    });
    const valid = resultCells.every((cell) =>
      Object.values(cell.configurations).every((arm) => failures(arm.median) === 0),
    );
    const stamp = fileStamp(startedAt);
    const name = `peers-${stamp}${config.quick ? '-quick' : ''}`;
    const report = {
      benchmark: 'peers',
      quick: config.quick,
      startedAt,
      finishedAt: new Date().toISOString(),
      command: commandLine({
        npmScript: 'bench:peers',
        script: 'bench/peers.mjs',
        env: ['BENCH_WARMUP'],
      }),
      machine: describeMachine(),
      revision: describeRevision(),
      versions: describeVersionsOfPeers(),
      config: {
        repeats: config.repeats,
        seconds: config.seconds,
        warmupSeconds: config.warmupSeconds,
        connections: config.connections,
        pipelining: config.pipelining,
        pinning: config.pinning,
        quietBelowCores: config.quietBelowCores,
        disturbedAboveCores: config.disturbedAboveCores,
        postBody: JSON.parse(CREATE_ITEM_BODY),
      },
      targets: TARGETS,
      valid,
      files: [`${name}.json`],
      cells: resultCells,
    };
    const files = writeResults(report, { name, latest: 'peers', quick: config.quick });
    report.files = files;

    printTable(
      [
        'adapter',
        'alg',
        'route',
        'configuration',
        'req/s',
        'p50',
        'p99',
        'cpu µs/req',
        'lines/req',
      ],
      resultCells.flatMap((cell) =>
        CONFIGURATIONS.map((id) => {
          const m = cell.configurations[id].median;
          return [
            cell.adapter,
            cell.alg,
            cell.route,
            id,
            Math.round(m.reqPerSec),
            m.latencyP50Ms,
            m.latencyP99Ms,
            m.cpuMicrosPerRequest,
            m.logLinesPerRequest,
          ];
        }),
      ),
    );
    log(markdownTable(report));
    if (!config.quick) {
      writeFileSync(CHART, renderPeersChart(report));
      log(`wrote bench/results/${basename(CHART)}`);
    }
    if (!valid) {
      log('INVALID run: some measured requests got non-2xx answers, errors or timeouts');
      process.exitCode = 1;
    }
  } finally {
    await Promise.all(started.map((server) => stopChild(server.child)));
    await issuer.close().catch(() => undefined);
  }
}

async function main() {
  const { values } = parseArgs({ options: { chart: { type: 'string' } }, strict: true });
  if (values.chart) {
    const report = JSON.parse(readFileSync(values.chart, 'utf8'));
    writeFileSync(CHART, renderPeersChart(report));
    log(`wrote bench/results/${basename(CHART)} from ${values.chart}`);
    return;
  }
  await measure();
}

runMain(main);
