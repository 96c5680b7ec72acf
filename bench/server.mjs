// The benchmarked server, run as a child process of bench/run.mjs so that the app and the load
// generator never share a core. It starts a local issuer (a real JWKS on loopback) and a Nest
// app with SecureApiModule and two routes:
//
//   GET /bare     @Public()             -> {"ok":true}
//   GET /secured  @Scopes('bench.read') -> {"ok":true}
//   GET /floor-rs256, /floor-es256  @Public(), checks the signature of that benchmark token
//                 with crypto.verify and nothing else -> {"ok":true}: the least any verifying
//                 route can cost on this machine, measured the same way as the others.
//
// It prints one JSON line, { url, tokens: { RS256, ES256 } }, and serves until stdin closes, a
// SIGTERM/SIGINT arrives, the IPC channel (when started by run.mjs) closes or --max-seconds
// pass, whichever comes first.
//
//   node bench/server.mjs --adapter express|fastify --cache on|off [--token-ttl 3600]
//                         [--max-seconds 3600]
//
// Uses the built packages (npm run build), as a consumer would.
import 'reflect-metadata';
import { verify } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Controller, Get, Module } from '@nestjs/common';
import { Public, Scopes, SecureApiModule } from '@secure-api/nestjs';
import { bootApp, createLocalIssuer } from '@secure-api/testing';

const SCOPE = 'bench.read';
const ALGORITHMS = ['RS256', 'ES256'];

function fail(message) {
  process.stderr.write(`bench/server: ${message}\n`);
  process.exit(2);
}

function positiveSeconds(value, name) {
  const seconds = Number(value);
  if (!Number.isInteger(seconds) || seconds <= 0 || seconds > 86_400) {
    fail(`--${name} must be an integer from 1 to 86400 (got ${JSON.stringify(value)})`);
  }
  return seconds;
}

function readArguments() {
  const { values } = parseArgs({
    options: {
      adapter: { type: 'string' },
      cache: { type: 'string' },
      'token-ttl': { type: 'string', default: '3600' },
      'max-seconds': { type: 'string', default: '3600' },
    },
    strict: true,
  });
  if (values.adapter !== 'express' && values.adapter !== 'fastify') {
    fail(`--adapter must be express or fastify (got ${JSON.stringify(values.adapter)})`);
  }
  if (values.cache !== 'on' && values.cache !== 'off') {
    fail(`--cache must be on or off (got ${JSON.stringify(values.cache)})`);
  }
  return {
    adapter: values.adapter,
    cache: values.cache === 'on',
    tokenTtlSeconds: positiveSeconds(values['token-ttl'], 'token-ttl'),
    maxSeconds: positiveSeconds(values['max-seconds'], 'max-seconds'),
  };
}

const BODY = Object.freeze({ ok: true });

/** Per algorithm: the token's signing input, signature and public key, set before serving. */
const floors = new Map();

function signatureFloor(alg) {
  const floor = floors.get(alg);
  if (!floor || !verify('sha256', floor.data, floor.key, floor.signature)) {
    throw new Error(`signature floor for ${alg} did not verify`);
  }
  return BODY;
}

class BenchController {
  bare() {
    return BODY;
  }

  secured() {
    return BODY;
  }

  floorRs256() {
    return signatureFloor('RS256');
  }

  floorEs256() {
    return signatureFloor('ES256');
  }
}

// Plain JavaScript has no decorator syntax; this is what TypeScript's __decorate does.
function decorateMethod(target, name, decorators) {
  const descriptor = Object.getOwnPropertyDescriptor(target.prototype, name);
  const decorated = Reflect.decorate(decorators, target.prototype, name, descriptor);
  Object.defineProperty(target.prototype, name, decorated ?? descriptor);
}

decorateMethod(BenchController, 'bare', [Get('bare'), Public()]);
decorateMethod(BenchController, 'secured', [Get('secured'), Scopes(SCOPE)]);
decorateMethod(BenchController, 'floorRs256', [Get('floor-rs256'), Public()]);
decorateMethod(BenchController, 'floorEs256', [Get('floor-es256'), Public()]);
const DecoratedController = Reflect.decorate([Controller()], BenchController);

class BenchModule {}
const DecoratedModule = Reflect.decorate([Module({})], BenchModule);

async function main() {
  const options = readArguments();
  const issuer = await createLocalIssuer({ algorithms: ALGORITHMS });
  let booted;
  let stopping;
  const stop = (code) => {
    stopping ??= (async () => {
      await booted?.close().catch(() => undefined);
      await issuer.close().catch(() => undefined);
      process.exit(code);
    })();
    return stopping;
  };
  // run.mjs stops us by closing stdin and the IPC channel; a signal comes from someone else, and
  // is worth a line in the log when a run ends early.
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.once(signal, () => {
      process.stderr.write(`bench/server: ${signal} received, stopping\n`);
      void stop(0);
    });
  }
  // The parent holds our stdin: when it goes away, for whatever reason, so do we.
  process.stdin.on('end', () => void stop(0));
  process.stdin.on('error', () => void stop(0));
  process.stdin.resume();
  // run.mjs samples the server's CPU time around each round over the IPC channel, to show
  // whether the server (not the load generator) was the bottleneck.
  if (process.send) {
    process.on('message', (message) => {
      if (message === 'cpu') process.send?.({ cpu: process.cpuUsage() });
    });
    process.on('disconnect', () => void stop(0));
  }
  setTimeout(() => {
    process.stderr.write(`bench/server: --max-seconds ${options.maxSeconds} reached, stopping\n`);
    void stop(3);
  }, options.maxSeconds * 1000).unref();

  try {
    booted = await bootApp(
      {
        module: DecoratedModule,
        imports: [
          SecureApiModule.forRoot({
            auth: {
              issuer: issuer.url,
              audience: issuer.audience,
              jwksUri: issuer.jwksUri,
              algorithms: ALGORITHMS,
              // The default cache settings when on; false makes every request pay the full
              // signature check, even for the same token.
              ...(options.cache ? {} : { tokenCache: false }),
            },
          }),
        ],
        controllers: [DecoratedController],
      },
      { adapter: options.adapter, logger: false },
    );
  } catch (error) {
    process.stderr.write(`bench/server: boot failed: ${String(error?.stack ?? error)}\n`);
    await stop(1);
    return;
  }

  const tokens = Object.fromEntries(
    ALGORITHMS.map((alg) => [
      alg,
      issuer.mint({ alg, scope: SCOPE, expiresInSeconds: options.tokenTtlSeconds }),
    ]),
  );
  for (const alg of ALGORITHMS) {
    const [header, payload, signature] = tokens[alg].split('.');
    const publicKey = issuer.key(alg).publicKey;
    floors.set(alg, {
      data: Buffer.from(`${header}.${payload}`),
      signature: Buffer.from(signature, 'base64url'),
      key: alg.startsWith('ES') ? { key: publicKey, dsaEncoding: 'ieee-p1363' } : publicKey,
    });
  }
  process.stdout.write(
    `${JSON.stringify({ url: booted.url, adapter: options.adapter, cache: options.cache, tokens })}\n`,
  );
}

main().catch((error) => {
  process.stderr.write(`bench/server: ${String(error?.stack ?? error)}\n`);
  process.exit(1);
});
