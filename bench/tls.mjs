// TLS benchmark (issue 6): what mutual TLS costs a service, in four ratios from one run, each
// median(B) ÷ median(A) of interleaved rounds. See bench/README.md, "tls".
//
//   keep-alive req/s   mTLS ÷ plain HTTP                  target ≥ 0.7
//   keep-alive req/s   mTLS ÷ server-only TLS             target ≥ 0.95
//   handshakes/s       resumed ÷ full, mTLS server        target ≥ 2
//   full handshakes/s  ECDSA P-256 ÷ RSA-2048 server key  target ≥ 1.5 (server-only TLS); measured
//                      from Node's TLS client, again with both servers held to 0.3 of a core by
//                      a cgroup CPU quota (so that the server, not the client, is the
//                      bottleneck; skipped where cgroups cannot be written), and from 8
//                      `openssl s_time -new` processes
//
// Servers (bench/tls-server.mjs, one process per transport, side by side on the server CPU):
// the same Nest app with SecureApiModule and GET /hello (@Public, {"ok":true}), over plain HTTP,
// server-only TLS and mTLS (createHttpsOptions() plus the module's `tls` option), and a fourth,
// server-only TLS with an RSA-2048 certificate from the same ECDSA P-256 CA. Keep-alive load:
// autocannon in this process, with the client certificate in its tlsOptions. Handshakes:
// bench/lib/handshakes.mjs in this process, a connection per handshake, closed when it is done.
// Certificates: createTestPki() from @secure-api/testing, written to a temporary folder that is
// removed at the end.
//
//   npm run bench:tls       (builds first; same as: npm run build && node bench/tls.mjs)
//   BENCH_QUICK=1 node bench/tls.mjs     smoke test: 2 rounds of 2 s, not kept as latest
//   BENCH_TLS_ADAPTERS=express,fastify   keep-alive rounds on Fastify too (default express;
//                                        handshakes are measured on the Express servers only)
//   BENCH_TLS_HANDSHAKE_SECONDS=5        length of a handshake round, seconds (default 3, or
//                                        BENCH_SECONDS if shorter)
//   BENCH_ROUNDS, BENCH_SECONDS, BENCH_CONNECTIONS, BENCH_PIN, BENCH_QUIET_WAIT as for bench/run.mjs
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { createTestPki, httpRequest } from '@secure-api/testing';
import {
  commandLine,
  describeLoad,
  fail,
  integerFromEnv,
  log,
  readLoadConfig,
  setProgramName,
} from './lib/cli.mjs';
import {
  connectOnce,
  hasOpensslClient,
  measureHandshakeRound,
  measureOpensslHandshakeRound,
} from './lib/handshakes.mjs';
import {
  BENCH_DIR,
  describeMachine,
  describeRevision,
  describeVersions,
  NEST_PACKAGES,
} from './lib/machine.mjs';
import { capCpu } from './lib/cpu-cap.mjs';
import { preflightChecks } from './lib/preflight.mjs';
import { installStopHandlers, runMain, startServer, stopChild } from './lib/processes.mjs';
import { abFigures, measureInterleaved, plannedSeconds } from './lib/rounds.mjs';
import { fileStamp, finishRun, printTable } from './lib/results.mjs';
import { median, round } from './lib/stats.mjs';

setProgramName('bench/tls');

const SERVER = join(BENCH_DIR, 'tls-server.mjs');
const SPIFFE_ID = 'spiffe://example.org/sa/bench';

/** The ratios and their targets. */
const TARGETS = Object.freeze({
  mtlsOverPlain: 0.7,
  mtlsOverTls: 0.95,
  resumedOverFull: 2,
  ecdsaOverRsa: 1.5,
});

const HANDSHAKE_ROUNDS = Object.freeze({ measure: measureHandshakeRound, unit: 'handshakes/s' });
const OPENSSL_HANDSHAKE_ROUNDS = Object.freeze({
  measure: measureOpensslHandshakeRound,
  unit: 'handshakes/s',
});
/** `openssl s_time` processes side by side on the load generator's CPU. */
const OPENSSL_PROCESSES = 8;
/**
 * Cores the servers are held to in the capped ECDSA÷RSA rounds: low enough that the client,
 * which needs about 0.7 ms of its own core per full handshake, keeps ahead of an RSA server
 * (about 0.6 ms of CPU per handshake) and of an ECDSA one (about 0.4 ms).
 */
const SERVER_CPU_CAP = 0.3;

function readAdapters() {
  const raw = process.env.BENCH_TLS_ADAPTERS ?? '';
  const adapters = raw === '' ? ['express'] : raw.split(',').map((name) => name.trim());
  if (
    adapters.length === 0 ||
    adapters.some((name) => name !== 'express' && name !== 'fastify') ||
    new Set(adapters).size !== adapters.length
  ) {
    fail(`"BENCH_TLS_ADAPTERS" must be express, fastify or both (got ${JSON.stringify(raw)})`);
  }
  // Handshakes are measured on the Express servers, so those are started in every run.
  return adapters.includes('express') ? adapters : ['express', ...adapters];
}

/**
 * The certificates of the run: one ECDSA P-256 CA; a P-256 server certificate and the client's
 * (SPIFFE ID `SPIFFE_ID`); and an RSA-2048 server certificate from the same CA, for the same
 * names (localhost, 127.0.0.1, ::1). Written under a new temporary folder, removed on exit.
 */
async function makePki() {
  const root = mkdtempSync(join(tmpdir(), 'secure-api-bench-tls-'));
  process.on('exit', () => rmSync(root, { recursive: true, force: true }));
  const pki = await createTestPki();
  const client = await pki.client(SPIFFE_ID);
  const rsaPki = await createTestPki({
    ca: { cert: pki.ca.cert, key: pki.ca.key },
    serverKeyAlgorithm: 'rsa-2048',
  });
  const ecdsa = await pki.writeTo(join(root, 'ecdsa'), { client });
  const rsa = await rsaPki.writeTo(join(root, 'rsa'));
  return { pki, client, ecdsa, rsa };
}

/** The servers of one adapter: `[name, --transport, files]`; RSA on Express only. */
function serverPlan(adapter, files) {
  return [
    ['plain', 'plain', undefined],
    ['tls', 'tls', files.ecdsa],
    ['mtls', 'mtls', files.ecdsa],
    ...(adapter === 'express' ? [['tlsRsa', 'tls', files.rsa]] : []),
  ];
}

async function startServers(adapter, files, config, lifetimeSeconds) {
  const servers = {};
  for (const [name, transport, pkiFiles] of serverPlan(adapter, files)) {
    servers[name] = await startServer({
      script: SERVER,
      args: [
        `--adapter=${adapter}`,
        `--transport=${transport}`,
        `--max-seconds=${lifetimeSeconds}`,
        ...(pkiFiles === undefined
          ? []
          : [`--cert-file=${pkiFiles.certFile}`, `--key-file=${pkiFiles.keyFile}`]),
        ...(transport === 'mtls' ? [`--ca-file=${pkiFiles.caFile}`] : []),
      ],
      label: `${adapter} ${name} server`,
      pinning: config.pinning,
    });
  }
  return servers;
}

/**
 * What the load generators send: autocannon requests (`tlsOptions` with the CA, and the client
 * certificate for mTLS) and tls.connect options for the handshake rounds. The client checks the
 * server's certificate against the CA for `localhost` (autocannon cannot: it connects with
 * rejectUnauthorized: false).
 */
function clients({ pki, client }) {
  const request = { path: '/hello', headers: { 'user-agent': 'bench/tls (autocannon)' } };
  const serverOnly = { ca: pki.ca.cert };
  const mutual = { ca: pki.ca.cert, cert: client.cert, key: client.key };
  return {
    plain: request,
    tls: { ...request, tlsOptions: serverOnly },
    mtls: { ...request, tlsOptions: mutual },
    // One secure context per client, as a long-lived client has: tls.connect() given ca, cert
    // and key would parse them into a new context for every connection, which cost this client
    // more than the handshake itself (first smoke runs: 1.4–3 ms per connection).
    handshakeServerOnly: {
      secureContext: createSecureContext(serverOnly),
      servername: 'localhost',
    },
    handshakeMutual: { secureContext: createSecureContext(mutual), servername: 'localhost' },
  };
}

async function expectTlsAnswer(server, path, tlsOptions, verify, description) {
  const response = await httpRequest(`${server.url}${path}`, { tls: tlsOptions });
  const problem = response.status !== 200 ? `status ${response.status}` : verify(response.json());
  if (problem) throw new Error(`preflight: ${description}: ${problem} (got ${response.text})`);
}

async function expectHandshake(server, options, expected, description) {
  const outcome = await connectOnce(Number(new URL(server.url).port), options, {
    ...expected.connect,
    inspect: true,
  });
  const problems = [
    outcome.failure !== undefined && `failed: ${outcome.failure}`,
    outcome.protocol !== 'TLSv1.3' && `protocol ${outcome.protocol}, expected TLSv1.3`,
    outcome.authorized !== true && 'the server certificate did not verify against the CA',
    expected.keyType !== undefined &&
      outcome.serverKeyType !== expected.keyType &&
      `server key ${outcome.serverKeyType}, expected ${expected.keyType}`,
    expected.reused !== undefined &&
      outcome.reused !== expected.reused &&
      `session ${outcome.reused ? '' : 'not '}resumed`,
  ].filter(Boolean);
  if (problems.length > 0) throw new Error(`preflight: ${description}: ${problems.join('; ')}`);
}

/**
 * Refuses to measure unless each server answers over its transport: plain HTTP unencrypted;
 * server-only TLS encrypted, with no client certificate asked for; mTLS encrypted, with the
 * client's SPIFFE ID as the verified peer, and refusing a client without a certificate. The
 * handshakes are TLS 1.3 with the expected server key type, and an mTLS session resumes.
 */
async function preflight(servers, load) {
  const ok = (json) => (json?.ok === true ? null : 'expected {"ok":true}');
  await preflightChecks(servers.plain.url, [
    { description: 'GET /hello over plain HTTP', path: '/hello', expected: 200, verify: ok },
    {
      description: 'GET /peer over plain HTTP',
      path: '/peer',
      expected: 200,
      verify: (json) => (json?.tls === false ? null : 'expected tls: false'),
    },
  ]);
  for (const [name, tlsOptions, spiffeId] of [
    ['tls', load.tls.tlsOptions, null],
    ['mtls', load.mtls.tlsOptions, SPIFFE_ID],
    ...(servers.tlsRsa ? [['tlsRsa', load.tls.tlsOptions, null]] : []),
  ]) {
    await expectTlsAnswer(servers[name], '/hello', tlsOptions, ok, `GET /hello (${name})`);
    await expectTlsAnswer(
      servers[name],
      '/peer',
      tlsOptions,
      (json) =>
        json?.tls === true && json.spiffeId === spiffeId
          ? null
          : `expected tls: true, spiffeId: ${spiffeId}`,
      `GET /peer (${name})`,
    );
  }
  const refused = await httpRequest(`${servers.mtls.url}/hello`, { tls: load.tls.tlsOptions })
    .then((response) => `status ${response.status}`)
    .catch(() => null);
  if (refused !== null) {
    throw new Error(`preflight: mTLS without a client certificate was answered (${refused})`);
  }
  await expectHandshake(servers.tls, load.handshakeServerOnly, { keyType: 'ec' }, 'tls');
  if (servers.tlsRsa) {
    await expectHandshake(servers.tlsRsa, load.handshakeServerOnly, { keyType: 'rsa' }, 'tlsRsa');
  }
  let ticket;
  await expectHandshake(
    servers.mtls,
    load.handshakeMutual,
    {
      keyType: 'ec',
      reused: false,
      connect: { untilSession: true, onSession: (t) => (ticket ??= t) },
    },
    'mtls, full',
  );
  if (ticket === undefined) throw new Error('preflight: the mTLS server sent no session ticket');
  await expectHandshake(
    servers.mtls,
    { ...load.handshakeMutual, session: ticket },
    // A resumed session does not show the client the server's certificate again.
    { reused: true },
    'mtls, resumed',
  );
}

/** A server that used less than this many cores in a round was not the bottleneck. */
const SATURATED_CORES = 0.9;

/**
 * A comparison's entry in the report: its figures (abFigures), what it compares, and the
 * server's CPU per request or handshake (median of the rounds', µs): `serverCpuRatio` is
 * µs(A) ÷ µs(B), operations per second of server CPU, B against A. It is what the ratio would be
 * if the server were the bottleneck in both arms; `serverSaturated` says whether it was.
 */
function comparison(
  name,
  description,
  figures,
  [a, b],
  unit,
  { saturatedAt = SATURATED_CORES } = {},
) {
  const perOp = (arm) =>
    round(
      median(
        figures[arm].rounds.map((r) =>
          unit === 'handshakes/s'
            ? (r.serverMicrosPerHandshake ?? NaN)
            : ((r.cpuCores.server ?? NaN) * 1e6) / r.reqPerSec,
        ),
      ),
      1,
    );
  const micros = { [a]: perOp(a), [b]: perOp(b) };
  return {
    name,
    description,
    unit,
    a,
    b,
    serverMicrosPerOp: micros,
    serverCpuRatio: round(micros[a] / micros[b], 3),
    serverSaturated:
      Math.min(figures[a].median.serverCores, figures[b].median.serverCores) >= saturatedAt,
    ...figures,
  };
}

/** How many of the resumed arm's measured handshakes did resume, by isSessionReused(). */
function resumption(figures) {
  const rounds = figures.resumed.rounds;
  const handshakes = rounds.reduce((sum, r) => sum + r.handshakes, 0);
  const resumed = rounds.reduce((sum, r) => sum + r.resumed, 0);
  const fullInFullArm = figures.full.rounds.reduce((sum, r) => sum + r.full, 0);
  const fullArm = figures.full.rounds.reduce((sum, r) => sum + r.handshakes, 0);
  return { resumed, handshakes, share: round(resumed / handshakes, 4), fullInFullArm, fullArm };
}

async function benchAdapter(adapter, files, config, lifetimeSeconds) {
  const load = clients(files);
  const servers = await startServers(adapter, files, config, lifetimeSeconds);
  try {
    await preflight(servers, load);
    const keepAlive = await measureInterleaved(
      servers.plain,
      [
        ['plain', load.plain, servers.plain],
        ['mtls', load.mtls, servers.mtls],
        ['tls', load.tls, servers.tls],
      ],
      config,
      `${adapter.padEnd(7)} keep-alive`,
      { deciders: 3 },
    );
    const results = [
      comparison(
        'mTLS÷plain',
        'keep-alive req/s of GET /hello over mutual TLS ÷ over plain HTTP',
        abFigures(keepAlive, ['plain', 'mtls'], TARGETS.mtlsOverPlain, config),
        ['plain', 'mtls'],
        'req/s',
      ),
      comparison(
        'mTLS÷TLS',
        'keep-alive req/s of GET /hello over mutual TLS ÷ over server-only TLS',
        abFigures(keepAlive, ['tls', 'mtls'], TARGETS.mtlsOverTls, config),
        ['tls', 'mtls'],
        'req/s',
      ),
    ];
    if (adapter !== 'express') return { adapter, comparisons: results };
    const handshakeConfig = { ...config, seconds: config.handshakeSeconds };
    const resumedRounds = await measureInterleaved(
      servers.mtls,
      [
        ['full', { tlsOptions: load.handshakeMutual, resume: false }],
        ['resumed', { tlsOptions: load.handshakeMutual, resume: true }],
      ],
      handshakeConfig,
      'mTLS    handshakes',
      HANDSHAKE_ROUNDS,
    );
    const resumed = abFigures(
      resumedRounds,
      ['full', 'resumed'],
      TARGETS.resumedOverFull,
      handshakeConfig,
    );
    results.push({
      ...comparison(
        'resumed÷full',
        'new-connection handshakes/s against the mTLS server (ECDSA P-256 certificates), resuming a session ticket ÷ full handshakes',
        resumed,
        ['full', 'resumed'],
        'handshakes/s',
      ),
      resumption: resumption(resumed),
    });
    const keyRounds = await measureInterleaved(
      servers.tlsRsa,
      [
        ['rsa', { tlsOptions: load.handshakeServerOnly, resume: false }, servers.tlsRsa],
        ['ecdsa', { tlsOptions: load.handshakeServerOnly, resume: false }, servers.tls],
      ],
      handshakeConfig,
      'TLS     handshakes',
      HANDSHAKE_ROUNDS,
    );
    results.push(
      comparison(
        'ECDSA÷RSA',
        'full handshakes/s against server-only TLS with an ECDSA P-256 server certificate ÷ an RSA-2048 one (same ECDSA P-256 CA)',
        abFigures(keyRounds, ['rsa', 'ecdsa'], TARGETS.ecdsaOverRsa, handshakeConfig),
        ['rsa', 'ecdsa'],
        'handshakes/s',
      ),
    );
    // On two cores the client (Node's, and OpenSSL's below) runs out of CPU before the server
    // does, so those rounds measure the client. Held to a fraction of its core, the server is
    // the bottleneck whatever the client can do: handshakes/s at a fixed server CPU budget.
    const cap = capCpu(SERVER_CPU_CAP, [servers.tlsRsa.child.pid, servers.tls.child.pid]);
    if (!cap.ok) {
      log(
        `cannot cap the servers' CPU (${cap.reason}): the server-bound ECDSA÷RSA rounds are skipped`,
      );
    } else {
      try {
        const cappedRounds = await measureInterleaved(
          servers.tlsRsa,
          [
            ['rsa', { tlsOptions: load.handshakeServerOnly, resume: false }, servers.tlsRsa],
            ['ecdsa', { tlsOptions: load.handshakeServerOnly, resume: false }, servers.tls],
          ],
          handshakeConfig,
          `TLS     handshakes (servers capped at ${SERVER_CPU_CAP} cores)`,
          HANDSHAKE_ROUNDS,
        );
        results.push(
          comparison(
            'ECDSA÷RSA capped',
            `full handshakes/s against server-only TLS with an ECDSA P-256 server certificate ÷ an RSA-2048 one (same ECDSA P-256 CA), Node's TLS client, each server held to ${SERVER_CPU_CAP} of a core by a cgroup CPU quota so that the server, not the client, is the bottleneck`,
            abFigures(cappedRounds, ['rsa', 'ecdsa'], TARGETS.ecdsaOverRsa, handshakeConfig),
            ['rsa', 'ecdsa'],
            'handshakes/s',
            { saturatedAt: SATURATED_CORES * SERVER_CPU_CAP },
          ),
        );
      } finally {
        cap.release();
      }
    }
    // Node's TLS client costs more per ECDSA handshake than the server does, so the uncapped
    // rounds end up measuring the client; OpenSSL's C client is tried as well.
    if (!hasOpensslClient()) {
      log('openssl s_time not found: the openssl ECDSA÷RSA rounds are skipped');
      return { adapter, comparisons: results };
    }
    const target = { caFile: files.ecdsa.caFile, processes: OPENSSL_PROCESSES };
    const opensslRounds = await measureInterleaved(
      servers.tlsRsa,
      [
        ['rsa', target, servers.tlsRsa],
        ['ecdsa', target, servers.tls],
      ],
      handshakeConfig,
      'TLS     handshakes (openssl)',
      OPENSSL_HANDSHAKE_ROUNDS,
    );
    results.push(
      comparison(
        'ECDSA÷RSA openssl',
        `full handshakes/s against server-only TLS with an ECDSA P-256 server certificate ÷ an RSA-2048 one (same ECDSA P-256 CA), from ${OPENSSL_PROCESSES} openssl s_time -new processes (C client) on the load generator's CPU`,
        abFigures(opensslRounds, ['rsa', 'ecdsa'], TARGETS.ecdsaOverRsa, handshakeConfig),
        ['rsa', 'ecdsa'],
        'handshakes/s',
      ),
    );
    return { adapter, comparisons: results };
  } finally {
    await Promise.all(Object.values(servers).map((server) => stopChild(server.child)));
  }
}

function printResults(results) {
  const status = (c) =>
    (!c.valid ? 'INVALID' : c.pass ? 'PASS' : 'MISS') + (c.disturbed ? ' (disturbed)' : '');
  const pair = (c, value) => `${value(c[c.a].median)}/${value(c[c.b].median)}`;
  printTable(
    [
      'adapter',
      'ratio',
      'A',
      'B',
      'ratio',
      'per-round',
      'target',
      'result',
      'server CPU A/B',
      'load gen CPU A/B',
      'server µs/op A/B',
      'server-CPU ratio',
    ],
    results.flatMap((r) =>
      r.comparisons.map((c) => [
        r.adapter,
        c.name,
        `${c[c.a].median.reqPerSec.toFixed(0)} ${c.unit}`,
        `${c[c.b].median.reqPerSec.toFixed(0)} ${c.unit}`,
        c.ratio.toFixed(3),
        c.medianRoundRatio.toFixed(3),
        `≥ ${c.target}`,
        status(c),
        pair(c, (m) => m.serverCores.toFixed(2)),
        pair(c, (m) => m.loadGeneratorCores.toFixed(2)),
        `${c.serverMicrosPerOp[c.a]}/${c.serverMicrosPerOp[c.b]}`,
        c.serverCpuRatio.toFixed(3) + (c.serverSaturated ? '' : ' (server not saturated)'),
      ]),
    ),
  );
  for (const r of results) {
    for (const c of r.comparisons) {
      log(`${r.adapter} ${c.name}: ratio ${c.ratio} ${status(c)} (target ≥ ${c.target})`);
      if (c.resumption) {
        const { resumed, handshakes, fullInFullArm, fullArm } = c.resumption;
        log(
          `  resumed ${resumed} of ${handshakes} handshakes in the resumed arm; ` +
            `${fullInFullArm} of ${fullArm} full in the full arm`,
        );
      }
    }
  }
}

async function main() {
  installStopHandlers();
  const load = readLoadConfig();
  // Handshake rounds are shorter by default: their rate varies less from round to round than
  // keep-alive req/s do, and the whole run should stay within about 4 minutes.
  const config = Object.freeze({
    ...load,
    handshakeSeconds: integerFromEnv('BENCH_TLS_HANDSHAKE_SECONDS', Math.min(3, load.seconds), 120),
  });
  const adapters = readAdapters();
  const startedAt = new Date().toISOString();
  // Taken before the servers start: what they import is the build of that moment.
  const measuredOn = {
    machine: describeMachine(),
    revision: describeRevision(),
    versions: describeVersions([...NEST_PACKAGES, 'autocannon']),
  };
  // Per adapter: one keep-alive pairing of 3 arms; on Express two handshake pairings of 2, and
  // a third (the openssl client) where openssl is installed.
  const keepAlive = plannedSeconds(config, 1, 3);
  // …and two more (servers capped, and the openssl client) where the machine allows them.
  const handshakes = plannedSeconds(
    { ...config, seconds: config.handshakeSeconds },
    hasOpensslClient() ? 4 : 3,
    2,
  );
  const typical = adapters.length * keepAlive.typical + handshakes.typical;
  const worst = adapters.length * keepAlive.worst + handshakes.worst;
  const lifetimeSeconds = Math.ceil(keepAlive.worst + handshakes.worst) + 120;
  log(
    `bench/tls: ${describeLoad(config)}, adapters ${adapters.join(', ')}, ` +
      `handshake rounds of ${config.handshakeSeconds} s, ` +
      `about ${Math.ceil(typical / 60)} min on a quiet machine (at most ${Math.ceil(worst / 60)})`,
  );
  const files = await makePki();
  const results = [];
  for (const adapter of adapters) {
    results.push(await benchAdapter(adapter, files, config, lifetimeSeconds));
  }
  const comparisons = results.flatMap((r) => r.comparisons);
  const report = {
    benchmark: 'tls',
    description:
      'GET /hello (@Public, {"ok":true}) of a Nest app with SecureApiModule over plain HTTP, server-only TLS and mutual TLS (createHttpsOptions() and the module tls option; ECDSA P-256 certificates from createTestPki()), each its own server process: keep-alive req/s mTLS ÷ plain and mTLS ÷ server-only TLS; new-connection handshakes/s against the mTLS server resuming a session ticket ÷ full; full handshakes/s with an ECDSA P-256 server certificate ÷ an RSA-2048 one (server-only TLS, same P-256 CA)',
    command: commandLine({
      npmScript: 'bench:tls',
      script: 'bench/tls.mjs',
      env: ['BENCH_TLS_ADAPTERS', 'BENCH_TLS_HANDSHAKE_SECONDS'],
    }),
    startedAt,
    finishedAt: new Date().toISOString(),
    valid: comparisons.every((c) => c.valid),
    ...measuredOn,
    config: {
      ...config,
      adapters,
      order:
        'per adapter: the servers side by side on the server CPU; keep-alive turns plain, mtls, tls (a warm-up turn, then measured turns; a turn in which any of the three was disturbed is measured again); on Express then handshake turns full, resumed (mTLS server) and rsa, ecdsa (server-only TLS servers)',
      statistic:
        'ratio = median(B) / median(A) of req/s or handshakes/s; latencies are medians of per-round p50/p99 (for handshakes: connect() to secureConnect)',
      keepAliveLoad:
        'autocannon (programmatic API) in the parent process, tlsOptions { ca, cert, key } (mTLS) or { ca } (TLS); it connects with rejectUnauthorized: false',
      handshakeLoad:
        'bench/lib/handshakes.mjs in the parent process, rounds of config.handshakeSeconds: config.connections slots, each tls.connect() to 127.0.0.1 with one secure context per arm (servername localhost, the CA checked), end() at secureConnect, next connection at close; full arms never pass a session; the resumed arm primes each slot with one full handshake and resumes with its newest ticket',
      certificates: {
        ca: 'ECDSA P-256, self-signed (createTestPki)',
        server: 'ECDSA P-256, DNS localhost, IP 127.0.0.1 and ::1',
        serverRsa: 'RSA-2048, same names, same CA',
        client: `ECDSA P-256, URI SAN ${SPIFFE_ID}`,
      },
      request: { path: '/hello', headers: { 'user-agent': 'bench/tls (autocannon)' } },
    },
    targets: TARGETS,
    summary: results.flatMap((r) =>
      r.comparisons.map((c) => ({
        adapter: r.adapter,
        name: c.name,
        unit: c.unit,
        a: c.a,
        b: c.b,
        aPerSec: c[c.a].median.reqPerSec,
        bPerSec: c[c.b].median.reqPerSec,
        ratio: c.ratio,
        medianRoundRatio: c.medianRoundRatio,
        serverMicrosPerOp: c.serverMicrosPerOp,
        serverCpuRatio: c.serverCpuRatio,
        serverSaturated: c.serverSaturated,
        target: c.target,
        pass: c.pass,
        valid: c.valid,
        disturbed: c.disturbed,
        ...(c.resumption ? { resumption: c.resumption } : {}),
      })),
    ),
    results,
  };
  printResults(results);
  finishRun(report, {
    name: `tls-${fileStamp(startedAt)}${config.quick ? '-quick' : ''}`,
    latest: 'latest-tls',
    quick: config.quick,
  });
}

runMain(main);
