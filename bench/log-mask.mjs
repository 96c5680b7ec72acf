// In-process benchmark: time per log line of pino with the module's masking
// (maskingPinoOptions(new Masker())) ÷ pino with its own `redact` on the equivalent static
// key paths, for `logger.info({ req }, 'request completed')` with a ~2 KB request object.
//
//   npm run build -w @secure-api/nestjs && node bench/log-mask.mjs
//
// Both loggers write to the same kind of discarding destination, so what differs is redaction
// (A) vs masking (B). Each line logs the next of BENCH_POOL generated requests (ids, tokens and
// times differ per request, as in real traffic, so the masker's caches cannot hold them all).
// Every round measures A, B and the masker alone (mask(obj) per call), in alternating order,
// each until BENCH_ROUND_MS or MAX_LINES; a warm-up of each comes first and is not recorded.
import { Writable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { Masker, maskingPinoOptions } from '../packages/secure-api/dist/logging/masker.js';
import { integerFromEnv } from './lib/cli.mjs';
import {
  describeMachine,
  describeRevision,
  describeVersions,
  machineCpuMicros,
} from './lib/machine.mjs';
import { fileStamp, writeResults } from './lib/results.mjs';
import { median, round } from './lib/stats.mjs';

const ROUNDS = integerFromEnv('BENCH_ROUNDS', 15, 50);
const ROUND_MS = integerFromEnv('BENCH_ROUND_MS', 150, 10_000);
const MAX_LINES = 2_000_000;
const BATCH = 256;
const TARGET = 1.25;
const POOL = integerFromEnv('BENCH_POOL', 4096, 100_000);

// Deterministic variety (a seeded generator), so that every run logs the same lines.
let seed = 0x2f6e2b1;
const random = () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
  return seed / 2 ** 31;
};
const pick = (list) => list[Math.floor(random() * list.length)];
const hex = (n) => Array.from({ length: n }, () => Math.floor(random() * 16).toString(16)).join('');
const b64url = (n) =>
  Array.from({ length: n }, () =>
    pick([...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_']),
  ).join('');
const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
const stamp = () => new Date(Date.UTC(2026, 10, 1) + Math.floor(random() * 2.6e9)).toISOString();
const USER_AGENTS = [
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
  'okhttp/4.12.0',
  'python-requests/2.32.3',
];
const LANGUAGES = ['en-GB,en;q=0.9,fr;q=0.8', 'en-US,en;q=0.9', 'de-DE,de;q=0.9,en;q=0.7', 'fr-FR'];
// Luhn-valid test numbers: the masker must recognise them as cards.
const CARDS = ['4111111111111111', '5500000000000004', '378282246310005', '6011111111111117'];

/**
 * One request as a request logger would record it: method, url with a query, 15 headers, a
 * JSON body with nested objects and arrays. Sensitive: 3 headers, password, card number, cvv
 * and a refresh_token inside an array. Ids, tokens, times and amounts differ per request; the
 * user agents, languages and the other headers come from small sets, as in real traffic.
 */
function makeRequest() {
  const secrets = {
    authorization: `Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImJlbmNoIn0.eyJ${b64url(60)}.${b64url(43)}`,
    session: `canary${hex(24)}`,
    apiKey: `canary-api-key-${hex(16)}`,
    password: `canary-password-${b64url(10)}`,
    card: pick(CARDS),
    refreshToken: `canary-refresh-${b64url(32)}`,
  };
  const request = {
    id: uuid(),
    method: 'POST',
    url: `/api/v1/orders/checkout?page=${1 + Math.floor(random() * 20)}&sort=${pick(['created_at', 'total', 'status'])}&include=items,customer`,
    remoteAddress: `203.0.113.${Math.floor(random() * 255)}`,
    remotePort: 1024 + Math.floor(random() * 60_000),
    headers: {
      host: 'shop.example.com',
      'user-agent': pick(USER_AGENTS),
      accept: 'application/json, text/plain, */*',
      'accept-language': pick(LANGUAGES),
      'accept-encoding': 'gzip, deflate, br, zstd',
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(600 + Math.floor(random() * 300)),
      authorization: secrets.authorization,
      cookie: `sid=${secrets.session}; theme=${pick(['dark', 'light'])}; consent=granted`,
      'x-api-key': secrets.apiKey,
      'x-forwarded-for': `203.0.113.${Math.floor(random() * 255)}, 198.51.100.7`,
      'x-forwarded-proto': 'https',
      'x-request-id': uuid(),
      origin: 'https://shop.example.com',
      referer: `https://shop.example.com/cart?step=${pick(['payment', 'review', 'address'])}`,
    },
    body: {
      customer: {
        id: 10_000 + Math.floor(random() * 90_000),
        email: `user.${hex(6)}@example.org`,
        name: pick(['Ann Example', 'Bo Sample', 'Cy Test', 'Di Demo']),
        password: secrets.password,
        newsletter: random() < 0.5,
        address: {
          line1: `${1 + Math.floor(random() * 200)} Example Street`,
          city: pick(['Springfield', 'Shelbyville', 'Ogdenville']),
          postcode: `SP${1 + Math.floor(random() * 9)} ${Math.floor(random() * 9)}AB`,
          country: 'GB',
        },
      },
      payment: {
        method: 'card',
        card_number: secrets.card,
        cvv: String(100 + Math.floor(random() * 900)),
        expiry: `${String(1 + Math.floor(random() * 12)).padStart(2, '0')}/29`,
        amount: Math.round(random() * 50_000) / 100,
      },
      items: Array.from({ length: 3 }, () => ({
        sku: `SKU-${10_000 + Math.floor(random() * 90_000)}`,
        name: pick(['Ceramic mug', 'Tea sampler', 'Gift card', 'Tote bag']),
        qty: 1 + Math.floor(random() * 3),
        price: Math.round(random() * 10_000) / 100,
        tags: pick([['kitchen', 'gift'], ['food'], []]),
      })),
      sessions: [
        { device: 'web', refresh_token: secrets.refreshToken, lastSeen: stamp() },
        { device: 'ios', active: true, lastSeen: stamp() },
      ],
      coupon: null,
      giftWrap: random() < 0.3,
      notes: 'Leave at the front door, ring twice.',
    },
    responseTime: Math.round(random() * 1000) / 10,
    statusCode: 201,
  };
  return { request, secrets: Object.values(secrets) };
}

const pool = Array.from({ length: POOL }, makeRequest);
const requests = pool.map((entry) => entry.request);

// Arm A's paths: every sensitive key of the object above, as pino (fast-redact) needs them.
const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.body.customer.password',
  'req.body.payment.card_number',
  'req.body.payment.cvv',
  'req.body.sessions[*].refresh_token',
];

class NullDestination extends Writable {
  last = '';
  write(chunk) {
    this.last = chunk;
    return true;
  }
}

function measure(run) {
  let lines = 0;
  const machineBefore = machineCpuMicros();
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  let elapsed = 0;
  while (lines < MAX_LINES) {
    for (let i = 0; i < BATCH; i++) run();
    lines += BATCH;
    elapsed = performance.now() - start;
    if (elapsed >= ROUND_MS) break;
  }
  const cpu = process.cpuUsage(cpuBefore);
  const machineAfter = machineCpuMicros();
  // Cores the rest of the machine used meanwhile: the machine is shared, this says how much.
  const otherCores =
    machineBefore === null || machineAfter === null
      ? null
      : round(
          Math.max(0, (machineAfter - machineBefore - cpu.user - cpu.system) / (elapsed * 1000)),
          2,
        );
  return { lines, ms: round(elapsed, 2), nsPerLine: round((elapsed * 1e6) / lines, 1), otherCores };
}

const masker = new Masker();
const destA = new NullDestination();
const destB = new NullDestination();
const loggerA = pino({ redact: { paths: REDACT_PATHS, censor: '[REDACTED]' } }, destA);
const loggerB = pino(maskingPinoOptions(masker), destB);
let sink;
let next = 0;
// Each call logs the next request of the pool, the same sequence in every arm.
const arms = {
  pinoRedact: () => loggerA.info({ req: requests[next++ % POOL] }, 'request completed'),
  masking: () => loggerB.info({ req: requests[next++ % POOL] }, 'request completed'),
  maskerAlone: () => {
    sink = masker.mask(requests[next++ % POOL]);
  },
};

// Validity: no line of either arm holds a secret of its request, and logging changes nothing.
const before = JSON.stringify(requests);
for (const { request, secrets } of pool) {
  loggerA.info({ req: request }, 'request completed');
  loggerB.info({ req: request }, 'request completed');
  for (const [name, line] of [
    ['pinoRedact', destA.last],
    ['masking', destB.last],
  ]) {
    const leaked = secrets.filter((secret) => line.includes(secret));
    if (leaked.length > 0) throw new Error(`${name} leaked ${leaked.join(', ')}: ${line}`);
  }
}
const jsonBytes = median(requests.map((request) => Buffer.byteLength(JSON.stringify(request))));
const lineBytes = {
  pinoRedact: Buffer.byteLength(destA.last),
  masking: Buffer.byteLength(destB.last),
};

const startedAt = new Date();
for (const run of Object.values(arms)) measure(run);
const rounds = { pinoRedact: [], masking: [], maskerAlone: [] };
const order = Object.entries(arms);
for (let r = 0; r < ROUNDS; r++) {
  // A, B, alone, then alone, B, A: drift within a round falls on every arm alike.
  for (const [name, run] of r % 2 === 0 ? order : [...order].reverse()) {
    rounds[name].push(measure(run));
  }
  const a = rounds.pinoRedact.at(-1).nsPerLine;
  const b = rounds.masking.at(-1).nsPerLine;
  console.log(
    `round ${r + 1}/${ROUNDS}: pino redact ${a.toFixed(0)} ns/line, masking ${b.toFixed(0)} ns/line, ` +
      `÷ ${(b / a).toFixed(3)}, masker alone ${rounds.maskerAlone.at(-1).nsPerLine.toFixed(0)} ns/call, ` +
      `other load ${rounds.masking.at(-1).otherCores ?? '?'} cores`,
  );
}
if (sink === undefined) throw new Error('the masker returned nothing');
if (JSON.stringify(requests) !== before) throw new Error('logging changed the requests');

const medians = Object.fromEntries(
  Object.entries(rounds).map(([name, list]) => [name, median(list.map((x) => x.nsPerLine))]),
);
const ratio = round(medians.masking / medians.pinoRedact, 3);
const medianRoundRatio = round(
  median(rounds.masking.map((x, i) => x.nsPerLine / rounds.pinoRedact[i].nsPerLine)),
  3,
);
const pass = ratio <= TARGET;

const result = {
  benchmark: 'log-mask',
  startedAt: startedAt.toISOString(),
  command:
    process.env.npm_lifecycle_event === 'bench:log-mask'
      ? 'npm run bench:log-mask'
      : 'node bench/log-mask.mjs',
  machine: describeMachine(),
  revision: describeRevision(),
  versions: describeVersions(['pino', '@pinojs/redact']),
  config: {
    rounds: ROUNDS,
    roundMs: ROUND_MS,
    maxLinesPerRound: MAX_LINES,
    pool: POOL,
    requestJsonBytesMedian: jsonBytes,
    lastLineBytes: lineBytes,
    redactPaths: REDACT_PATHS,
    maskerOptions: { maxStringLength: masker.maxStringLength, maxDepth: masker.maxDepth },
    line: "logger.info({ req }, 'request completed')",
  },
  rounds,
  medians: {
    pinoRedactNsPerLine: medians.pinoRedact,
    maskingNsPerLine: medians.masking,
    maskerAloneNsPerCall: medians.maskerAlone,
  },
  ratio,
  medianRoundRatio,
  medianOtherCores: median(rounds.masking.map((x) => x.otherCores ?? NaN)),
  target: TARGET,
  pass,
};

console.log(
  `\nmedian: pino redact ${medians.pinoRedact.toFixed(0)} ns/line, masking ${medians.masking.toFixed(0)} ns/line, ` +
    `ratio ÷ ${ratio.toFixed(3)} (median of round ratios ${medianRoundRatio.toFixed(3)}), ` +
    `masker alone ${medians.maskerAlone.toFixed(0)} ns/call; requests of ${jsonBytes} B of JSON (median); ` +
    `target ≤ ${TARGET}: ${pass ? 'PASS' : 'MISS'}`,
);
writeResults(result, { name: `log-mask-${fileStamp(result.startedAt)}`, quick: true });
