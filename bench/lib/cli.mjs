// Messages and environment options shared by the benchmark runners and their servers.
import { spawnSync } from 'node:child_process';
import os from 'node:os';

let programName = 'bench';

/** Sets the prefix of every message: `bench/run`, `bench/validation`, … */
export function setProgramName(name) {
  programName = name;
}

export function programPrefix() {
  return programName;
}

/** One line on stdout. */
export function log(message) {
  process.stdout.write(`${message}\n`);
}

/** One line on stderr, prefixed with the program's name. */
export function warn(message) {
  process.stderr.write(`${programName}: ${message}\n`);
}

/** A usage error: says why on stderr and exits 2. */
export function fail(message) {
  warn(message);
  process.exit(2);
}

export function integerFromEnv(name, fallback, max) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0 || value > max) {
    fail(`"${name}" must be an integer from 1 to ${max} (got ${JSON.stringify(raw)})`);
  }
  return value;
}

/** The environment variables every runner reads; see bench/README.md. */
export const COMMON_ENV = [
  'BENCH_QUICK',
  'BENCH_ROUNDS',
  'BENCH_SECONDS',
  'BENCH_CONNECTIONS',
  'BENCH_PIN',
  'BENCH_QUIET_WAIT',
];

/**
 * The machine is shared (2 cores, other jobs may run test suites at any time). A measured A/B
 * pair starts only once the rest of the machine has used less than QUIET_BELOW_CORES for a
 * second (waiting at most BENCH_QUIET_WAIT s), and a pair during which other processes used
 * more than DISTURBED_ABOVE_CORES is kept in the JSON as discarded and measured again (at most
 * `rounds` extra pairs per pairing, after which the disturbed pairs count and the pairing is
 * flagged).
 */
export const QUIET_BELOW_CORES = 0.15;
export const DISTURBED_ABOVE_CORES = 0.25;

/**
 * The load settings of a run, from BENCH_QUICK, BENCH_ROUNDS, BENCH_SECONDS, BENCH_CONNECTIONS,
 * BENCH_PIN and BENCH_QUIET_WAIT. Pins this process to its CPU (see readPinning).
 */
export function readLoadConfig() {
  const quick = process.env.BENCH_QUICK === '1';
  if (process.env.BENCH_QUICK !== undefined && !['', '0', '1'].includes(process.env.BENCH_QUICK)) {
    fail(`"BENCH_QUICK" must be 1 or 0 (got ${JSON.stringify(process.env.BENCH_QUICK)})`);
  }
  return Object.freeze({
    quick,
    rounds: integerFromEnv('BENCH_ROUNDS', quick ? 2 : 5, 50),
    seconds: integerFromEnv('BENCH_SECONDS', quick ? 2 : 5, 120),
    warmupRounds: 1,
    connections: integerFromEnv('BENCH_CONNECTIONS', 32, 256),
    pipelining: 1,
    pinning: readPinning(),
    quietWaitSeconds: integerFromEnv('BENCH_QUIET_WAIT', 20, 600),
    quietBelowCores: QUIET_BELOW_CORES,
    disturbedAboveCores: DISTURBED_ABOVE_CORES,
  });
}

/**
 * On a 2-core machine the scheduler now and then puts the server and the load generator on the
 * same core, which halves both for a round (first smoke runs: bare Express swung between 11k
 * and 23k req/s, with server + load generator CPU summing to one core in the slow rounds).
 * Pinning each to its own core removes that mode. Linux only, with taskset (util-linux).
 * Pins this process (the load generator) to CPU 0; the server is started on the last CPU.
 */
export function readPinning() {
  const wanted = process.env.BENCH_PIN ?? '1';
  if (!['0', '1'].includes(wanted)) {
    fail(`"BENCH_PIN" must be 1 or 0 (got ${JSON.stringify(wanted)})`);
  }
  if (wanted === '0') return { enabled: false, reason: 'BENCH_PIN=0' };
  if (os.platform() !== 'linux') return { enabled: false, reason: 'not Linux' };
  const cpus = os.availableParallelism();
  if (cpus < 2) return { enabled: false, reason: 'fewer than 2 CPUs' };
  const loadGenerator = 0;
  const server = cpus - 1;
  if (!pinProcess(process.pid, loadGenerator)) {
    return { enabled: false, reason: 'taskset failed or is not installed' };
  }
  return { enabled: true, tool: 'taskset', loadGeneratorCpu: loadGenerator, serverCpu: server };
}

/** Pins a running process, all of its threads, to `cpu` (taskset); whether that worked. */
export function pinProcess(pid, cpu) {
  const pinned = spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], {
    stdio: 'ignore',
    timeout: 5_000,
  });
  return !pinned.error && pinned.status === 0;
}

/** How this run was started, for the results: the options set, then the command. */
export function commandLine({ npmScript, script, env = [] }) {
  const options = [...COMMON_ENV, ...env]
    .filter((name) => process.env[name] !== undefined && process.env[name] !== '')
    .map((name) => `${name}=${process.env[name]}`);
  const command =
    process.env.npm_lifecycle_event === npmScript ? `npm run ${npmScript}` : `node ${script}`;
  return [...options, command].join(' ');
}

/** The line that says how a run is loaded and pinned, printed first. */
export function describeLoad(config) {
  return (
    `${config.rounds} measured rounds of ${config.seconds} s after ${config.warmupRounds} ` +
    `warm-up, ${config.connections} connections, ` +
    (config.pinning.enabled
      ? `server on CPU ${config.pinning.serverCpu}, load generator on CPU ${config.pinning.loadGeneratorCpu}`
      : `no CPU pinning (${config.pinning.reason})`)
  );
}
