import { type Server } from 'node:http';
import {
  type DynamicModule,
  Global,
  Inject,
  type MiddlewareConsumer,
  Module,
  type NestModule,
  type Provider,
  RequestMethod,
} from '@nestjs/common';
import {
  APP_FILTER,
  APP_GUARD,
  APP_INTERCEPTOR,
  APP_PIPE,
  DiscoveryModule,
  HttpAdapterHost,
} from '@nestjs/core';
import { LoggerModule, type Params, PinoLogger } from 'nestjs-pino';
import { JwksKeyStore } from './auth/jwks-key-store.js';
import { JwtAuthGuard } from './auth/jwt-auth.guard.js';
import { SecureJwtStrategy } from './auth/jwt.strategy.js';
import { RouteAuditService } from './auth/route-audit.service.js';
import { ScopesGuard } from './auth/scopes.guard.js';
import { VerifiedTokenCache } from './auth/verified-token.cache.js';
import { CorsMiddleware } from './cors/cors.middleware.js';
import { SecureApiError } from './errors/secure-api.error.js';
import { SecureApiErrorCode } from './errors/secure-api-error-code.js';
import { SecureApiExceptionFilter } from './errors/secure-api-exception.filter.js';
import { SecureHeadersMiddleware } from './headers/secure-headers.middleware.js';
import { LogLevelController } from './logging/log-level.controller.js';
import { LogLevelService } from './logging/log-level.service.js';
import { loggerRegistry, secureLoggerParams } from './logging/logger-params.js';
import { type LoggingOptions } from './logging/logging-options.js';
import { RequestContextGuard } from './logging/request-context.guard.js';
import { SecureApiRequestIdModule } from './logging/request-id.middleware.js';
import { RequestLogContext } from './logging/request-log-context.js';
import { SecureLoggingInterceptor } from './logging/secure-logging.interceptor.js';
import { SECURE_API_OPTIONS } from './secure-api.constants.js';
import {
  SECURE_API_ASYNC_OPTIONS_TYPE,
  SECURE_API_MODULE_OPTIONS,
  SECURE_API_OPTIONS_TYPE,
  SecureApiConfigurableModule,
} from './secure-api.module-definition.js';
import { type ResolvedSecureApiOptions, resolveOptions } from './secure-api.options.js';
import { AuthFailureLimiter } from './throttling/auth-failure.limiter.js';
import { RateLimiter } from './throttling/rate-limiter.service.js';
import {
  EdgeThrottlerGuard,
  PrincipalThrottlerGuard,
  RoutePlans,
} from './throttling/throttler.guard.js';
import { BodyParserMiddleware } from './validation/body-parser.middleware.js';
import {
  type FastifyContentTypeParsers,
  registerFastifyBodyParsers,
} from './validation/fastify-body-parsers.js';
import { PeerGuard } from './tls/peer.guard.js';
import { TlsServerService } from './tls/tls-server.service.js';
import { SecureValidationPipe } from './validation/secure-validation.pipe.js';
import { applyServerTimeouts } from './validation/server-timeouts.js';

/**
 * Layered API security for a NestJS service. Import it once, in the root module:
 *
 * - every route requires a valid OAuth 2.0 / OIDC bearer access token, verified against the
 *   issuer's JWKS, unless it is `@Public()`;
 * - `@Scopes()` says which scopes a route needs; a missing one is a 403;
 * - a route with neither fails the boot (`routeAudit: 'error'`) and is refused at run time;
 * - bodies, query strings and route parameters are validated against their DTO classes
 *   ({@link SecureValidationPipe}), unknown members refused;
 * - bodies are read by the module with small limits (100 KiB after decompression, 32 levels,
 *   1,000 form fields), JSON `__proto__` / `constructor.prototype` members refused by the
 *   parser, any media type but JSON and forms refused with `415`; header and request timeouts
 *   on the server against slow clients;
 * - rate limits in tiers when `throttle` is configured: per address and global before
 *   authentication, per principal or API key after it, `429` with `Retry-After`;
 * - every error is an `application/problem+json` response;
 * - every response, routed or not, carries helmet's security headers (HSTS over TLS), and
 *   authenticated ones `Cache-Control: no-store`; `TRACE` and method-override headers are
 *   refused;
 * - CORS, when configured, for an exact list of origins ({@link CorsMiddleware}); off by
 *   default.
 *
 * The module is global: its guards apply to every route of the app, and {@link JwksKeyStore}
 * can be injected anywhere (readiness probes).
 *
 * @example
 * SecureApiModule.forRoot({
 *   auth: { issuer: 'https://id.example.com', audience: 'https://thumbs.example.com' },
 * })
 *
 * @example
 * SecureApiModule.forRootAsync({
 *   imports: [ConfigModule],
 *   inject: [ConfigService],
 *   useFactory: (config: ConfigService) => ({
 *     auth: { issuer: config.getOrThrow('AUTH_ISSUER'), audience: config.getOrThrow('AUTH_AUDIENCE') },
 *   }),
 * })
 */
/**
 * The runtime level service, over the registry of the process's root logger (built with the
 * params, once per process; a `PinoLogger` is injected so that the root exists by then).
 */
const LOG_LEVEL_PROVIDER: Provider = {
  provide: LogLevelService,
  useFactory: (options: ResolvedSecureApiOptions): LogLevelService => {
    const registry = loggerRegistry();
    if (registry === undefined || options.logging === false) {
      throw new SecureApiError(
        SecureApiErrorCode.INVALID_OPTIONS,
        'SecureApiModule: logging.runtimeControl needs the logger the module configures. Potential solution: leave logging on, or drop runtimeControl.',
      );
    }
    registry.attach(PinoLogger.root);
    const service = new LogLevelService(registry, {
      defaultTtlSeconds: options.logging.defaultTtlSeconds,
      maxTtlSeconds: options.logging.maxTtlSeconds,
    });
    service.installSignalHandler();
    return service;
  },
  inject: [SECURE_API_OPTIONS, PinoLogger],
};

/** Provider of the check that the async factory's `logging` agrees with forRootAsync's. */
const ASYNC_LOGGING_CHECK = Symbol('secure-api.asyncLoggingCheck');

function isRuntimeControlled(logging: unknown): boolean {
  return (
    typeof logging === 'object' &&
    logging !== null &&
    (logging as { runtimeControl?: unknown }).runtimeControl === true
  );
}

function assertLoggingAgrees(
  resolved: ResolvedSecureApiOptions,
  enabled: boolean,
  runtimeControl: boolean,
): void {
  const factoryEnabled = resolved.logging !== false;
  const factoryControl = resolved.logging !== false && resolved.logging.runtimeControl;
  if (factoryEnabled !== enabled || factoryControl !== runtimeControl) {
    throw new SecureApiError(
      SecureApiErrorCode.INVALID_OPTIONS,
      `SecureApiModule: the factory's "logging" (${factoryEnabled ? `runtimeControl: ${String(factoryControl)}` : 'false'}) does not agree with forRootAsync's (${enabled ? `runtimeControl: ${String(runtimeControl)}` : 'false'}). Potential solution: give forRootAsync the same logging: false or logging: { runtimeControl: true } as the factory returns.`,
    );
  }
}

/**
 * What `SecureApiModule.forRoot()` returns when logging is on: the request id's middleware,
 * nestjs-pino's `LoggerModule` and `SecureApiModule`, in that order (see `withLogging`).
 */
@Module({})
export class SecureApiLoggingModule {}

@Global()
@Module({
  imports: [DiscoveryModule],
  providers: [
    {
      provide: SECURE_API_OPTIONS,
      useFactory: resolveOptions,
      inject: [SECURE_API_MODULE_OPTIONS],
    },
    JwksKeyStore,
    VerifiedTokenCache,
    SecureJwtStrategy,
    JwtAuthGuard,
    ScopesGuard,
    RouteAuditService,
    RateLimiter,
    RoutePlans,
    AuthFailureLimiter,
    EdgeThrottlerGuard,
    PrincipalThrottlerGuard,
    RequestContextGuard,
    RequestLogContext,
    PeerGuard,
    TlsServerService,
    // Order matters: the action recorded for the log first, the address and global limits
    // before any crypto, the connection's peer (known without crypto) before the token,
    // authentication before authorization, the per-principal limit once the principal is known.
    { provide: APP_GUARD, useExisting: RequestContextGuard },
    { provide: APP_GUARD, useExisting: EdgeThrottlerGuard },
    { provide: APP_GUARD, useExisting: PeerGuard },
    { provide: APP_GUARD, useExisting: JwtAuthGuard },
    { provide: APP_GUARD, useExisting: ScopesGuard },
    { provide: APP_GUARD, useExisting: PrincipalThrottlerGuard },
    { provide: APP_FILTER, useClass: SecureApiExceptionFilter },
    { provide: APP_PIPE, useClass: SecureValidationPipe },
  ],
  exports: [
    SECURE_API_OPTIONS,
    JwksKeyStore,
    VerifiedTokenCache,
    JwtAuthGuard,
    ScopesGuard,
    RateLimiter,
    RequestLogContext,
    TlsServerService,
  ],
})
export class SecureApiModule extends SecureApiConfigurableModule implements NestModule {
  constructor(
    @Inject(SECURE_API_OPTIONS) private readonly options: ResolvedSecureApiOptions,
    private readonly adapterHost: HttpAdapterHost,
  ) {
    super();
  }

  /**
   * The module for the root module's `imports`. With `logging` on (the default) it configures
   * nestjs-pino's `LoggerModule`; with `logging.runtimeControl` it adds the
   * `/admin/log-level` routes.
   */
  static override forRoot(options: typeof SECURE_API_OPTIONS_TYPE): DynamicModule {
    const logging = (options as { logging?: unknown }).logging;
    const level = (logging as { level?: unknown } | undefined)?.level;
    return SecureApiModule.withLogging(
      super.forRoot(options),
      logging !== false,
      isRuntimeControlled(logging),
      level === 'debug' || level === 'trace',
    );
  }

  /**
   * As {@link SecureApiModule.forRoot}, with the options from a factory. What the module is made
   * of cannot wait for the factory, so two facts about logging are given here too, and the
   * factory's `logging` must agree with them (the boot fails otherwise): `logging: false` when
   * the app configures nestjs-pino itself, `logging: { runtimeControl: true }` for the
   * `/admin/log-level` routes.
   */
  static override forRootAsync(
    options: typeof SECURE_API_ASYNC_OPTIONS_TYPE & {
      logging?: false | Pick<LoggingOptions, 'runtimeControl'>;
    },
  ): DynamicModule {
    const { logging, ...rest } = options;
    const enabled = logging !== false;
    const runtimeControl = isRuntimeControlled(logging);
    const base = super.forRootAsync(rest);
    const checked: DynamicModule = {
      ...base,
      providers: [
        ...(base.providers ?? []),
        {
          provide: ASYNC_LOGGING_CHECK,
          useFactory: (resolved: ResolvedSecureApiOptions) => {
            assertLoggingAgrees(resolved, enabled, runtimeControl);
            return true;
          },
          inject: [SECURE_API_OPTIONS],
        },
      ],
    };
    return SecureApiModule.withLogging(checked, enabled, runtimeControl, false);
  }

  /**
   * The nestjs-pino `LoggerModule` params the module would use, for an app that configures
   * nestjs-pino itself (with `logging: false` in the module options).
   *
   * @example
   * LoggerModule.forRoot(SecureApiModule.loggerParams({ level: 'debug' }))
   */
  static loggerParams(logging: LoggingOptions = {}): Params {
    return secureLoggerParams(logging);
  }

  /**
   * Adds nestjs-pino's `LoggerModule` with the module's params; with `runtimeControl`, the level
   * routes and service; and `SecureLoggingInterceptor` where debug lines can be written at all
   * (the level can be raised at run time, or starts at debug): elsewhere its level check is not
   * worth the interceptor pipeline it puts on every request.
   */
  private static withLogging(
    module: DynamicModule,
    enabled: boolean,
    runtimeControl: boolean,
    startsAtDebug: boolean,
  ): DynamicModule {
    if (!enabled) return module;
    const interceptor: Provider[] =
      runtimeControl || startsAtDebug
        ? [{ provide: APP_INTERCEPTOR, useClass: SecureLoggingInterceptor }]
        : [];
    const core: DynamicModule = {
      ...module,
      providers: [
        ...(module.providers ?? []),
        ...interceptor,
        ...(runtimeControl ? [LOG_LEVEL_PROVIDER] : []),
      ],
      controllers: [...(module.controllers ?? []), ...(runtimeControl ? [LogLevelController] : [])],
    };
    // Nest mounts the middleware of global modules in the order it found them, and finds a
    // module's imports after the module itself. SecureApiRequestIdModule comes first: its
    // middleware gives the request its id, its logger and its completion line before the
    // module's own middleware, which answers some requests itself (refused methods, bodies,
    // CORS preflights), so those are logged too. LoggerModule mounts no middleware here (the
    // params have no routes); it provides PinoLogger and builds the root logger.
    return {
      module: SecureApiLoggingModule,
      imports: [
        SecureApiRequestIdModule,
        LoggerModule.forRootAsync({
          useFactory: (resolved: ResolvedSecureApiOptions) =>
            secureLoggerParams(resolved.logging === false ? {} : resolved.logging),
          inject: [SECURE_API_OPTIONS],
        }),
        core,
      ],
      exports: [core],
    };
  }

  /**
   * Runs once per app, during `init()`, after Nest's own body parsers were registered and
   * before the routes and `listen()`: the last moment the adapter can still be configured.
   */
  configure(consumer: MiddlewareConsumer): void {
    const adapter = this.adapterHost.httpAdapter as HttpAdapterHost['httpAdapter'] | undefined;
    const type = adapter?.getType();
    const middleware: NonNullable<Parameters<MiddlewareConsumer['apply']>[0]>[] = [
      SecureHeadersMiddleware,
    ];
    // CORS runs second, so that a preflight it answers carries the security headers; it is
    // mounted only when configured, since every middleware layer costs every request.
    if (this.options.cors !== false) middleware.push(CorsMiddleware);
    if (this.options.body !== false && type === 'express') {
      SecureApiModule.assertNoFrameworkParser(adapter);
      // After the headers, so that a refused body is answered with them.
      middleware.push(BodyParserMiddleware);
    }
    if (this.options.body !== false && type === 'fastify') {
      // Fastify parses in its own lifecycle stage, after this middleware (onRequest).
      registerFastifyBodyParsers(
        adapter?.getInstance<FastifyContentTypeParsers>() as FastifyContentTypeParsers,
        this.options.body,
      );
    }
    if (this.options.timeouts !== false && adapter !== undefined) {
      applyServerTimeouts(adapter.getHttpServer() as Server, this.options.timeouts);
    }
    // "{*path}" also matches "/" and paths no controller serves, so 404s get the headers too.
    consumer.apply(...middleware).forRoutes({ path: '{*path}', method: RequestMethod.ALL });
  }

  /**
   * Nest's Express adapter registers `express.json()` and `express.urlencoded()` unless the app
   * is created with `bodyParser: false`; they would read every body before the module could.
   */
  private static assertNoFrameworkParser(adapter: unknown): void {
    const probe = (adapter as { isMiddlewareApplied?: (name: string) => boolean })
      .isMiddlewareApplied;
    if (typeof probe !== 'function') return;
    if (probe.call(adapter, 'jsonParser') || probe.call(adapter, 'urlencodedParser')) {
      throw new SecureApiError(
        SecureApiErrorCode.INVALID_OPTIONS,
        "SecureApiModule: Nest's Express body parsers are registered, so bodies would be parsed without the module's limits and prototype checks. Potential solution: create the app with NestFactory.create(AppModule, { bodyParser: false }), or set body: false in the module options to keep the framework parsers (unsafe).",
      );
    }
  }
}
