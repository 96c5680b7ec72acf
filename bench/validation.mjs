// Validation overhead benchmark: req/s of a POST whose JSON body the global SecureValidationPipe
// validates against a 10-member class-validator DTO, divided by req/s of the same POST to a
// route whose body is not a class (so the pipe passes it through), same app, same body
// parsing, same ~400-byte body, on Express and Fastify. See bench/README.md, "Validation".
//
//   npm run bench:validation       (builds first; same as: npm run build && node bench/validation.mjs)
//   BENCH_QUICK=1 node bench/validation.mjs     smoke test: 2 rounds of 2 s, not kept as latest
//   BENCH_ROUNDS, BENCH_SECONDS, BENCH_CONNECTIONS, BENCH_PIN, BENCH_QUIET_WAIT as for bench/run.mjs
//
// The server (bench/validation-server.mjs) runs in a child process; autocannon runs here. Per
// adapter: one warm-up round of A (raw) and of B (validated), then A, B, A, B, … measured rounds.
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

setProgramName('bench/validation');

const SERVER = join(BENCH_DIR, 'validation-server.mjs');
const ADAPTERS = ['express', 'fastify'];

/** Minimum validated ÷ raw ratio, from the issue. */
const TARGET = 0.8;

/** A body CreateItemDto accepts: every member, the optional `note` included. */
const GOOD = Object.freeze({
  name: 'Spring catalogue thumbnails',
  description: 'Resize the product photos of the spring catalogue to web sizes; keep originals.',
  quantity: 250,
  priority: 'high',
  public: false,
  ownerEmail: 'jane.doe@shop.example.com',
  requestId: '3f2b8c1e-9a4d-4e6b-8f1a-2c3d4e5f6a7b',
  tags: ['catalogue', 'spring-2027', 'products', 'thumbnails'],
  size: { width: 1024, height: 768, fit: 'cover' },
  note: 'Deliver before Friday noon.',
});
const BODY = JSON.stringify(GOOD);

/** One failure per kind of rule, and a member the DTO does not declare. */
const BAD = JSON.stringify({
  ...GOOD,
  quantity: 0,
  priority: 'urgent',
  ownerEmail: 'not an email',
  tags: ['x'.repeat(40)],
  size: { width: 'big', height: 768, fit: 'cover' },
  isAdmin: true,
});

const JSON_HEADERS = Object.freeze({ 'content-type': 'application/json' });

const ROUTES = [
  ['raw', { path: '/raw', method: 'POST', headers: JSON_HEADERS, body: BODY }],
  ['validated', { path: '/validated', method: 'POST', headers: JSON_HEADERS, body: BODY }],
];

/**
 * Refuses to measure unless both routes accept the benchmark body, the validated route turns it
 * into a CreateItemDto and refuses a bad body (each broken rule at its pointer) with 400, and
 * the raw route hands the handler the parsed object untouched, bad members and all: the pipe
 * really skips it.
 */
function preflight(server) {
  const post = (path, body, expected, verify) => ({
    description: `POST ${path} with the ${body === BODY ? 'benchmark' : 'bad'} body`,
    path,
    method: 'POST',
    headers: JSON_HEADERS,
    body,
    expected,
    verify,
  });
  const answered = (dto, plain) => (json) =>
    json?.ok === true && json.dto === dto && json.plain === plain
      ? null
      : `expected {"ok":true,"dto":${dto},"plain":${plain}}`;
  const pointers = ['/quantity', '/priority', '/ownerEmail', '/tags', '/size/width', '/isAdmin'];
  return preflightChecks(server.url, [
    post('/validated', BODY, 201, answered(true, false)),
    post('/raw', BODY, 201, answered(false, true)),
    post('/validated', BAD, 400, (json) => {
      const found = new Set((json?.errors ?? []).map((error) => error.pointer));
      const missing = pointers.filter((pointer) => !found.has(pointer));
      return missing.length === 0 ? null : `no error at ${missing.join(', ')}`;
    }),
    post('/raw', BAD, 201, answered(false, true)),
  ]);
}

async function benchAdapter(adapter, config, lifetimeSeconds) {
  const server = await startServer({
    script: SERVER,
    args: [`--adapter=${adapter}`, `--max-seconds=${lifetimeSeconds}`],
    label: `${adapter} validation server`,
    pinning: config.pinning,
  });
  try {
    await preflight(server);
    const measured = await measureInterleaved(server, ROUTES, config, adapter.padEnd(7));
    return { adapter, ...abFigures(measured, ['raw', 'validated'], TARGET, config) };
  } finally {
    await stopChild(server.child);
  }
}

function printResults(results) {
  printTable(
    [
      'adapter',
      'raw req/s',
      'validated req/s',
      'ratio',
      '+µs/req',
      'target',
      'result',
      'p50 ms A/B',
      'p99 ms A/B',
      'server CPU A/B',
    ],
    results.map((r) => [
      r.adapter,
      r.raw.median.reqPerSec.toFixed(0),
      r.validated.median.reqPerSec.toFixed(0),
      r.ratio.toFixed(3),
      r.addedMicrosPerRequest.toFixed(1),
      `≥ ${TARGET.toFixed(2)}`,
      (!r.valid ? 'INVALID' : r.pass ? 'PASS' : 'MISS') + (r.disturbed ? ' (disturbed)' : ''),
      `${r.raw.median.latencyP50Ms}/${r.validated.median.latencyP50Ms}`,
      `${r.raw.median.latencyP99Ms}/${r.validated.median.latencyP99Ms}`,
      `${r.raw.median.serverCores.toFixed(2)}/${r.validated.median.serverCores.toFixed(2)}`,
    ]),
  );
}

async function main() {
  installStopHandlers();
  const config = readLoadConfig();
  const startedAt = new Date().toISOString();
  const { typical, worst } = plannedSeconds(config, 1);
  const lifetimeSeconds = Math.ceil(worst) + 120;
  log(
    `bench/validation: ${describeLoad(config)}, ${BODY.length}-byte body, ` +
      `about ${Math.ceil((ADAPTERS.length * typical) / 60)} min on a quiet machine` +
      ` (at most ${Math.ceil((ADAPTERS.length * worst) / 60)})`,
  );
  const results = [];
  for (const adapter of ADAPTERS) {
    results.push(await benchAdapter(adapter, config, lifetimeSeconds));
  }
  const report = {
    benchmark: 'validation',
    description:
      'req/s of POST /validated (body validated against a 10-member class-validator DTO by the global SecureValidationPipe) divided by req/s of POST /raw (body typed unknown, passed through), same server process, same body',
    command: commandLine({
      npmScript: 'bench:validation',
      script: 'bench/validation.mjs',
    }),
    startedAt,
    finishedAt: new Date().toISOString(),
    valid: results.every((r) => r.valid),
    machine: describeMachine(),
    revision: describeRevision(),
    versions: describeVersions([
      ...NEST_PACKAGES,
      'class-validator',
      'class-transformer',
      ['validator', ['class-validator']],
      'autocannon',
    ]),
    config: {
      ...config,
      order: 'per adapter: warm-up A, warm-up B, then A B A B … (A = raw, B = validated)',
      statistic:
        'ratio = median(B req/s) / median(A req/s); latencies are medians of per-round p50/p99',
      adapters: ADAPTERS,
      bodyParser: "the module's own (apps created with { bodyParser: false })",
      dto: 'CreateItemDto: name @IsString @Length(1,64); description @IsString @Length(0,200); quantity @IsInt @Min(1) @Max(1000); priority @IsEnum; public @IsBoolean; ownerEmail @IsEmail; requestId @IsUUID(4); tags @IsArray @ArrayMaxSize(10) @IsString({each}) @Length(1,32,{each}); size @ValidateNested @Type(() => SizeDto) {width, height @IsInt @Min(1) @Max(4096); fit @IsEnum}; note @IsOptional @IsString @Length(0,100)',
      body: GOOD,
      bodyBytes: Buffer.byteLength(BODY),
      loadGenerator:
        'autocannon (programmatic API) in the parent process; server in a child process',
    },
    target: TARGET,
    summary: results.map((r) => summaryEntry(r, { adapter: r.adapter }, 'raw', 'validated')),
    results,
  };
  printResults(results);
  for (const r of results) {
    log(`${r.adapter}: ratio ${r.ratio} ${r.pass ? 'PASS' : 'MISS'} (target ≥ ${TARGET})`);
  }
  finishRun(report, {
    name: `validation-${fileStamp(startedAt)}${config.quick ? '-quick' : ''}`,
    latest: 'latest-validation',
    quick: config.quick,
  });
}

runMain(main);
