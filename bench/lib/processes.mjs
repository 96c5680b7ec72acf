// The benchmarked server runs in a child process, so that the app and the load generator never
// share a core. Every child started here is tracked, and stopped on success, error and SIGINT.
//
// The protocol, which bench/lib/server-child.mjs implements on the server's side: the server
// prints one JSON line when it is ready; it answers the IPC message 'cpu' with
// { cpu: process.cpuUsage() }; it stops when its stdin or IPC channel closes.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { warn } from './cli.mjs';
import { ROOT } from './machine.mjs';

const SERVER_START_TIMEOUT_MS = 30_000;
const SERVER_STOP_TIMEOUT_MS = 3_000;

const children = new Set();
let currentRound;

/** The autocannon instance now running, stopped first if the run is interrupted. */
export function trackRound(instance) {
  currentRound = instance;
}

/** Closes the server's stdin and IPC channel, which stops it; signals only if it hangs. */
export function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.stopping = true;
    const term = setTimeout(() => child.kill('SIGTERM'), SERVER_STOP_TIMEOUT_MS);
    const kill = setTimeout(() => child.kill('SIGKILL'), 2 * SERVER_STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(term);
      clearTimeout(kill);
      resolve();
    });
    child.stdin?.end();
    if (child.connected) child.disconnect();
  });
}

export async function stopAll() {
  currentRound?.stop();
  await Promise.all([...children].map((child) => stopChild(child)));
}

/**
 * Stops every server when this process exits, and on SIGINT/SIGTERM (then exits 130). Call
 * once, at the start of a runner.
 */
export function installStopHandlers() {
  process.on('exit', () => {
    for (const child of children) child.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      process.stderr.write('\n');
      warn(`${signal}, stopping the server`);
      void stopAll().finally(() => process.exit(130));
    });
  }
}

/**
 * Starts `node <script> <args…>` (on the pinned server CPU when pinning is on) and waits for its
 * readiness line. `label` names it in messages ("the express server (cache on)"); `nodeOptions` go
 * to node before the script (`--cpu-prof`).
 * Resolves to `{ child, ...readinessLine }`.
 */
export async function startServer({ script, args, label, pinning, nodeOptions = [] }) {
  const serverCommand = [process.execPath, ...nodeOptions, script, ...args];
  // taskset execs node in place, so the child's pid is the server's.
  const [command, ...commandArgs] = pinning.enabled
    ? ['taskset', '-c', String(pinning.serverCpu), ...serverCommand]
    : serverCommand;
  const child = spawn(command, commandArgs, {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'inherit', 'ipc'],
  });
  children.add(child);
  // An IPC send to a dead child is reported here; the exit handler below says why it died.
  child.on('error', () => undefined);
  child.once('exit', (code, signal) => {
    children.delete(child);
    if (!child.stopping) {
      warn(`the ${label} exited unexpectedly (${signal ?? `code ${code}`})`);
    }
  });
  try {
    const info = await new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(`the ${label} did not start within ${SERVER_START_TIMEOUT_MS / 1000} s`),
          ),
        SERVER_START_TIMEOUT_MS,
      );
      const lines = createInterface({ input: child.stdout });
      lines.once('line', (line) => {
        clearTimeout(timer);
        lines.close();
        try {
          resolve(JSON.parse(line));
        } catch {
          reject(new Error(`the server printed ${JSON.stringify(line)}, not JSON`));
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`the ${label} exited (${signal ?? code}) before it was ready`));
      });
    });
    return { child, ...info };
  } catch (error) {
    await stopChild(child);
    throw error;
  }
}

/** Server CPU time (user + system, µs), asked of the child over IPC; null if it cannot say. */
export function serverCpu(child) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('message', onMessage);
      resolve(null);
    }, 2_000);
    function onMessage(message) {
      if (message && typeof message === 'object' && 'cpu' in message) {
        clearTimeout(timer);
        child.off('message', onMessage);
        resolve(message.cpu.user + message.cpu.system);
      }
    }
    child.on('message', onMessage);
    try {
      if (!child.connected) throw new Error('the server is gone');
      child.send('cpu');
    } catch {
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(null);
    }
  });
}

/** Runs `main`; on an error, says so, stops every server and exits 1. */
export function runMain(main) {
  main().catch(async (error) => {
    warn(String(error?.stack ?? error));
    await stopAll();
    process.exit(1);
  });
}
