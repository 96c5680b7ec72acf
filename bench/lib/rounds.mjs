// One autocannon round against a server child, and interleaved A/B rounds gated on a quiet
// machine.
import autocannon from 'autocannon';
import { log } from './cli.mjs';
import { awaitQuiet, machineCpuMicros } from './machine.mjs';
import { serverCpu, trackRound } from './processes.mjs';
import { compare, failures, round, summarise } from './stats.mjs';

const ROUND_GRACE_MS = 20_000;

/**
 * Runs `run()`, one round of load against `server` from this process, and measures meanwhile the
 * CPU, in cores, of the server (over IPC), of this process (the load generator) and of the rest
 * of the machine (from /proc/stat). Resolves to `{ result, wallMicros, cpuCores }`, `result`
 * being what `run()` resolved to.
 */
export async function withCpuCores(server, run) {
  if (server.child.exitCode !== null || server.child.signalCode !== null) {
    throw new Error(
      `the server is not running (it exited with ${server.child.signalCode ?? server.child.exitCode})`,
    );
  }
  const serverBefore = await serverCpu(server.child);
  const machineBefore = machineCpuMicros();
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  const result = await run();
  const wallMicros = Number(process.hrtime.bigint() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const machineAfter = machineCpuMicros();
  const serverAfter = await serverCpu(server.child);
  const loadGeneratorCores = (cpu.user + cpu.system) / wallMicros;
  const serverCores =
    serverBefore === null || serverAfter === null
      ? null
      : (serverAfter - serverBefore) / wallMicros;
  const otherCores =
    machineBefore === null || machineAfter === null || serverCores === null
      ? null
      : Math.max(0, (machineAfter - machineBefore) / wallMicros - loadGeneratorCores - serverCores);
  return {
    result,
    wallMicros,
    // In cores. Server near 1 and load generator well below means the server was the
    // bottleneck, as it should be; `other` is what the rest of the machine used meanwhile.
    cpuCores: {
      server: serverCores === null ? null : round(serverCores, 2),
      loadGenerator: round(loadGeneratorCores, 2),
      other: otherCores === null ? null : round(otherCores, 2),
    },
  };
}

/**
 * One round of `config.seconds` s at `config.connections` connections against
 * `server.url + request.path`. `request`: `{ path, method?, headers?, body?, tlsOptions? }`
 * (body a string, sent on every request; tlsOptions `{ ca, cert, key }` for an https: server,
 * given to autocannon, which connects with them but never checks the server's certificate).
 * Returns req/s, latencies, status counts and the CPU, in cores, of the server, of this process
 * (the load generator) and of the rest of the machine.
 */
export async function measureRound(server, request, config) {
  const { result, cpuCores } = await withCpuCores(server, async () => {
    const instance = autocannon({
      url: `${server.url}${request.path}`,
      connections: config.connections,
      pipelining: config.pipelining,
      duration: config.seconds,
      headers: request.headers ?? {},
      ...(request.method === undefined ? {} : { method: request.method }),
      ...(request.body === undefined ? {} : { body: request.body }),
      ...(request.tlsOptions === undefined ? {} : { tlsOptions: request.tlsOptions }),
    });
    trackRound(instance);
    const watchdog = setTimeout(() => instance.stop(), config.seconds * 1000 + ROUND_GRACE_MS);
    try {
      return await instance;
    } finally {
      clearTimeout(watchdog);
      trackRound(undefined);
    }
  });
  return {
    reqPerSec: result.requests.average,
    requests: result.requests.total,
    durationSeconds: result.duration,
    latencyMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes: Object.fromEntries(
      Object.entries(result.statusCodeStats).map(([code, stat]) => [code, stat.count]),
    ),
    cpuCores,
  };
}

export function isDisturbed(result, config) {
  return result.cpuCores.other !== null && result.cpuCores.other > config.disturbedAboveCores;
}

/**
 * Interleaved rounds on one server: a warm-up round of each route (not counted), then, until
 * every route has `config.rounds` counted rounds, a wait for a quiet machine and one round of
 * each route in turn (A, B, [C…]). `routes` is `[[name, request, routeServer?], …]` (a route
 * with a `routeServer` of its own is measured against that one: arms that need a process each,
 * such as logging on and off); the first two are the A/B
 * pair: a pair during which other processes used more than `config.disturbedAboveCores` in A or
 * B is discarded and measured again, at most `config.rounds` times, then kept. Later routes are
 * measured in the same turns and never decide. Prints one line per measured pair, starting
 * with `label`.
 *
 * `options.measure(server, request, config)` measures one round (default
 * {@link measureRound}); a round of another kind (TLS handshakes, say) must resolve to the same
 * shape (`reqPerSec`, `latencyMs`, `non2xx`, `errors`, `timeouts`, `cpuCores`), and
 * `options.unit` names its rate in the printed lines (default `'req/s'`).
 * `options.deciders` (default 2) is how many of the first routes decide whether a turn was
 * disturbed, and are printed: 3 when the third route is one side of a ratio too.
 *
 * Returns `{ warmup: { name: round }, rounds: { name: [round…] }, discarded: [pair…],
 * quietWaits }`.
 */
export async function measureInterleaved(server, routes, config, label, options = {}) {
  const { measure = measureRound, unit = 'req/s', deciders = 2 } = options;
  const [a] = routes.map(([name]) => name);
  const deciding = routes.slice(0, Math.max(2, deciders)).map(([name]) => name);
  const measurePair = async () => {
    const pair = {};
    for (const [name, request, routeServer] of routes) {
      pair[name] = await measure(routeServer ?? server, request, config);
    }
    return pair;
  };
  const warmup = await measurePair();
  const rounds = Object.fromEntries(routes.map(([name]) => [name, []]));
  const discarded = [];
  const quietWaits = [];
  let extraPairsLeft = config.rounds;
  while (rounds[a].length < config.rounds) {
    const quiet = await awaitQuiet(config);
    quietWaits.push(quiet);
    const pair = await measurePair();
    const disturbed = deciding.some((name) => isDisturbed(pair[name], config));
    const counted = !disturbed || extraPairsLeft === 0;
    const sum = (field) => deciding.reduce((total, name) => total + pair[name][field], 0);
    const status = deciding.some((name) => failures(pair[name]) > 0)
      ? `  non-2xx ${sum('non2xx')}, errors ${sum('errors')}, timeouts ${sum('timeouts')}`
      : '';
    log(
      `  ${label} ${counted ? `round ${rounds[a].length + 1}/${config.rounds}` : 'disturbed  '} ` +
        deciding
          .map((name) => `${name} ${pair[name].reqPerSec.toFixed(0).padStart(6)}`)
          .join('  ') +
        ` ${unit}` +
        `  other load ${deciding.map((name) => pair[name].cpuCores.other ?? '?').join('/')} cores` +
        (counted && disturbed ? ' (kept: no repeats left)' : '') +
        status,
    );
    if (counted) {
      for (const [name] of routes) rounds[name].push(pair[name]);
    } else {
      extraPairsLeft -= 1;
      discarded.push(pair);
    }
  }
  return { warmup, rounds, discarded, quietWaits };
}

/**
 * How long one server is needed for `pairings` runs of measureInterleaved, in seconds, with
 * `routesPerPair` rounds a turn: `typical` on a quiet machine, `worst` with every measured pair
 * repeated once and every quiet wait used up. Servers (and tokens) should outlive `worst` with
 * room to spare, and no longer.
 */
export function plannedSeconds(config, pairings, routesPerPair = 2) {
  const pairSeconds = routesPerPair * (config.seconds + 1.5);
  return {
    typical: pairings * (config.warmupRounds + config.rounds) * (pairSeconds + 1),
    worst:
      pairings *
      (config.warmupRounds * pairSeconds +
        2 * config.rounds * (pairSeconds + config.quietWaitSeconds + 1)),
  };
}

/**
 * The figures of an A/B run of {@link measureInterleaved}: each arm's median, warm-up and rounds
 * under its name, B against A (`ratio`, `medianRoundRatio`, `addedMicrosPerRequest`), whether
 * the ratio meets `target`, whether every response was a 2xx (`valid`), whether a kept round was
 * disturbed, and the discarded pairs and quiet waits. `names` is `[a, b]`.
 */
export function abFigures(measured, [a, b], target, config) {
  const arm = (name) => ({
    median: summarise(measured.rounds[name]),
    warmup: measured.warmup[name],
    rounds: measured.rounds[name],
  });
  const first = arm(a);
  const second = arm(b);
  const figures = compare(first, second);
  return {
    ...figures,
    target,
    pass: figures.ratio >= target,
    valid: failures(first.median) + failures(second.median) === 0,
    disturbed: [...first.rounds, ...second.rounds].some((r) => isDisturbed(r, config)),
    [a]: first,
    [b]: second,
    discardedPairs: measured.discarded,
    quietWaits: measured.quietWaits,
  };
}
