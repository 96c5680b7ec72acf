import { type IncomingMessage } from 'node:http';
import {
  type CanActivate,
  type ExecutionContext,
  Inject,
  Injectable,
  Logger,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import passport from 'passport';
import { SecureApiHttpError } from '../errors/secure-api-http.error.js';
import { TokenRejectionReason } from '../errors/secure-api-error-code.js';
import { SECURE_API_OPTIONS } from '../secure-api.constants.js';
import { type ResolvedSecureApiOptions } from '../secure-api.options.js';
import { extractBearerToken } from './bearer-token.extractor.js';
import { keysUnavailable, tokenInvalid } from './bearer-challenge.js';
import { rejectionReasonOf } from './jwt-error-reason.js';
import { BEARER_TOKEN, SecureJwtStrategy } from './jwt.strategy.js';
import { type Principal } from './principal.js';
import { RouteRequirements } from './route-requirement.js';
import { KeysUnavailable } from './token-rejection.js';
import { VerifiedTokenCache } from './verified-token.cache.js';

type AuthenticatedRequest = IncomingMessage & { user?: Principal; [BEARER_TOKEN]?: string };

/**
 * Global authentication guard, installed by `SecureApiModule`: every route needs a valid
 * bearer access token unless it is `@Public()`. The principal lands on `request.user`
 * (see `@CurrentPrincipal()`).
 *
 * Verification runs through passport with {@link SecureJwtStrategy}. The guard hands passport
 * its own strategy instance, not a name from passport's process-wide registry, so two apps in
 * one process keep their own issuers; and a fresh `Object.create()` of it per request, because
 * passport writes its per-request callbacks onto the strategy object it is given.
 *
 * Non-HTTP contexts (microservices, websockets) are refused unless the handler is public.
 */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  private readonly logger = new Logger('SecureApi');
  private readonly requirements: RouteRequirements;
  private readonly realm: string;

  constructor(
    reflector: Reflector,
    @Inject(SECURE_API_OPTIONS) private readonly options: ResolvedSecureApiOptions,
    private readonly strategy: SecureJwtStrategy,
    private readonly cache: VerifiedTokenCache,
  ) {
    this.requirements = new RouteRequirements(reflector);
    this.realm = options.auth.realm;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const isPublic = this.requirements.of(context).kind === 'public';
    if (context.getType() !== 'http') return isPublic;
    if (isPublic) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    try {
      request.user = await this.authenticate(request, context.switchToHttp().getResponse());
      return true;
    } catch (error) {
      throw this.toHttpError(error);
    }
  }

  private async authenticate(request: AuthenticatedRequest, response: unknown): Promise<Principal> {
    const token = extractBearerToken(request, this.realm, this.options.auth.maxTokenLength);
    const cacheKey = this.cache.enabled ? this.cache.keyOf(token) : undefined;
    if (cacheKey !== undefined) {
      const cached = this.cache.get(cacheKey);
      if (cached !== undefined) return cached;
    }
    request[BEARER_TOKEN] = token;
    try {
      const principal = await this.runStrategy(request, response);
      if (cacheKey !== undefined) this.cache.set(cacheKey, principal);
      return principal;
    } finally {
      delete request[BEARER_TOKEN];
    }
  }

  private runStrategy(request: AuthenticatedRequest, response: unknown): Promise<Principal> {
    return new Promise<Principal>((resolve, reject) => {
      const strategy = Object.create(this.strategy) as SecureJwtStrategy;
      const middleware = passport.authenticate(
        strategy,
        { session: false },
        (error: unknown, user: Principal | false, info: unknown) => {
          // Rejected with whatever passport reports; toHttpError() maps each kind.
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
          if (error || !user) reject(error ?? info ?? new Error('no principal'));
          else resolve(user);
        },
      ) as (req: unknown, res: unknown, next: (error?: unknown) => void) => void;
      middleware(request, response, (error?: unknown) =>
        reject(error instanceof Error ? error : new Error('passport did not authenticate')),
      );
    });
  }

  private toHttpError(error: unknown): SecureApiHttpError {
    if (error instanceof SecureApiHttpError) {
      this.logRejection(error.reason ?? error.code);
      return error;
    }
    if (error instanceof KeysUnavailable) {
      this.logRejection(TokenRejectionReason.KEYS_UNAVAILABLE);
      return keysUnavailable(error.retryAfterSeconds);
    }
    const reason = rejectionReasonOf(error);
    this.logRejection(reason);
    return tokenInvalid(this.realm, reason);
  }

  private logRejection(reason: string): void {
    this.logger.warn(`Bearer authentication failed: ${reason}`);
  }
}
