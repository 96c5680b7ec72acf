import type {
  DynamicModule,
  INestApplication,
  LoggerService,
  NestApplicationOptions,
  Type,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Server as NetServer } from 'node:net';
import { Server as TlsServer } from 'node:tls';

/** The HTTP platforms an app can be booted on. */
export type AdapterName = 'express' | 'fastify';

/**
 * Every {@link AdapterName}, to run one suite on both platforms.
 *
 * @example
 * describe.each(ADAPTERS)('on %s', (adapter) => { ... });
 */
export const ADAPTERS: readonly AdapterName[] = Object.freeze(['express', 'fastify']);

/** Options of {@link bootApp}. */
export interface BootOptions {
  /** HTTP platform: Nest's default Express adapter, or `new FastifyAdapter()`. */
  adapter: AdapterName;
  /**
   * Nest logger: `false`, or a `LoggerService` such as `createLogCapture()`.
   * @default nestOptions.logger ?? false
   */
  logger?: LoggerService | false;
  /** Called after `create()`, before `listen()` (global prefix, pipes…). */
  configure?: (app: INestApplication) => void | Promise<void>;
  /**
   * `NestApplicationOptions` merged in (`httpsOptions`…). `forceCloseConnections` defaults to
   * `true` and `bodyParser` to `false` (SecureApiModule parses bodies itself); `abortOnError`
   * is always `false`.
   */
  nestOptions?: NestApplicationOptions;
}

/** An app listening on loopback. */
export interface BootedApp {
  /** The Nest application, initialised and listening. */
  readonly app: INestApplication;
  /**
   * `'http://127.0.0.1:PORT'` (`https:` with `httpsOptions`); always 127.0.0.1, never the
   * `[::1]` form `getUrl()` may give.
   */
  readonly url: string;
  /** Closes the app and its open connections. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Creates the app with `NestFactory` on the chosen adapter, listens on a free port at
 * 127.0.0.1 and returns its URL. If create, init or listen throws, the error propagates (so
 * tests can assert boot failures) and nothing is left listening.
 *
 * @param module A module class or a `DynamicModule`.
 * @example
 * const booted = await bootApp(AppModule, { adapter: 'fastify' });
 * const res = await httpRequest(`${booted.url}/health`);
 * await booted.close();
 */
export async function bootApp(
  module: Type<unknown> | DynamicModule,
  options: BootOptions,
): Promise<BootedApp> {
  const { adapter, logger, configure, nestOptions = {} } = options;
  if (!ADAPTERS.includes(adapter)) {
    throw new TypeError(
      `bootApp: "adapter" must be one of ${ADAPTERS.join(', ')} (got ${JSON.stringify(adapter)})`,
    );
  }
  const appOptions: NestApplicationOptions = {
    // Keep-alive sockets of other clients would otherwise hold close() open.
    forceCloseConnections: true,
    // SecureApiModule parses bodies itself, and refuses to boot on Express when Nest's parsers
    // are registered; an app without the module gets no body parsing unless it asks for it.
    bodyParser: false,
    ...nestOptions,
    logger: logger ?? nestOptions.logger ?? false,
    // Nest's default calls process.abort() on a boot error, which would kill the Jest worker.
    abortOnError: false,
  };
  const app = await createApp(module, adapter, appOptions);
  try {
    await configure?.(app);
    await app.listen(0, '127.0.0.1');
  } catch (error) {
    // The boot error is what the caller needs; a failure to tear down must not replace it.
    await app.close().catch(() => undefined);
    throw error;
  }
  const server: unknown = app.getHttpServer();
  const address = server instanceof NetServer ? server.address() : null;
  if (address === null || typeof address === 'string') {
    await app.close();
    throw new Error(`bootApp: expected the app to listen on a TCP port, got ${String(address)}`);
  }
  const scheme = server instanceof TlsServer ? 'https' : 'http';
  let closing: Promise<void> | undefined;
  return Object.freeze({
    app,
    url: `${scheme}://127.0.0.1:${address.port}`,
    close: () => (closing ??= app.close()),
  });
}

async function createApp(
  module: Type<unknown> | DynamicModule,
  adapter: AdapterName,
  appOptions: NestApplicationOptions,
): Promise<INestApplication> {
  if (adapter === 'express') {
    return NestFactory.create(module, appOptions);
  }
  // Loaded on demand: @nestjs/platform-fastify is an optional peer dependency.
  const { FastifyAdapter } = await import('@nestjs/platform-fastify');
  const fastify = new FastifyAdapter(
    appOptions.httpsOptions ? { https: appOptions.httpsOptions } : undefined,
  );
  try {
    return await NestFactory.create(module, fastify, appOptions);
  } catch (error) {
    await fastify.close().catch(() => undefined);
    throw error;
  }
}
