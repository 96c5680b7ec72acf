import { type Server } from 'node:http';
import {
  Global,
  Inject,
  type MiddlewareConsumer,
  Module,
  type NestModule,
  RequestMethod,
} from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE, DiscoveryModule, HttpAdapterHost } from '@nestjs/core';
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
import { SECURE_API_OPTIONS } from './secure-api.constants.js';
import {
  SECURE_API_MODULE_OPTIONS,
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
    // Order matters: the address and global limits before any crypto, authentication before
    // authorization, the per-principal limit once the principal is known.
    { provide: APP_GUARD, useExisting: EdgeThrottlerGuard },
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
