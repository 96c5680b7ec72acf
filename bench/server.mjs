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
import { Controller, Get } from '@nestjs/common';
import { Public, Scopes } from '@secure-api/nestjs';
import { fail, setProgramName, warn } from './lib/cli.mjs';
import {
  adapterOption,
  announceReady,
  decorateClass,
  decorateMethod,
  positiveSeconds,
  serveBenchApp,
} from './lib/server-child.mjs';

setProgramName('bench/server');

const SCOPE = 'bench.read';
const ALGORITHMS = ['RS256', 'ES256'];

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
  const adapter = adapterOption(values.adapter);
  if (values.cache !== 'on' && values.cache !== 'off') {
    fail(`--cache must be on or off (got ${JSON.stringify(values.cache)})`);
  }
  return {
    adapter,
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

decorateMethod(BenchController, 'bare', [Get('bare'), Public()]);
decorateMethod(BenchController, 'secured', [Get('secured'), Scopes(SCOPE)]);
decorateMethod(BenchController, 'floorRs256', [Get('floor-rs256'), Public()]);
decorateMethod(BenchController, 'floorEs256', [Get('floor-es256'), Public()]);
const DecoratedController = decorateClass(BenchController, [Controller()]);

async function main() {
  const options = readArguments();
  const { booted, issuer } = await serveBenchApp({
    adapter: options.adapter,
    maxSeconds: options.maxSeconds,
    algorithms: ALGORITHMS,
    // The default cache settings when on; false makes every request pay the full signature
    // check, even for the same token.
    auth: options.cache ? {} : { tokenCache: false },
    controllers: [DecoratedController],
  });

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
  announceReady({ url: booted.url, adapter: options.adapter, cache: options.cache, tokens });
}

main().catch((error) => {
  warn(String(error?.stack ?? error));
  process.exit(1);
});
