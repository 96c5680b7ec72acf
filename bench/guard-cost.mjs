// In-process cost of the module's two guards per request, without HTTP: what JwtAuthGuard and
// ScopesGuard themselves spend on a verified-token cache hit and on a full verification
// (cache off), next to crypto.verify and jsonwebtoken.verify of the same token. It tells how
// much of the HTTP benchmark's added time is the module's own code.
//
//   npm run build && node bench/guard-cost.mjs
//
// Bounded: a fixed number of iterations per case; the local issuer listens on loopback only.
import 'reflect-metadata';
import { verify } from 'node:crypto';
import { Controller, Get } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { JwtAuthGuard, Scopes, ScopesGuard } from '@secure-api/nestjs';
import { createLocalIssuer } from '@secure-api/testing';
import jwt from 'jsonwebtoken';
import { secureBenchModule } from './lib/server-child.mjs';

class GuardedController {
  secured() {
    return true;
  }
}
const descriptor = Object.getOwnPropertyDescriptor(GuardedController.prototype, 'secured');
Object.defineProperty(
  GuardedController.prototype,
  'secured',
  Reflect.decorate(
    [Get('secured'), Scopes('bench.read')],
    GuardedController.prototype,
    'secured',
    descriptor,
  ) ?? descriptor,
);
const Guarded = Reflect.decorate([Controller()], GuardedController);

function micros(started, count) {
  return Number(process.hrtime.bigint() - started) / count / 1000;
}

async function timeGuards(issuer, alg, cache) {
  // An HTTP app (Express, never listening): the guard sets Cache-Control through the adapter.
  const app = await NestFactory.create(
    secureBenchModule({
      issuer,
      algorithms: ['RS256', 'ES256'],
      auth: cache ? {} : { tokenCache: false },
      controllers: [Guarded],
    }),
    { logger: false, bodyParser: false },
  );
  await app.init();
  const auth = app.get(JwtAuthGuard);
  const scopes = app.get(ScopesGuard);
  const token = issuer.mint({ alg, scope: 'bench.read', expiresInSeconds: 600 });
  const header = `Bearer ${token}`;
  const response = { set: () => response };
  const once = async () => {
    const request = {
      headers: { host: '127.0.0.1', authorization: header, accept: '*/*' },
      rawHeaders: ['host', '127.0.0.1', 'authorization', header, 'accept', '*/*'],
      url: '/secured',
    };
    const context = new ExecutionContextHost(
      [request, response, () => undefined],
      Guarded,
      Guarded.prototype.secured,
    );
    context.setType('http');
    if (!(await auth.canActivate(context)) || !scopes.canActivate(context)) {
      throw new Error('guards refused the benchmark token');
    }
  };
  const count = cache ? 200_000 : alg === 'RS256' ? 10_000 : 4_000;
  for (let i = 0; i < count / 10; i += 1) await once();
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i += 1) await once();
  const result = micros(started, count);
  await app.close();
  return { token, result };
}

function timeLibraries(issuer, alg, token) {
  const key = issuer.key(alg).publicKey;
  const [h, p, s] = token.split('.');
  const data = Buffer.from(`${h}.${p}`);
  const signature = Buffer.from(s, 'base64url');
  const verifyKey = alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key;
  const count = alg === 'RS256' ? 10_000 : 4_000;
  const run = (fn) => {
    for (let i = 0; i < count / 10; i += 1) fn();
    const started = process.hrtime.bigint();
    for (let i = 0; i < count; i += 1) fn();
    return micros(started, count);
  };
  return {
    cryptoVerify: run(() => verify('sha256', data, verifyKey, signature)),
    jsonwebtokenVerify: run(() =>
      jwt.verify(token, key, { algorithms: [alg], audience: issuer.audience, issuer: issuer.url }),
    ),
  };
}

const issuer = await createLocalIssuer({ algorithms: ['RS256', 'ES256'] });
try {
  for (const alg of ['RS256', 'ES256']) {
    const hit = await timeGuards(issuer, alg, true);
    const miss = await timeGuards(issuer, alg, false);
    const libraries = timeLibraries(issuer, alg, miss.token);
    process.stdout.write(
      `${alg}: guards on a cache hit ${hit.result.toFixed(2)} µs; guards with the cache off ` +
        `${miss.result.toFixed(1)} µs (jsonwebtoken.verify ${libraries.jsonwebtokenVerify.toFixed(1)} µs, ` +
        `crypto.verify ${libraries.cryptoVerify.toFixed(1)} µs)\n`,
    );
  }
} finally {
  await issuer.close();
}
