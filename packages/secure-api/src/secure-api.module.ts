import {
  Global,
  Inject,
  type MiddlewareConsumer,
  Module,
  type NestModule,
  RequestMethod,
} from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE, DiscoveryModule } from '@nestjs/core';
import { JwksKeyStore } from './auth/jwks-key-store.js';
import { JwtAuthGuard } from './auth/jwt-auth.guard.js';
import { SecureJwtStrategy } from './auth/jwt.strategy.js';
import { RouteAuditService } from './auth/route-audit.service.js';
import { ScopesGuard } from './auth/scopes.guard.js';
import { VerifiedTokenCache } from './auth/verified-token.cache.js';
import { CorsMiddleware } from './cors/cors.middleware.js';
import { SecureApiExceptionFilter } from './errors/secure-api-exception.filter.js';
import { SecureHeadersMiddleware } from './headers/secure-headers.middleware.js';
import { SECURE_API_OPTIONS } from './secure-api.constants.js';
import {
  SECURE_API_MODULE_OPTIONS,
  SecureApiConfigurableModule,
} from './secure-api.module-definition.js';
import { type ResolvedSecureApiOptions, resolveOptions } from './secure-api.options.js';
import { SecureValidationPipe } from './validation/secure-validation.pipe.js';

/**
 * Layered API security for a NestJS service. Import it once, in the root module:
 *
 * - every route requires a valid OAuth 2.0 / OIDC bearer access token, verified against the
 *   issuer's JWKS, unless it is `@Public()`;
 * - `@Scopes()` says which scopes a route needs; a missing one is a 403;
 * - a route with neither fails the boot (`routeAudit: 'error'`) and is refused at run time;
 * - bodies, query strings and route parameters are validated against their DTO classes
 *   ({@link SecureValidationPipe}), unknown members refused;
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
    // Order matters: authentication runs before authorization.
    { provide: APP_GUARD, useExisting: JwtAuthGuard },
    { provide: APP_GUARD, useExisting: ScopesGuard },
    { provide: APP_FILTER, useClass: SecureApiExceptionFilter },
    { provide: APP_PIPE, useClass: SecureValidationPipe },
  ],
  exports: [SECURE_API_OPTIONS, JwksKeyStore, VerifiedTokenCache, JwtAuthGuard, ScopesGuard],
})
export class SecureApiModule extends SecureApiConfigurableModule implements NestModule {
  constructor(@Inject(SECURE_API_OPTIONS) private readonly options: ResolvedSecureApiOptions) {
    super();
  }

  configure(consumer: MiddlewareConsumer): void {
    // "{*path}" also matches "/" and paths no controller serves, so 404s get the headers too.
    // CORS runs second, so that a preflight it answers carries the security headers; it is
    // mounted only when configured, since every middleware layer costs every request.
    consumer
      .apply(SecureHeadersMiddleware, ...(this.options.cors === false ? [] : [CorsMiddleware]))
      .forRoutes({ path: '{*path}', method: RequestMethod.ALL });
  }
}
