// New TLS connections against a server child, as rounds for measureInterleaved
// (bench/lib/rounds.mjs): `config.connections` slots, each opening a connection, finishing the
// handshake and closing it, then the next, for `config.seconds` s. No request is sent: the
// figure is handshakes per second, what a client that opens a connection per request pays
// before its first byte.
import { spawn, spawnSync } from 'node:child_process';
import { createHistogram } from 'node:perf_hooks';
import tls from 'node:tls';
import { trackRound } from './processes.mjs';
import { withCpuCores } from './rounds.mjs';
import { round } from './stats.mjs';

/** One connection that has not closed by then is destroyed and counted as a timeout. */
const CONNECTION_TIMEOUT_MS = 10_000;
/** A server that refuses every handshake is not measured for the whole round. */
const MAX_ERRORS_PER_ROUND = 100;

/**
 * Opens one connection to 127.0.0.1:`port` with `options` (tls.connect's), and closes it
 * (close_notify, FIN) as soon as the handshake is done, or, with `untilSession`, once the
 * server's first session ticket has arrived. `onSession` gets every ticket. With `inspect`, the
 * outcome says the server certificate's key type too (`serverKeyType`: 'ec', 'rsa'), which costs
 * a certificate parse: for preflight checks, not for timed rounds.
 *
 * Resolves when the socket has closed, to `{ handshakeNs, secureAt, reused, protocol,
 * authorized, serverKeyType, failure }`: `handshakeNs` from connect() to 'secureConnect' and
 * `secureAt` its hrtime (undefined if it never came), `failure` the error code or 'timeout'
 * (undefined if none).
 */
export function connectOnce(
  port,
  options,
  { onSession, untilSession = false, inspect = false } = {},
) {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const outcome = { handshakeNs: undefined, reused: false, failure: undefined };
    const socket = tls.connect({ host: '127.0.0.1', port, ...options });
    const timer = setTimeout(() => {
      outcome.failure ??= 'timeout';
      socket.destroy();
    }, CONNECTION_TIMEOUT_MS);
    // Only a client that keeps tickets listens: with a 'session' listener, Node serialises
    // every ticket the server sends (two per full TLS 1.3 handshake) into a Buffer.
    if (onSession !== undefined || untilSession) {
      socket.on('session', (session) => {
        onSession?.(session);
        if (untilSession) socket.end();
      });
    }
    socket.once('secureConnect', () => {
      outcome.secureAt = process.hrtime.bigint();
      outcome.handshakeNs = outcome.secureAt - started;
      outcome.reused = socket.isSessionReused();
      outcome.protocol = socket.getProtocol();
      outcome.authorized = socket.authorized;
      if (inspect) {
        outcome.serverKeyType = socket.getPeerX509Certificate()?.publicKey.asymmetricKeyType;
      }
      if (!untilSession) socket.end();
    });
    socket.on('error', (error) => {
      outcome.failure ??= error.code ?? error.message;
    });
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(outcome);
    });
    // Reads what the server sends (tickets, its close_notify) so that 'close' comes.
    socket.resume();
  });
}

/**
 * A first connection per slot that waits for the server's session ticket: the ticket the
 * slot's connections then resume with. Throws if a slot gets none.
 */
async function primeSlots(port, options, count) {
  return Promise.all(
    Array.from({ length: count }, async () => {
      let session;
      const outcome = await connectOnce(port, options, {
        untilSession: true,
        onSession: (ticket) => (session ??= ticket),
      });
      if (outcome.failure !== undefined || session === undefined) {
        throw new Error(`no session ticket to resume with (${outcome.failure ?? 'none sent'})`);
      }
      return { session };
    }),
  );
}

/**
 * One round of new-connection handshakes against `server` (its `url`, https:). `target`:
 * `{ tlsOptions, resume }`: tls.connect options (`ca`, `servername`, and `cert`/`key` for a
 * mutual-TLS server); with `resume`, every slot first makes one untimed full handshake and then
 * resumes with its newest session ticket (see bench/README.md, "tls", on tickets), else every
 * connection is a full handshake (no `session` is given).
 *
 * Resolves to the shape of measureRound's rounds, `reqPerSec` being handshakes per second
 * (completed before the deadline ÷ the round's length), `latencyMs` the handshake times, plus
 * `resumed`/`full` (of the counted handshakes, by `isSessionReused()`), the failures by code,
 * and server and load-generator CPU per handshake, in µs (every handshake of the round,
 * those that finish after the deadline too).
 */
export async function measureHandshakeRound(server, target, config) {
  const port = Number(new URL(server.url).port);
  const slots = target.resume
    ? await primeSlots(port, target.tlsOptions, config.connections)
    : Array.from({ length: config.connections }, () => ({ session: undefined }));
  const latency = createHistogram();
  const counts = { counted: 0, all: 0, resumed: 0, full: 0, errors: 0, timeouts: 0 };
  const failuresByCode = {};
  const state = { stopped: false };
  let startedAt;
  let deadline;
  const runSlot = async (slot) => {
    while (!state.stopped && process.hrtime.bigint() < deadline) {
      const outcome = await connectOnce(
        port,
        { ...target.tlsOptions, ...(slot.session === undefined ? {} : { session: slot.session }) },
        // The newest ticket replaces the one resumed with, as Node's https.Agent does.
        { onSession: target.resume ? (ticket) => (slot.session = ticket) : undefined },
      );
      if (outcome.failure !== undefined) {
        counts.errors += 1;
        if (outcome.failure === 'timeout') counts.timeouts += 1;
        failuresByCode[outcome.failure] = (failuresByCode[outcome.failure] ?? 0) + 1;
        if (counts.errors >= MAX_ERRORS_PER_ROUND) state.stopped = true;
        continue;
      }
      if (outcome.handshakeNs === undefined) continue;
      counts.all += 1;
      if (outcome.secureAt > deadline) continue;
      counts.counted += 1;
      counts[outcome.reused ? 'resumed' : 'full'] += 1;
      latency.record(Math.max(1, Number(outcome.handshakeNs)));
    }
  };
  trackRound({ stop: () => (state.stopped = true) });
  let measured;
  try {
    measured = await withCpuCores(server, async () => {
      startedAt = process.hrtime.bigint();
      deadline = startedAt + BigInt(config.seconds) * 1_000_000_000n;
      await Promise.all(slots.map((slot) => runSlot(slot)));
    });
  } finally {
    trackRound(undefined);
  }
  const { cpuCores, wallMicros } = measured;
  const perHandshake = (cores) =>
    cores === null || counts.all === 0 ? null : round((cores * wallMicros) / counts.all, 1);
  const ms = (ns) => round(ns / 1e6, 2);
  return {
    reqPerSec: counts.counted / config.seconds,
    requests: counts.counted,
    durationSeconds: config.seconds,
    handshakes: counts.counted,
    resumed: counts.resumed,
    full: counts.full,
    handshakesIncludingDrain: counts.all,
    latencyMs:
      counts.counted === 0
        ? { p50: NaN, p99: NaN, max: NaN }
        : {
            p50: ms(latency.percentile(50)),
            p99: ms(latency.percentile(99)),
            max: ms(latency.max),
          },
    non2xx: 0,
    errors: counts.errors,
    timeouts: counts.timeouts,
    failures: failuresByCode,
    statusCodes: {},
    cpuCores,
    serverMicrosPerHandshake: perHandshake(cpuCores.server),
    loadGeneratorMicrosPerHandshake: perHandshake(cpuCores.loadGenerator),
  };
}

/** Whether `openssl s_time` can run here (the C client of {@link measureOpensslHandshakeRound}). */
export function hasOpensslClient() {
  const probe = spawnSync('openssl', ['s_time', '-help'], { stdio: 'ignore', timeout: 5_000 });
  return probe.error === undefined && probe.status === 0;
}

/** The children's user + system CPU that bash's `times` prints last, in µs (`0m1.250s 0m0.030s`). */
function childrenCpuMicros(output) {
  const lines = output.trim().split('\n');
  const match = /^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/.exec(lines[lines.length - 1] ?? '');
  if (!match) return null;
  const [, um, us, sm, ss] = match;
  return (Number(um) * 60 + Number(us) + Number(sm) * 60 + Number(ss)) * 1e6;
}

/**
 * One `openssl s_time -new` for `seconds`: full TLS 1.3 handshakes one after the other, each on
 * a new connection, checking the server's certificate against `caFile` (`-verify 1`), no
 * request. Run under `bash -c '…; times'` so that its CPU time is known. Resolves to
 * `{ connections, cpuMicros }`; rejects if it failed or printed no count.
 */
function opensslTimeNew(port, caFile, seconds) {
  const command = [
    'openssl s_time -connect',
    `127.0.0.1:${port}`,
    '-new -tls1_3 -verify 1 -CAfile',
    `'${caFile.replaceAll("'", "'\\''")}'`,
    '-time',
    String(seconds),
    '; times',
  ].join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + 30) * 1000);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const count = /(\d+) connections in [\d.]+s;/.exec(output);
      if (code !== 0 || !count) {
        reject(new Error(`openssl s_time failed (${signal ?? code}): ${output.slice(-500)}`));
        return;
      }
      resolve({ connections: Number(count[1]), cpuMicros: childrenCpuMicros(output) });
    });
  });
}

/**
 * A round of full handshakes from OpenSSL's C client instead of Node's (target:
 * `{ caFile, processes }`): `processes` `openssl s_time -new` side by side on the load
 * generator's CPU (they inherit this process's affinity), for `config.seconds`. Node's TLS
 * client costs more per handshake than most servers do, so that the Node rounds above measure
 * the client; this one is cheap enough per handshake for the server to be the bottleneck, which
 * `cpuCores.server` shows. Same result shape as {@link measureHandshakeRound}: the children's
 * CPU is the load generator's (from bash's `times`), not another process's.
 */
export async function measureOpensslHandshakeRound(server, target, config) {
  const port = Number(new URL(server.url).port);
  const processes = target.processes ?? 8;
  const measured = await withCpuCores(server, () =>
    Promise.all(
      Array.from({ length: processes }, () => opensslTimeNew(port, target.caFile, config.seconds)),
    ),
  );
  const { result, wallMicros, cpuCores } = measured;
  const connections = result.reduce((sum, run) => sum + run.connections, 0);
  const childMicros = result.every((run) => run.cpuMicros !== null)
    ? result.reduce((sum, run) => sum + run.cpuMicros, 0)
    : null;
  const childCores = childMicros === null ? null : childMicros / wallMicros;
  const adjusted = {
    server: cpuCores.server,
    loadGenerator:
      childCores === null ? cpuCores.loadGenerator : round(cpuCores.loadGenerator + childCores, 2),
    // The children were counted as "other" processes; what remains is someone else's.
    other:
      cpuCores.other === null || childCores === null
        ? cpuCores.other
        : round(Math.max(0, cpuCores.other - childCores), 2),
  };
  const perHandshake = (cores) =>
    cores === null || connections === 0 ? null : round((cores * wallMicros) / connections, 1);
  const seconds = wallMicros / 1e6;
  return {
    reqPerSec: connections / seconds,
    requests: connections,
    durationSeconds: round(seconds, 2),
    handshakes: connections,
    resumed: 0,
    full: connections,
    handshakesIncludingDrain: connections,
    latencyMs: { p50: NaN, p99: NaN, max: NaN },
    non2xx: 0,
    errors: 0,
    timeouts: 0,
    failures: {},
    statusCodes: {},
    cpuCores: adjusted,
    serverMicrosPerHandshake: perHandshake(adjusted.server),
    loadGeneratorMicrosPerHandshake: perHandshake(adjusted.loadGenerator),
    client: `openssl s_time -new -tls1_3 -verify 1, ${processes} processes`,
  };
}
