// The server side of bench/lib/processes.mjs: what a benchmarked server (a child process of a
// runner) does to be started, sampled and stopped, and the decorator helpers that let a plain
// .mjs file declare Nest controllers.
import { Module } from '@nestjs/common';
import { SecureApiModule } from '@secure-api/nestjs';
import { bootApp, createLocalIssuer } from '@secure-api/testing';
import { fail, warn } from './cli.mjs';

/** An integer option in seconds, 1 to 86400. */
export function positiveSeconds(value, name) {
  const seconds = Number(value);
  if (!Number.isInteger(seconds) || seconds <= 0 || seconds > 86_400) {
    fail(`--${name} must be an integer from 1 to 86400 (got ${JSON.stringify(value)})`);
  }
  return seconds;
}

/** The --adapter option: express or fastify. */
export function adapterOption(value) {
  if (value !== 'express' && value !== 'fastify') {
    fail(`--adapter must be express or fastify (got ${JSON.stringify(value)})`);
  }
  return value;
}

/**
 * Serves until stdin closes, a SIGTERM/SIGINT arrives, the IPC channel (when started by a
 * runner) closes or `maxSeconds` pass, whichever comes first; then awaits `close()` and exits.
 * Answers the runner's 'cpu' messages with this process's CPU time. Returns `stop(code)`.
 */
export function serveUntilParentLeaves({ maxSeconds, close }) {
  let stopping;
  const stop = (code) => {
    stopping ??= (async () => {
      await close().catch(() => undefined);
      process.exit(code);
    })();
    return stopping;
  };
  // The runner stops us by closing stdin and the IPC channel; a signal comes from someone else,
  // and is worth a line in the log when a run ends early.
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.once(signal, () => {
      warn(`${signal} received, stopping`);
      void stop(0);
    });
  }
  // The parent holds our stdin: when it goes away, for whatever reason, so do we.
  process.stdin.on('end', () => void stop(0));
  process.stdin.on('error', () => void stop(0));
  process.stdin.resume();
  // The runner samples the server's CPU time around each round over the IPC channel, to show
  // whether the server (not the load generator) was the bottleneck.
  if (process.send) {
    process.on('message', (message) => {
      if (message === 'cpu') process.send?.({ cpu: process.cpuUsage() });
    });
    process.on('disconnect', () => void stop(0));
  }
  setTimeout(() => {
    warn(`--max-seconds ${maxSeconds} reached, stopping`);
    void stop(3);
  }, maxSeconds * 1000).unref();
  return stop;
}

/** The readiness line the runner waits for: one line of JSON on stdout. */
export function announceReady(info) {
  process.stdout.write(`${JSON.stringify(info)}\n`);
}

// Plain JavaScript has no decorator syntax; these do what TypeScript's __decorate does.

/** Applies method decorators (`Get('x')`, `Public()`…) to `target.prototype[name]`. */
export function decorateMethod(target, name, decorators) {
  const descriptor = Object.getOwnPropertyDescriptor(target.prototype, name);
  const decorated = Reflect.decorate(decorators, target.prototype, name, descriptor);
  Object.defineProperty(target.prototype, name, decorated ?? descriptor);
}

/** Applies property decorators (`IsString()`, `Type(() => X)`…) to `target`'s property `name`. */
export function decorateProperty(target, name, decorators) {
  Reflect.decorate(decorators, target.prototype, name);
}

/**
 * Declares a method's parameters as TypeScript would: `design:paramtypes` (what Nest's pipes
 * read as each parameter's metatype) and each parameter's decorators (`Body()`…), as
 * `[[type, decorator?], …]`.
 */
export function declareParameters(target, name, parameters) {
  Reflect.defineMetadata(
    'design:paramtypes',
    parameters.map(([type]) => type),
    target.prototype,
    name,
  );
  parameters.forEach(([, decorator], index) => decorator?.(target.prototype, name, index));
}

/** Applies class decorators (`Controller()`, `Module({})`); returns the decorated class. */
export function decorateClass(target, decorators) {
  return Reflect.decorate(decorators, target);
}

/**
 * A root module that imports `SecureApiModule.forRoot({ auth, ...options })` for `issuer` (its
 * URL, audience, JWKS URI and `algorithms`, then `auth`'s own settings; `options` are the other
 * module options, such as `throttle`) and declares `controllers`. Logging is off unless
 * `options.logging` says otherwise: the other benchmarks measure their own layer, and the
 * server's stdout carries the readiness line.
 */
export function secureBenchModule({ issuer, algorithms, auth = {}, options = {}, controllers }) {
  class BenchModule {}
  return {
    module: decorateClass(BenchModule, [Module({})]),
    imports: [
      SecureApiModule.forRoot({
        auth: {
          issuer: issuer.url,
          audience: issuer.audience,
          jwksUri: issuer.jwksUri,
          algorithms,
          ...auth,
        },
        logging: false,
        ...options,
      }),
    ],
    controllers,
  };
}

/**
 * Starts a local issuer (a real JWKS on loopback) with keys for `algorithms`, and a Nest app on
 * `adapter` with the root module of {@link secureBenchModule} (`auth`, `options`, `controllers`);
 * `nestOptions` go to `NestFactory.create`. Serves as serveUntilParentLeaves says, closing both
 * at the end and then calling `onClose` (for what the caller opened itself). On a boot error,
 * says why and exits 1.
 * Resolves to `{ booted, issuer }`.
 */
export async function serveBenchApp({
  adapter,
  maxSeconds,
  algorithms,
  auth = {},
  options = {},
  controllers,
  nestOptions = {},
  onClose = async () => undefined,
}) {
  const issuer = await createLocalIssuer({ algorithms });
  let booted;
  const stop = serveUntilParentLeaves({
    maxSeconds,
    close: async () => {
      await booted?.close().catch(() => undefined);
      await issuer.close().catch(() => undefined);
      await onClose().catch(() => undefined);
    },
  });
  try {
    booted = await bootApp(secureBenchModule({ issuer, algorithms, auth, options, controllers }), {
      adapter,
      logger: false,
      nestOptions,
    });
  } catch (error) {
    warn(`boot failed: ${String(error?.stack ?? error)}`);
    await stop(1);
    throw error;
  }
  return { booted, issuer };
}
