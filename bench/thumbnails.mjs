// Thumbnail benchmark (issue 7): what HTTP and the security layers cost the sample service next
// to the image work it exists for, and how much memory it needs under a burst. See
// bench/README.md, "thumbnails".
//
//   ratio     POST /v1/thumbnails req/s ÷ in-process sharp ops/s, the same 12-megapixel JPEG to
//             a 256 px WebP at the same concurrency           target ≥ 0.9
//   peak RSS  of the service process under 16 concurrent 12 MP requests   target ≤ 400 MB
//
// Processes (bench/thumbnails-server.mjs): the service (AppModule over HTTPS with client
// certificates required, in-memory storage holding the JPEG) and the baseline (the app's
// ImageInspector + ThumbnailRenderer on the same bytes, no HTTP), side by side on the server
// CPU; load from this process on CPU 0: closed-loop https clients with the client certificate
// and a bearer token, as many as the baseline runs jobs.
// Interleaved rounds: sharp, route, and, not deciding, the route with the development S3
// storage. Then a fresh, unpinned service process under 16 connections for the memory figure,
// from /proc/<pid>/status (VmHWM), 503s counted and allowed.
//
//   npm run bench:thumbnails      (builds first; same as: npm run build && node bench/thumbnails.mjs)
//   BENCH_QUICK=1 node bench/thumbnails.mjs     smoke test, 2 rounds of 2 s
//   BENCH_THUMBNAILS_CONCURRENCY=2      concurrency of the ratio (default: 2, or the CPUs the
//                                       service gets if more)
//   BENCH_THUMBNAILS_RSS_CONNECTIONS=16 connections of the memory phase
//   BENCH_THUMBNAILS_RSS_SECONDS=10     length of the memory phase, seconds
//   BENCH_THUMBNAILS_S3=0               leave out the development-S3 arm
//   BENCH_ROUNDS, BENCH_SECONDS, BENCH_PIN, BENCH_QUIET_WAIT as for bench/run.mjs
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import {
  commandLine,
  describeLoad,
  integerFromEnv,
  log,
  readLoadConfig,
  setProgramName,
} from './lib/cli.mjs';
import {
  BENCH_DIR,
  describeMachine,
  describeRevision,
  describeVersions,
  NEST_PACKAGES,
  sleep,
} from './lib/machine.mjs';
import { installStopHandlers, runMain, startServer, stopChild } from './lib/processes.mjs';
import { abFigures, measureInterleaved, plannedSeconds, withCpuCores } from './lib/rounds.mjs';
import { fileStamp, finishRun, printTable } from './lib/results.mjs';
import { round, summarise } from './lib/stats.mjs';

setProgramName('bench/thumbnails');

const SERVER = join(BENCH_DIR, 'thumbnails-server.mjs');
const TARGETS = Object.freeze({ routeOverSharp: 0.9, peakRssMiB: 400 });
const IMAGE = Object.freeze({ width: 4000, height: 3000, quality: 90 });
const THUMBNAIL = Object.freeze({ width: 256, format: 'webp' });
/** Read before readLoadConfig() pins this process to one CPU. */
const availableCpus = cpus().length;

/**
 * A 12-megapixel JPEG that costs what a photo costs to decode: gradients with pixel noise (a
 * smooth gradient alone compresses to almost nothing and decodes unrealistically fast).
 * Deterministic, so every run measures the same bytes.
 */
async function makeImage(file) {
  const { width, height, quality } = IMAGE;
  const pixels = Buffer.alloc(width * height * 3);
  let seed = 12_345;
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
      const noise = (seed >> 16) & 31;
      const offset = (y * width + x) * 3;
      pixels[offset] = ((x * 255) / width + noise) & 255;
      pixels[offset + 1] = ((y * 255) / height + noise) & 255;
      pixels[offset + 2] = (((x + y) * 128) / width + noise) & 255;
    }
  }
  const jpeg = await sharp(pixels, { raw: { width, height, channels: 3 } })
    .jpeg({ quality })
    .toBuffer();
  writeFileSync(file, jpeg);
  return { ...IMAGE, bytes: jpeg.length };
}

/** One request over mTLS, for the preflight: `{ status, json }`. */
function post(server, { token, body, withCert = true }) {
  return new Promise((resolve, reject) => {
    const url = new URL('/v1/thumbnails', server.url);
    const request = httpsRequest(
      url,
      {
        method: 'POST',
        ca: server.ca,
        ...(withCert ? { cert: server.cert, key: server.key } : {}),
        servername: 'localhost',
        headers: {
          'content-type': 'application/json',
          ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        },
        timeout: 15_000,
      },
      (response) => {
        const chunks = [];
        response.on('data', (chunk) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: response.statusCode, headers: response.headers, json, text });
        });
      },
    );
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', reject);
    request.end(JSON.stringify(body));
  });
}

/** The route really makes the thumbnail, and really refuses a request without a token. */
async function preflight(server, label) {
  const body = { sourceKey: server.sourceKey, ...THUMBNAIL };
  const created = await post(server, { token: server.token, body });
  if (
    created.status !== 201 ||
    created.json?.width !== THUMBNAIL.width ||
    created.json?.format !== THUMBNAIL.format
  ) {
    throw new Error(`preflight (${label}): POST gave ${created.status} ${created.text}`);
  }
  const anonymous = await post(server, { body });
  if (anonymous.status !== 401) {
    throw new Error(`preflight (${label}): POST without a token gave ${anonymous.status}`);
  }
  const refused = await post(server, { token: server.token, body, withCert: false }).then(
    (response) => `answered ${response.status}`,
    () => undefined,
  );
  if (refused !== undefined) {
    throw new Error(`preflight (${label}): a client without a certificate ${refused}`);
  }
  // The tiers are raised, not removed: the throttler still answers with its policy.
  const rateLimitPolicy = created.headers['ratelimit-policy'];
  if (typeof rateLimitPolicy !== 'string' || !rateLimitPolicy.includes('q=1000000000')) {
    throw new Error(`preflight (${label}): RateLimit-Policy ${rateLimitPolicy}, tiers not raised`);
  }
  return { created: created.json, rateLimitPolicy };
}

function routeRequest(server, connections) {
  return {
    kind: 'route',
    path: '/v1/thumbnails',
    method: 'POST',
    headers: {
      authorization: `Bearer ${server.token}`,
      'content-type': 'application/json',
      'user-agent': 'bench/thumbnails',
    },
    body: JSON.stringify({ sourceKey: server.sourceKey, ...THUMBNAIL }),
    agent: new HttpsAgent({
      keepAlive: true,
      maxSockets: connections,
      ca: server.ca,
      cert: server.cert,
      key: server.key,
    }),
  };
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** One round of the baseline: the sharp child runs `concurrency` jobs in a loop, over IPC. */
async function measureSharpRound(server, request, config) {
  const concurrency = request.concurrency ?? config.concurrency;
  const { result, cpuCores } = await withCpuCores(server, async () => {
    const answer = new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('the sharp child did not answer')),
        config.seconds * 1000 + 30_000,
      );
      const onMessage = (message) => {
        if (message?.ran === undefined) return;
        clearTimeout(timer);
        server.child.off('message', onMessage);
        resolve(message.ran);
      };
      server.child.on('message', onMessage);
    });
    server.child.send({
      run: { seconds: config.seconds, concurrency, ...THUMBNAIL },
    });
    return answer;
  });
  const sorted = [...result.latenciesMs].sort((a, b) => a - b);
  return {
    reqPerSec: result.ops / result.wallSeconds,
    requests: result.ops,
    durationSeconds: round(result.wallSeconds, 2),
    latencyMs: {
      p50: round(percentile(sorted, 50) ?? 0, 1),
      p99: round(percentile(sorted, 99) ?? 0, 1),
      max: round(sorted.at(-1) ?? 0, 1),
    },
    non2xx: 0,
    errors: result.errors,
    timeouts: 0,
    statusCodes: {},
    cpuCores,
    output: result.info,
  };
}

/**
 * One round against the service, measured as the baseline is: a closed loop of `concurrency`
 * clients over keep-alive mTLS connections (an https.Agent, connections opened in the warm-up),
 * each sending the next request when its answer is in, for `seconds`; requests in flight at
 * the deadline are waited for and counted, and the wall time runs to the last answer.
 * (autocannon drops the requests in flight when a round ends: at about 10 requests a second,
 * 100 ms each, that alone took 5–10 % off a 2 s round in the first smoke runs.)
 */
async function measureRouteRound(server, request, config, { concurrency, seconds }) {
  const { result, cpuCores } = await withCpuCores(server, async () => {
    const url = new URL(request.path, server.url);
    const latencies = [];
    const statusCodes = {};
    let errors = 0;
    let timeouts = 0;
    const once = () =>
      new Promise((resolve) => {
        const begun = performance.now();
        const outgoing = httpsRequest(
          url,
          {
            method: 'POST',
            agent: request.agent,
            servername: 'localhost',
            headers: request.headers,
            timeout: 30_000,
          },
          (response) => {
            response.resume();
            response.on('end', () => {
              statusCodes[response.statusCode] = (statusCodes[response.statusCode] ?? 0) + 1;
              latencies.push(performance.now() - begun);
              resolve();
            });
          },
        );
        outgoing.on('timeout', () => {
          timeouts += 1;
          outgoing.destroy(new Error('timeout'));
        });
        outgoing.on('error', () => {
          errors += 1;
          resolve();
        });
        outgoing.end(request.body);
      });
    const started = performance.now();
    const deadline = started + seconds * 1000;
    const client = async () => {
      while (performance.now() < deadline) await once();
    };
    await Promise.all(Array.from({ length: concurrency }, client));
    return {
      latencies,
      statusCodes,
      errors,
      timeouts,
      wallSeconds: (performance.now() - started) / 1000,
    };
  });
  const sorted = [...result.latencies].sort((a, b) => a - b);
  const ok = Object.entries(result.statusCodes)
    .filter(([code]) => code.startsWith('2'))
    .reduce((sum, [, count]) => sum + count, 0);
  const answered = sorted.length;
  return {
    reqPerSec: ok / result.wallSeconds,
    requests: answered,
    durationSeconds: round(result.wallSeconds, 2),
    latencyMs: {
      p50: round(percentile(sorted, 50) ?? 0, 1),
      p99: round(percentile(sorted, 99) ?? 0, 1),
      max: round(sorted.at(-1) ?? 0, 1),
    },
    non2xx: answered - ok,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes: result.statusCodes,
    cpuCores,
  };
}

function measureArm(server, request, config) {
  return request.kind === 'sharp'
    ? measureSharpRound(server, request, config)
    : measureRouteRound(server, request, config, config);
}

function memoryStatus(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
  return { hwmMiB: round(kib('VmHWM') / 1024, 1), rssMiB: round(kib('VmRSS') / 1024, 1) };
}

/**
 * A fresh service process on every CPU (the service as deployed on this machine, all its CPUs,
 * and so its default ImageJobLimiter: concurrency = CPUs, queue = 2 × CPUs), under
 * `connections` concurrent requests for `seconds`. Its RSS is sampled every 100 ms; VmHWM is
 * the kernel's own peak.
 */
async function measureMemory(image, config, lifetimeSeconds) {
  const server = await startServer({
    script: SERVER,
    args: ['--mode', 'route', '--image', image, '--max-seconds', String(lifetimeSeconds)],
    label: 'service (memory phase)',
    // This process is pinned to one CPU, and a child inherits that: give it every CPU back.
    pinning: { enabled: config.pinning.enabled, serverCpu: `0-${availableCpus - 1}` },
  });
  try {
    await preflight(server, 'memory phase');
    log(`  image jobs of the memory-phase service: ${JSON.stringify(server.imageJobs)}`);
    const before = memoryStatus(server.child.pid);
    let sampledMaxMiB = before.rssMiB;
    const sampler = setInterval(() => {
      try {
        sampledMaxMiB = Math.max(sampledMaxMiB, memoryStatus(server.child.pid).rssMiB);
      } catch {
        // The process is gone; the round reports it.
      }
    }, 100);
    const request = routeRequest(server, config.rssConnections);
    let result;
    try {
      result = await measureRouteRound(server, request, config, {
        concurrency: config.rssConnections,
        seconds: config.rssSeconds,
      });
    } finally {
      clearInterval(sampler);
      request.agent.destroy();
    }
    await sleep(200);
    const after = memoryStatus(server.child.pid);
    return {
      connections: config.rssConnections,
      seconds: config.rssSeconds,
      imageJobs: server.imageJobs,
      rssBeforeMiB: before.rssMiB,
      rssAfterMiB: after.rssMiB,
      sampledMaxRssMiB: sampledMaxMiB,
      peakRssMiB: after.hwmMiB,
      target: TARGETS.peakRssMiB,
      pass: after.hwmMiB <= TARGETS.peakRssMiB,
      round: result,
    };
  } finally {
    await stopChild(server.child);
  }
}

async function main() {
  installStopHandlers();
  const load = readLoadConfig();
  const withS3 = (process.env.BENCH_THUMBNAILS_S3 ?? '1') !== '0';
  const serverCpus = load.pinning.enabled ? 1 : availableCpus;
  const config = Object.freeze({
    ...load,
    concurrency: integerFromEnv('BENCH_THUMBNAILS_CONCURRENCY', Math.max(2, serverCpus), 64),
    rssConnections: integerFromEnv('BENCH_THUMBNAILS_RSS_CONNECTIONS', 16, 256),
    rssSeconds: integerFromEnv('BENCH_THUMBNAILS_RSS_SECONDS', load.quick ? 3 : 10, 120),
    withS3,
  });
  const startedAt = new Date().toISOString();
  const measuredOn = {
    machine: describeMachine(),
    revision: describeRevision(),
    versions: describeVersions([
      ...NEST_PACKAGES,
      'autocannon',
      'sharp',
      '@aws-sdk/client-s3',
      'cockatiel',
    ]),
    libvips: sharp.versions,
  };
  const planned = plannedSeconds(config, 1, withS3 ? 4 : 3);
  const lifetimeSeconds = Math.ceil(planned.worst) + config.rssSeconds + 180;
  log(
    `bench/thumbnails: ${describeLoad(config).replace(/, \d+ connections/, '')}, ` +
      `concurrency ${config.concurrency} for the ratio, ${config.rssConnections} for the memory phase, ` +
      `about ${Math.ceil((planned.typical + config.rssSeconds + 30) / 60)} min on a quiet machine`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'bench-thumbnails-'));
  try {
    const imageFile = join(dir, '12mp.jpg');
    const image = await makeImage(imageFile);
    log(`  image: ${image.width}×${image.height} JPEG q${image.quality}, ${image.bytes} bytes`);
    const start = (mode, storage, label) =>
      startServer({
        script: SERVER,
        args: [
          '--mode',
          mode,
          '--image',
          imageFile,
          ...(storage === undefined ? [] : ['--storage', storage]),
          '--max-seconds',
          String(lifetimeSeconds),
        ],
        label,
        pinning: config.pinning,
      });
    const sharpServer = await start('sharp', undefined, 'sharp baseline');
    const route = await start('route', 'memory', 'service (in-memory storage)');
    const routeS3 = withS3 ? await start('route', 's3', 'service (development S3)') : undefined;
    const preflights = {
      route: await preflight(route, 'in-memory storage'),
      ...(routeS3 === undefined ? {} : { routeS3: await preflight(routeS3, 'development S3') }),
    };
    log(`  image jobs of the pinned service: ${JSON.stringify(route.imageJobs)}`);
    const arms = [
      ['sharp', { kind: 'sharp' }, sharpServer],
      ['route', routeRequest(route, config.concurrency), route],
      ...(routeS3 === undefined
        ? []
        : [['routeS3', routeRequest(routeS3, config.concurrency), routeS3]]),
      // The service runs at most imageJobs.concurrency jobs at once and queues the rest: the
      // baseline with that many jobs, as a cross-check of the headline ratio.
      [
        'sharpAtJobConcurrency',
        { kind: 'sharp', concurrency: route.imageJobs.concurrency },
        sharpServer,
      ],
    ];
    const measured = await measureInterleaved(route, arms, config, 'thumbnails', {
      measure: measureArm,
      unit: 'ops/s',
    });
    const figures = abFigures(measured, ['sharp', 'route'], TARGETS.routeOverSharp, config);
    const s3 =
      routeS3 === undefined
        ? undefined
        : (() => {
            const median3 = summarise(measured.rounds.routeS3);
            return {
              median: median3,
              ratio: round(median3.reqPerSec / figures.sharp.median.reqPerSec, 3),
              warmup: measured.warmup.routeS3,
              rounds: measured.rounds.routeS3,
            };
          })();
    const serialMedian = summarise(measured.rounds.sharpAtJobConcurrency);
    const serial = {
      concurrency: route.imageJobs.concurrency,
      median: serialMedian,
      routeRatio: round(figures.route.median.reqPerSec / serialMedian.reqPerSec, 3),
      warmup: measured.warmup.sharpAtJobConcurrency,
      rounds: measured.rounds.sharpAtJobConcurrency,
    };
    for (const [, request] of arms) request.agent?.destroy();
    await Promise.all([sharpServer, route, routeS3].filter(Boolean).map((s) => stopChild(s.child)));

    log(`  memory phase: ${config.rssConnections} connections for ${config.rssSeconds} s`);
    const memory = await measureMemory(imageFile, config, lifetimeSeconds);

    const msPerOp = (perSec) => round(1000 / perSec, 1);
    printTable(
      ['Arm', 'ops/s', 'ms/op', 'p50 ms', 'p99 ms', 'server cores', 'non-2xx', 'ratio'],
      [
        ['sharp in process', figures.sharp.median],
        ['POST /v1/thumbnails (memory)', figures.route.median],
        ...(s3 === undefined ? [] : [['POST /v1/thumbnails (dev S3)', s3.median]]),
        [`sharp, ${serial.concurrency} job(s) at a time`, serial.median],
      ].map(([name, m], index, all) => [
        name,
        round(m.reqPerSec, 1),
        msPerOp(m.reqPerSec),
        round(m.latencyP50Ms, 1),
        round(m.latencyP99Ms, 1),
        m.serverCores,
        m.non2xx + m.errors + m.timeouts,
        index === 0
          ? '—'
          : index === 1
            ? figures.ratio
            : index === all.length - 1
              ? `route ÷ this ${serial.routeRatio}`
              : s3.ratio,
      ]),
    );
    log(
      `ratio route ÷ sharp ${figures.ratio} (per-round ${figures.medianRoundRatio}), target ≥ ` +
        `${TARGETS.routeOverSharp}: ${figures.pass ? 'pass' : 'MISS'}; ${figures.addedMicrosPerRequest >= 0 ? '+' : ''}${figures.addedMicrosPerRequest} µs of server time per request`,
    );
    log(
      `peak RSS ${memory.peakRssMiB} MiB (VmHWM; sampled max ${memory.sampledMaxRssMiB}, idle ` +
        `${memory.rssBeforeMiB}) under ${memory.connections} connections, target ≤ ` +
        `${TARGETS.peakRssMiB} MB: ${memory.pass ? 'pass' : 'MISS'}; status codes ` +
        `${JSON.stringify(memory.round.statusCodes)}, ${memory.round.errors} errors, ` +
        `${memory.round.timeouts} timeouts`,
    );
    const report = {
      benchmark: 'thumbnails',
      description:
        'POST /v1/thumbnails of the sample service (AppModule, HTTPS with client certificates required, bearer token with thumbnails.write, every SecureApiModule layer, in-memory storage holding the JPEG) ÷ the same inspect + render in process (the app ImageInspector and ThumbnailRenderer), a 12-megapixel JPEG to a 256 px WebP, at the same concurrency; then the peak RSS of a fresh service process under 16 concurrent requests',
      command: commandLine({
        npmScript: 'bench:thumbnails',
        script: 'bench/thumbnails.mjs',
        env: [
          'BENCH_THUMBNAILS_CONCURRENCY',
          'BENCH_THUMBNAILS_RSS_CONNECTIONS',
          'BENCH_THUMBNAILS_RSS_SECONDS',
          'BENCH_THUMBNAILS_S3',
        ],
      }),
      startedAt,
      finishedAt: new Date().toISOString(),
      // The ratio's rounds must be all 2xx; the memory phase may answer 503 (the job limiter).
      valid: figures.valid && (s3 === undefined || s3.median.non2xx + s3.median.errors === 0),
      ...measuredOn,
      config: {
        ...config,
        image,
        thumbnail: THUMBNAIL,
        order:
          'the sharp child and the service(s) side by side on the server CPU; turns sharp, route, routeS3, sharpAtJobConcurrency (a warm-up turn, then measured turns; a turn in which sharp or route was disturbed is measured again); then the memory phase on a fresh unpinned service',
        statistic:
          'ratio = median(route req/s) / median(sharp ops/s); sharp ops/s = jobs finished / wall time of a closed loop of `concurrency` jobs',
        rateLimits:
          'RATE_LIMIT_TIERS limits raised to 1e9 in the benchmark service (guards still run and count)',
        logging: 'LOG_LEVEL=silent',
      },
      targets: TARGETS,
      preflights,
      summary: {
        sharpOpsPerSec: figures.sharp.median.reqPerSec,
        routeReqPerSec: figures.route.median.reqPerSec,
        ratio: figures.ratio,
        medianRoundRatio: figures.medianRoundRatio,
        addedMicrosPerRequest: figures.addedMicrosPerRequest,
        ratioPass: figures.pass,
        ...(s3 === undefined ? {} : { routeS3ReqPerSec: s3.median.reqPerSec, s3Ratio: s3.ratio }),
        sharpAtJobConcurrencyOpsPerSec: serial.median.reqPerSec,
        routeOverSharpAtJobConcurrency: serial.routeRatio,
        peakRssMiB: memory.peakRssMiB,
        rssPass: memory.pass,
        memoryPhaseStatusCodes: memory.round.statusCodes,
      },
      ratio: figures,
      ...(s3 === undefined ? {} : { routeS3: s3 }),
      sharpAtJobConcurrency: serial,
      memory,
    };
    finishRun(report, {
      name: `thumbnails-${fileStamp(startedAt)}${config.quick ? '-quick' : ''}`,
      latest: 'latest-thumbnails',
      quick: config.quick,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

runMain(main);
