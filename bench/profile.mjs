// Profiles one server of the peers benchmark under load (issue 8): starts the server with
// `node --cpu-prof`, sends it autocannon load for a while, stops it, and prints where its CPU
// went: the top functions by self time, and the time by layer (our auth, logging, throttling,
// validation…, Nest, the adapter, each package in node_modules, Node itself, GC, idle).
//
//   node bench/profile.mjs [--stack ours] [--adapter express] [--cache on] [--alg RS256]
//     [--route get|post] [--seconds 10] [--connections 16] [--top 25] [--out DIR]
//   node bench/profile.mjs --server logging [--logging on|off|context] [--adapter express] …
//     (the logging benchmark's server, GET /items/42)
//   node bench/profile.mjs --server throttle [--storage redis|nest-lab|memory] [--adapter …] …
//     (the rate-limiting benchmark's server, GET /limited with an API key; Redis at REDIS_URL)
//   node bench/profile.mjs --server validation [--route validated|raw] [--adapter …] …
//     (the validation benchmark's server, POST /validated or /raw with the 10-member body)
//
// The .cpuprofile is kept in --out (default bench/results/profiles/): open it in Chrome DevTools
// (Performance, "Load profile") or https://www.speedscope.app for the flame graph. Uses the
// built packages (npm run build).
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { hashApiKey } from '@secure-api/nestjs';
import { createLocalIssuer } from '@secure-api/testing';
import { fail, log, setProgramName } from './lib/cli.mjs';
import { BENCH_DIR, ROOT } from './lib/machine.mjs';
import { CREATE_ITEM_BODY } from './lib/create-item-dto.mjs';
import { startServer, stopChild } from './lib/processes.mjs';

setProgramName('bench/profile');

const { values } = parseArgs({
  options: {
    server: { type: 'string', default: 'peers' },
    logging: { type: 'string', default: 'on' },
    storage: { type: 'string', default: 'redis' },
    stack: { type: 'string', default: 'ours' },
    adapter: { type: 'string', default: 'express' },
    cache: { type: 'string', default: 'on' },
    alg: { type: 'string', default: 'RS256' },
    route: { type: 'string', default: 'get' },
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '16' },
    top: { type: 'string', default: '25' },
    out: { type: 'string', default: join(BENCH_DIR, 'results', 'profiles') },
  },
  strict: true,
});

const seconds = Number(values.seconds);
const connections = Number(values.connections);
const top = Number(values.top);
for (const [name, value] of [
  ['seconds', seconds],
  ['connections', connections],
  ['top', top],
]) {
  if (!Number.isInteger(value) || value < 1 || value > 600) {
    fail(`--${name} must be an integer from 1 to 600`);
  }
}
if (!['peers', 'logging', 'throttle', 'validation'].includes(values.server)) {
  fail('--server must be peers, logging, throttle or validation');
}
const routes = values.server === 'validation' ? ['validated', 'raw'] : ['get', 'post'];
if (values.route === 'get' && values.server === 'validation') values.route = 'validated';
if (!routes.includes(values.route)) fail(`--route must be ${routes.join(' or ')}`);
if (!['redis', 'nest-lab', 'memory'].includes(values.storage)) {
  fail('--storage must be redis, nest-lab or memory');
}
if (!['on', 'off', 'context'].includes(values.logging))
  fail('--logging must be on, off or context');
if (!['RS256', 'ES256'].includes(values.alg)) fail('--alg must be RS256 or ES256');

/** The layer a profile frame belongs to, from its script's path. */
function layerOf(url, functionName) {
  if (!url) {
    if (functionName === '(garbage collector)') return 'gc';
    if (functionName === '(idle)') return 'idle';
    if (functionName === '(program)') return 'program';
    return 'native';
  }
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  const path = url.startsWith('file://') ? new URL(url).pathname : url;
  const ours = `${join(ROOT, 'packages', 'secure-api', 'dist')}${sep}`;
  if (path.startsWith(ours)) {
    const [directory] = relative(ours, path).split(sep);
    return `secure-api/${directory.endsWith('.js') ? '(root)' : directory}`;
  }
  const modules = `${sep}node_modules${sep}`;
  const at = path.lastIndexOf(modules);
  if (at !== -1) {
    const [scope, name] = path.slice(at + modules.length).split(sep);
    return scope.startsWith('@') ? `${scope}/${name}` : scope;
  }
  if (path.startsWith(BENCH_DIR)) return 'bench';
  return relative(ROOT, path);
}

/** Self time per node of a V8 .cpuprofile, in µs. */
function selfTimes(profile) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const micros = new Map();
  const { samples, timeDeltas } = profile;
  for (let index = 0; index < samples.length; index += 1) {
    const id = samples[index];
    micros.set(id, (micros.get(id) ?? 0) + (timeDeltas[index] ?? 0));
  }
  return [...micros].map(([id, time]) => ({ node: byId.get(id), time }));
}

/** Packages whose frames stand for the framework (Nest and its adapter), not for a library we call. */
const FRAMEWORK = new Set([
  '@nestjs/core',
  '@nestjs/common',
  '@nestjs/platform-express',
  '@nestjs/platform-fastify',
  'express',
  'router',
  'fastify',
  'find-my-way',
  'avvio',
  'light-my-request',
]);

/** Libraries charged as a layer of their own, by what they do. */
const LIBRARY_LAYERS = new Map([
  ...['pino', 'pino-http', 'nestjs-pino', 'sonic-boom', 'pino-std-serializers', 'fast-redact'].map(
    (name) => [name, 'lib: pino, pino-http, nestjs-pino'],
  ),
  ...['class-validator', 'class-transformer', 'validator', 'libphonenumber-js'].map((name) => [
    name,
    'lib: class-validator, class-transformer',
  ]),
  ...['passport', 'passport-jwt', 'jose', 'jsonwebtoken', 'jws', 'jwa', 'lru-cache'].map((name) => [
    name,
    'lib: passport, jose, lru-cache',
  ]),
  ['helmet', 'lib: helmet'],
  ['@fastify/helmet', 'lib: helmet'],
  ['ipaddr.js', 'lib: ipaddr.js, proxy-addr'],
  ['@fastify/proxy-addr', 'lib: ipaddr.js, proxy-addr'],
]);

/**
 * The part of the stack a sample is charged to: walking from the leaf up, the first frame in our
 * package names it (`secure-api/auth`, `secure-api/logging`…), the first frame of a library of
 * {@link LIBRARY_LAYERS} names that library, the first frame of Nest or the adapter makes it
 * `framework`; a stack with none of these is `node` (the HTTP server, the socket writes), `gc`
 * or `program`.
 */
function attributionOf(node, parents) {
  const own = layerOf(node.callFrame.url, node.callFrame.functionName);
  if (['gc', 'program', 'idle'].includes(own)) return own;
  for (let current = node; current; current = parents.get(current.id)) {
    const layer = layerOf(current.callFrame.url, current.callFrame.functionName);
    if (layer.startsWith('secure-api/')) return layer;
    if (LIBRARY_LAYERS.has(layer)) return LIBRARY_LAYERS.get(layer);
    if (FRAMEWORK.has(layer)) return 'framework';
    if (layer === 'bench') return 'bench (the route handler)';
  }
  return 'node';
}

function summarise(profile, requests) {
  const parents = new Map();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) parents.set(child, node);
  }
  const attributed = new Map();
  const layers = new Map();
  const functions = new Map();
  let total = 0;
  let busy = 0;
  for (const { node, time } of selfTimes(profile)) {
    const { functionName, url, lineNumber } = node.callFrame;
    const layer = layerOf(url, functionName);
    total += time;
    if (layer !== 'idle') busy += time;
    const charged = attributionOf(node, parents);
    attributed.set(charged, (attributed.get(charged) ?? 0) + time);
    layers.set(layer, (layers.get(layer) ?? 0) + time);
    if (layer === 'idle') continue;
    const key = `${functionName || '(anonymous)'} ${layer}:${lineNumber + 1}`;
    functions.set(key, (functions.get(key) ?? 0) + time);
  }
  const perRequest = (time) => (requests > 0 ? time / requests : 0);
  const rows = (map) =>
    [...map]
      .filter(([name]) => name !== 'idle')
      .sort((a, b) => b[1] - a[1])
      .map(([name, time]) => ({
        name,
        share: `${((100 * time) / busy).toFixed(1)} %`,
        usPerRequest: perRequest(time).toFixed(1),
      }));
  return {
    totalMs: total / 1000,
    busyMs: busy / 1000,
    busyUsPerRequest: perRequest(busy),
    attributed: rows(attributed),
    layers: rows(layers).slice(0, top),
    functions: rows(functions).slice(0, top),
  };
}

function printRows(title, rows) {
  log(title);
  const width = Math.min(90, Math.max(...rows.map((row) => row.name.length)));
  for (const row of rows) {
    log(
      `  ${row.name.padEnd(width)}  ${row.share.padStart(7)}  ${row.usPerRequest.padStart(7)} µs/req`,
    );
  }
}

/**
 * The server to profile and what to send it: a peers server (`--stack`, `--cache`, `--alg`,
 * `--route`: `/items` with a token) or the logging benchmark's (`--logging`: `GET /items/42`,
 * public).
 */
async function plan(directory) {
  const nodeOptions = ['--cpu-prof', `--cpu-prof-dir=${directory}`];
  const maxSeconds = `--max-seconds=${seconds + 120}`;
  if (values.server === 'logging') {
    return {
      label: `logging ${values.logging} on ${values.adapter}`,
      start: () =>
        startServer({
          script: join(BENCH_DIR, 'logging-server.mjs'),
          nodeOptions,
          args: [`--adapter=${values.adapter}`, `--logging=${values.logging}`, maxSeconds],
          label: `${values.adapter} logging ${values.logging} server`,
          pinning: { enabled: false },
        }),
      path: '/items/42',
      post: false,
      headers: {},
      close: async () => undefined,
    };
  }
  if (values.server === 'validation') {
    return {
      label: `validation, POST /${values.route} on ${values.adapter}`,
      start: () =>
        startServer({
          script: join(BENCH_DIR, 'validation-server.mjs'),
          nodeOptions,
          args: [`--adapter=${values.adapter}`, maxSeconds],
          label: `${values.adapter} validation server`,
          pinning: { enabled: false },
        }),
      path: `/${values.route}`,
      post: true,
      headers: { 'content-type': 'application/json' },
      close: async () => undefined,
    };
  }
  if (values.server === 'throttle') {
    const apiKey = 'profile-api-key-0123456789abcdef';
    const redis = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
    return {
      label: `rate limiting in ${values.storage} on ${values.adapter}`,
      start: () =>
        startServer({
          script: join(BENCH_DIR, 'throttle-server.mjs'),
          nodeOptions,
          args: [
            `--adapter=${values.adapter}`,
            `--storage=${values.storage}`,
            `--api-key-sha256=${hashApiKey(apiKey)}`,
            ...(values.storage === 'memory'
              ? []
              : [`--redis-url=${redis}`, `--key-prefix=profile:${process.pid}:`]),
            maxSeconds,
          ],
          label: `${values.adapter} ${values.storage} throttle server`,
          pinning: { enabled: false },
        }),
      path: '/limited',
      post: false,
      headers: { 'x-api-key': apiKey },
      close: async () => undefined,
    };
  }
  const issuer = await createLocalIssuer({ algorithms: ['RS256', 'ES256'] });
  const token = issuer.mint({
    alg: values.alg,
    scope: ['bench.read', 'bench.write'],
    expiresInSeconds: seconds + 120,
  });
  const post = values.route === 'post';
  return {
    label: `${values.stack} on ${values.adapter}, cache ${values.cache}, ${values.alg}, ${values.route}`,
    start: () =>
      startServer({
        script: join(BENCH_DIR, 'peers-server.mjs'),
        nodeOptions,
        args: [
          `--stack=${values.stack}`,
          `--adapter=${values.adapter}`,
          `--cache=${values.cache}`,
          `--issuer=${issuer.url}`,
          `--audience=${issuer.audience}`,
          `--jwks-uri=${issuer.jwksUri}`,
          maxSeconds,
        ],
        label: `${values.adapter} ${values.stack} server`,
        pinning: { enabled: false },
      }),
    path: '/items',
    post,
    headers: {
      authorization: `Bearer ${token}`,
      ...(post ? { 'content-type': 'application/json' } : {}),
    },
    close: () => issuer.close(),
  };
}

async function main() {
  const directory = join(
    values.out,
    values.server === 'logging'
      ? `logging-${values.adapter}-${values.logging}`
      : values.server === 'throttle'
        ? `throttle-${values.adapter}-${values.storage}`
        : values.server === 'validation'
          ? `validation-${values.adapter}-${values.route}`
          : `${values.stack}-${values.adapter}-${values.cache}-${values.alg}-${values.route}`,
  );
  rmSync(directory, { recursive: true, force: true });
  mkdirSync(directory, { recursive: true });
  const target = await plan(directory);
  const server = await target.start().catch(async (error) => {
    await target.close();
    throw error;
  });
  let requests = 0;
  try {
    const { headers, post } = target;
    const run = (duration) =>
      autocannon({
        url: `${server.url}${target.path}`,
        method: post ? 'POST' : 'GET',
        headers,
        body: post ? CREATE_ITEM_BODY : undefined,
        connections,
        duration,
      });
    log(`profiling ${target.label} for ${seconds} s`);
    const result = await run(seconds);
    requests = result.requests.total;
    const bad = result.non2xx + result.errors + result.timeouts;
    if (bad > 0) fail(`${bad} of ${requests} requests failed: the server is not set up right`);
    log(`${requests} requests, ${Math.round(result.requests.average)} req/s`);
  } finally {
    await stopChild(server.child);
    await target.close();
  }
  const [file] = readdirSync(directory).filter((name) => name.endsWith('.cpuprofile'));
  if (!file) fail(`no .cpuprofile was written to ${directory}`);
  const summary = summarise(JSON.parse(readFileSync(join(directory, file), 'utf8')), requests);
  log(
    `busy ${summary.busyMs.toFixed(0)} ms of ${summary.totalMs.toFixed(0)} ms: ${summary.busyUsPerRequest.toFixed(1)} µs of CPU per request (profiled, so slower than unprofiled)`,
  );
  printRows(
    'charged to (the innermost frame of ours or of the framework on the stack):',
    summary.attributed,
  );
  printRows('by package (self time):', summary.layers);
  printRows(`top ${top} functions (self time):`, summary.functions);
  log(`profile: ${relative(ROOT, join(directory, file))}`);
}

main().catch((error) => {
  fail(String(error?.stack ?? error));
});
