// The server of the peers benchmark, run as a child process of bench/peers.mjs: one Nest app
// with the same two routes, secured by one of four stacks:
//
//   --stack ours          SecureApiModule (auth, scopes, its validation pipe, throttle tiers ip +
//                         principal, its request log), --cache on|off (the verified-token cache)
//   --stack express-peer  Nest/Express + express-oauth2-jwt-bearer auth() + requiredScopes(),
//                         @nestjs/throttler (default in-memory storage, tiers ip + principal),
//                         Nest's ValidationPipe, nestjs-pino with redact
//   --stack fastify-peer  Nest/Fastify + @fastify/jwt with get-jwks, a scope preHandler,
//                         @fastify/rate-limit (ip onRequest, principal preHandler), a JSON
//                         schema on the POST route (Fastify's Ajv), pino with redact
//   --stack bare          no security at all: the ceiling
//
//   GET  /items   needs scope bench.read   -> {"ok":true}
//   POST /items   needs scope bench.write, body CreateItemDto (10 members) -> {"ok":true}
//
// Every stack but bare writes one JSON log line per request, Authorization redacted, to
// /dev/null through the same asynchronous destination (createLogDestination of the module); the
// lines written are counted and answered to the IPC message 'lines' ({ lines }), so that the
// runner can check "one line per request".
//
// The issuer runs in the runner; its URL, audience and JWKS URI are arguments.
//
//   node bench/peers-server.mjs --stack ours|express-peer|fastify-peer|bare
//     --adapter express|fastify [--cache on|off] --issuer URL --audience AUD --jwks-uri URL
//     [--max-seconds 3600]
//
// Uses the built packages (npm run build), as a consumer would.
import 'reflect-metadata';
import { closeSync, openSync } from 'node:fs';
import { parseArgs } from 'node:util';
import fastifyJwt from '@fastify/jwt';
import fastifyRateLimit from '@fastify/rate-limit';
import { Body, Controller, Get, Module, Post, ValidationPipe } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter, RouteSchema } from '@nestjs/platform-fastify';
import { ThrottlerGuard, ThrottlerModule } from '@nestjs/throttler';
import { createLogDestination, Scopes } from '@secure-api/nestjs';
import { bootApp } from '@secure-api/testing';
import { auth, requiredScopes } from 'express-oauth2-jwt-bearer';
import buildGetJwks from 'get-jwks';
import { LoggerModule } from 'nestjs-pino';
import pino from 'pino';
import { fail, setProgramName, warn } from './lib/cli.mjs';
import { CREATE_ITEM_SCHEMA, CreateItemDto } from './lib/create-item-dto.mjs';
import {
  adapterOption,
  announceReady,
  declareParameters,
  decorateClass,
  decorateMethod,
  positiveSeconds,
  secureBenchModule,
  serveUntilParentLeaves,
} from './lib/server-child.mjs';

setProgramName('bench/peers-server');

const STACKS = Object.freeze(['ours', 'express-peer', 'fastify-peer', 'bare']);

/** High enough that no tier ever refuses a request of a run. */
const LIMIT = 1_000_000_000;
const TTL_MS = 60_000;

/** Scopes by method: the same for every stack. */
const READ_SCOPE = 'bench.read';
const WRITE_SCOPE = 'bench.write';

/** pino's redact paths: the request's Authorization header, as pino-http logs it. */
const REDACT = ['req.headers.authorization'];

function readArguments() {
  const { values } = parseArgs({
    options: {
      stack: { type: 'string' },
      adapter: { type: 'string' },
      cache: { type: 'string', default: 'on' },
      issuer: { type: 'string' },
      audience: { type: 'string' },
      'jwks-uri': { type: 'string' },
      'max-seconds': { type: 'string', default: '3600' },
    },
    strict: true,
  });
  if (!STACKS.includes(values.stack ?? '')) {
    fail(`--stack must be one of ${STACKS.join(', ')} (got ${JSON.stringify(values.stack)})`);
  }
  if (!['on', 'off'].includes(values.cache)) {
    fail(`--cache must be on or off (got ${JSON.stringify(values.cache)})`);
  }
  for (const name of ['issuer', 'audience', 'jwks-uri']) {
    if (!values[name]) fail(`--${name} is required`);
  }
  const adapter = adapterOption(values.adapter);
  if (values.stack === 'express-peer' && adapter !== 'express') {
    fail('--stack express-peer runs on --adapter express only');
  }
  if (values.stack === 'fastify-peer' && adapter !== 'fastify') {
    fail('--stack fastify-peer runs on --adapter fastify only');
  }
  return {
    stack: values.stack,
    adapter,
    cache: values.cache,
    issuer: { url: values.issuer, audience: values.audience, jwksUri: values['jwks-uri'] },
    maxSeconds: positiveSeconds(values['max-seconds'], 'max-seconds'),
  };
}

/** The log destination every stack shares, and the count of lines written to it. */
function countingLogDestination() {
  const fd = openSync('/dev/null', 'w');
  const sonic = createLogDestination(fd);
  const state = { lines: 0 };
  const destination = {
    write(chunk) {
      const text = String(chunk);
      for (let index = text.indexOf('\n'); index !== -1; index = text.indexOf('\n', index + 1)) {
        state.lines += 1;
      }
      return sonic.write(chunk);
    },
  };
  return {
    destination,
    state,
    close: () => {
      sonic.flushSync?.();
      closeSync(fd);
    },
  };
}

/**
 * The controller: `list()` and `create(body)`, with `decorators(method)` added to each route
 * (scopes, a route schema) and `bodyType` as the declared type of the body.
 */
function itemsController({ extra = () => [], bodyType = CreateItemDto } = {}) {
  class ItemsController {
    list() {
      return { ok: true };
    }

    create(body) {
      return { ok: typeof body === 'object' && body !== null };
    }
  }
  decorateMethod(ItemsController, 'list', [Get('items'), ...extra('list')]);
  decorateMethod(ItemsController, 'create', [Post('items'), ...extra('create')]);
  declareParameters(ItemsController, 'create', [[bodyType, Body()]]);
  return decorateClass(ItemsController, [Controller()]);
}

function rootModule({ imports = [], controllers, providers = [] }) {
  class PeersBenchModule {}
  return decorateClass(PeersBenchModule, [Module({ imports, controllers, providers })]);
}

async function bootOurs(options, log) {
  const controller = itemsController({
    extra: (method) => [Scopes(method === 'list' ? READ_SCOPE : WRITE_SCOPE)],
  });
  const booted = await bootApp(
    secureBenchModule({
      issuer: options.issuer,
      algorithms: ['RS256', 'ES256'],
      auth: options.cache === 'off' ? { tokenCache: false } : {},
      options: {
        throttle: {
          tiers: [
            { name: 'ip', by: 'ip', limit: LIMIT, ttl: TTL_MS },
            { name: 'principal', by: 'principal', limit: LIMIT, ttl: TTL_MS },
          ],
          storage: 'memory',
        },
        logging: { destination: log.destination },
      },
      controllers: [controller],
    }),
    { adapter: options.adapter, logger: false },
  );
  return { url: booted.url, close: () => booted.close() };
}

async function listen(app) {
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address();
  return { url: `http://127.0.0.1:${address.port}`, close: () => app.close() };
}

async function bootExpressPeer(options, log) {
  const module = rootModule({
    imports: [
      // @nestjs/throttler 6 with its default (in-memory) storage; the principal tier tracks the
      // token's subject, which auth() has put on req.auth by the time guards run.
      ThrottlerModule.forRoot({
        throttlers: [
          { name: 'ip', ttl: TTL_MS, limit: LIMIT },
          {
            name: 'principal',
            ttl: TTL_MS,
            limit: LIMIT,
            getTracker: (request) => String(request.auth?.payload?.sub ?? request.ip),
          },
        ],
      }),
      // pino-http logs one "request completed" line per request, with the request's headers;
      // redact replaces the Authorization header.
      LoggerModule.forRoot({ pinoHttp: [{ level: 'info', redact: REDACT }, log.destination] }),
    ],
    controllers: [itemsController()],
    providers: [{ provide: APP_GUARD, useClass: ThrottlerGuard }],
  });
  const app = await NestFactory.create(module, new ExpressAdapter(), { logger: false });
  // issuer + jwksUri (not issuerBaseURL): no discovery, and jose's remote JWKS fetches an
  // http: URL on loopback as it would an https: one. iss, aud and exp are checked by the
  // library's default validators; allowed algorithms are its asymmetric list.
  app.use(
    auth({
      issuer: options.issuer.url,
      audience: options.issuer.audience,
      jwksUri: options.issuer.jwksUri,
    }),
  );
  const read = requiredScopes(READ_SCOPE);
  const write = requiredScopes(WRITE_SCOPE);
  app.use('/items', (request, response, next) =>
    (request.method === 'GET' ? read : write)(request, response, next),
  );
  // Nest's Express adapter turns an error a raw middleware passes on into a 500; the library's
  // errors carry their status (401, 403) and WWW-Authenticate headers.
  app.use((error, request, response, next) => {
    if (typeof error?.status !== 'number') return next(error);
    response
      .status(error.status)
      .set(error.headers ?? {})
      .json({ error: error.code ?? 'error' });
  });
  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      forbidUnknownValues: true,
      transform: true,
    }),
  );
  return listen(app);
}

async function bootFastifyPeer(options, log) {
  const logger = pino({ level: 'info', redact: REDACT }, log.destination);
  const adapter = new FastifyAdapter({ loggerInstance: logger, disableRequestLogging: true });
  const controller = itemsController({
    extra: (method) => (method === 'create' ? [RouteSchema({ body: CREATE_ITEM_SCHEMA })] : []),
    // Fastify validates against the schema; the handler gets the parsed object.
    bodyType: Object,
  });
  const app = await NestFactory.create(rootModule({ controllers: [controller] }), adapter, {
    logger: false,
  });
  const fastify = app.getHttpAdapter().getInstance();
  const getJwks = buildGetJwks({ jwksPath: '/jwks', issuersWhitelist: [options.issuer.url] });
  // As @fastify/jwt's README pairs it with get-jwks (the key by the token's kid, iss and alg),
  // with one change a team would make once they profiled it: get-jwks caches the JWK but turns
  // it into a PEM on every call (jwk-to-pem, ~6 ms for a P-256 key), so the PEM is memoised
  // per kid, alg and issuer. Without it the ES256 rows measure jwk-to-pem, not the stack.
  const pems = new Map();
  await app.register(fastifyJwt, {
    decode: { complete: true },
    secret: (request, token) => {
      const {
        header: { kid, alg },
        payload: { iss },
      } = token;
      const id = `${kid}\n${alg}\n${iss}`;
      let pem = pems.get(id);
      if (pem === undefined) {
        pem = getJwks.getPublicKey({ kid, domain: iss, alg });
        pems.set(id, pem);
        // A failed lookup (unknown kid, JWKS down) is not remembered.
        pem.catch(() => pems.delete(id));
      }
      return pem;
    },
    verify: {
      allowedIss: options.issuer.url,
      allowedAud: options.issuer.audience,
      algorithms: ['RS256', 'ES256'],
    },
  });
  await app.register(fastifyRateLimit, { global: false });
  // The IP tier before authentication, the principal tier after it (as ours).
  fastify.addHook(
    'onRequest',
    fastify.rateLimit({ max: LIMIT, timeWindow: TTL_MS, keyGenerator: (request) => request.ip }),
  );
  fastify.addHook('onRequest', async (request, reply) => {
    try {
      await request.jwtVerify();
    } catch {
      return reply.code(401).send({ statusCode: 401, error: 'Unauthorized' });
    }
  });
  fastify.addHook(
    'preHandler',
    fastify.rateLimit({
      max: LIMIT,
      timeWindow: TTL_MS,
      keyGenerator: (request) => String(request.user?.sub ?? request.ip),
    }),
  );
  fastify.addHook('preHandler', async (request, reply) => {
    const needed = request.method === 'GET' ? READ_SCOPE : WRITE_SCOPE;
    const scope = request.user?.scope;
    const granted = typeof scope === 'string' ? scope.split(' ') : [];
    if (!granted.includes(needed)) {
      return reply.code(403).send({ statusCode: 403, error: 'Forbidden' });
    }
  });
  // One line per request, with the request's headers as pino-http logs them (Fastify's own
  // request logging, off above, writes two lines and no headers).
  fastify.addHook('onResponse', async (request, reply) => {
    request.log.info(
      {
        req: { method: request.method, url: request.url, headers: request.headers },
        res: { statusCode: reply.statusCode },
        responseTime: reply.elapsedTime,
      },
      'request completed',
    );
  });
  return listen(app);
}

async function bootBare(options) {
  const controller = itemsController({ bodyType: Object });
  const adapter = options.adapter === 'express' ? new ExpressAdapter() : new FastifyAdapter();
  const app = await NestFactory.create(rootModule({ controllers: [controller] }), adapter, {
    logger: false,
  });
  return listen(app);
}

const BOOT = {
  ours: bootOurs,
  'express-peer': bootExpressPeer,
  'fastify-peer': bootFastifyPeer,
  bare: bootBare,
};

async function main() {
  const options = readArguments();
  const log = countingLogDestination();
  let server;
  const stop = serveUntilParentLeaves({
    maxSeconds: options.maxSeconds,
    close: async () => {
      await server?.close().catch(() => undefined);
      log.close();
    },
  });
  if (process.send) {
    process.on('message', (message) => {
      if (message === 'lines') process.send?.({ lines: log.state.lines });
    });
  }
  try {
    server = await BOOT[options.stack](options, log);
  } catch (error) {
    warn(`boot failed: ${String(error?.stack ?? error)}`);
    await stop(1);
    return;
  }
  announceReady({
    url: server.url,
    stack: options.stack,
    adapter: options.adapter,
    cache: options.cache,
  });
}

main().catch((error) => {
  warn(String(error?.stack ?? error));
  process.exit(1);
});
