// New TLS connections against a server child, as rounds for measureInterleaved
// (bench/lib/rounds.mjs): `config.connections` slots, each opening a connection, finishing the
// handshake and closing it, then the next, for `config.seconds` s. No request is sent: the
// figure is handshakes per second, what a client that opens a connection per request pays
// before its first byte.
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
