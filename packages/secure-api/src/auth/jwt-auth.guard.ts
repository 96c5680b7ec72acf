import { type IncomingMessage } from 'node:http';
import {
  type CanActivate,
  type ExecutionContext,
  Inject,
  Injectable,
  Logger,
} from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import passport from 'passport';
import { SecureApiHttpError } from '../errors/secure-api-http.error.js';
import { SecureApiErrorCode, TokenRejectionReason } from '../errors/secure-api-error-code.js';
import { SECURE_API_OPTIONS } from '../secure-api.constants.js';
import { type ResolvedSecureApiOptions } from '../secure-api.options.js';
import { assertBearerSyntax, extractBearerToken } from './bearer-token.extractor.js';
import { keysUnavailable, tokenInvalid } from './bearer-challenge.js';
import { AuthFailureLimiter } from '../throttling/auth-failure.limiter.js';
import { rejectionReasonOf } from './jwt-error-reason.js';
import { BEARER_TOKENS, SecureJwtStrategy } from './jwt.strategy.js';
import { type Principal } from './principal.js';
import { connectionOf, loggedPrincipal } from '../logging/request-context.js';
import { RequestLogContext } from '../logging/request-log-context.js';
import { logSecurityEvent, SecurityEvent } from '../logging/security-event.js';
import { RouteRequirements } from './route-requirement.js';
import { KeysUnavailable } from './token-rejection.js';
import { VerifiedTokenCache } from './verified-token.cache.js';
import { certificateBindingProblem, principalWithPeer } from '../tls/certificate-binding.js';
import { peerOf } from '../tls/peer-identity.js';

type AuthenticatedRequest = IncomingMessage & { user?: Principal };

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
 * An authenticated response gets `Cache-Control: no-store`.
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
    private readonly adapterHost: HttpAdapterHost,
    private readonly failures: AuthFailureLimiter,
    private readonly logContext: RequestLogContext,
  ) {
    this.requirements = new RouteRequirements(reflector);
    this.realm = options.auth.realm;
  }

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const isPublic = this.requirements.of(context).kind === 'public';
    if (context.getType() !== 'http') return isPublic;
    if (isPublic) return true;
    const http = context.switchToHttp();
    const request = http.getRequest<AuthenticatedRequest>();
    // A cache hit is answered synchronously: no promise, no passport, no signature check.
    let token: string;
    let cacheKey: string | undefined;
    let cached: Principal | undefined;
    try {
      token = extractBearerToken(request, this.realm, this.options.auth.maxTokenLength);
      cacheKey = this.cache.enabled ? this.cache.keyOf(token, connectionOf(request)) : undefined;
      cached = cacheKey === undefined ? undefined : this.cache.get(cacheKey);
      if (cached === undefined) assertBearerSyntax(token, this.realm);
    } catch (error) {
      throw this.refuse(request, error);
    }
    if (cached !== undefined) {
      this.accept(request, http.getResponse(), cached);
      return true;
    }
    return this.verify(request, http.getResponse(), token, cacheKey);
  }

  private async verify(
    request: AuthenticatedRequest,
    response: unknown,
    token: string,
    cacheKey: string | undefined,
  ): Promise<boolean> {
    let principal: Principal;
    try {
      principal = await this.runStrategy(request, response, token);
    } catch (error) {
      throw this.refuse(request, error);
    }
    // Outside the try: a failure from here on is the server's, a 500, not a refused token.
    if (cacheKey !== undefined) this.cache.set(cacheKey, principal);
    this.accept(request, response, principal);
    return true;
  }

  /**
   * Checks the token's certificate binding against the connection, on every request (a cached
   * token too: the cache knows the token, not the connection it arrives on), then makes the
   * principal the request's, with the connection's peer.
   */
  private accept(request: AuthenticatedRequest, response: unknown, principal: Principal): void {
    const peer = peerOf(request);
    const problem = certificateBindingProblem(
      principal.claims,
      peer,
      this.options.auth.requireCertificateBoundTokens,
    );
    if (problem !== undefined) {
      logSecurityEvent(
        this.logger,
        SecurityEvent.MTLS_REJECTED,
        `Certificate-bound token refused: ${problem}`,
        { reason: problem },
      );
      this.failures.record(request);
      throw tokenInvalid(this.realm, problem);
    }
    const user = peer === undefined ? principal : principalWithPeer(principal, peer);
    request.user = user;
    this.logContext.identify(request, loggedPrincipal(user));
    this.markPrivate(response);
  }

  /**
   * The HTTP error for a refused request; a token that was sent and refused also counts
   * against the client's address (`throttle.authFailures`). A missing token does not: the
   * address tier limits those, and a 503 for unavailable keys is not the client's failure.
   */
  private refuse(request: AuthenticatedRequest, error: unknown): SecureApiHttpError {
    const refusal = this.toHttpError(error);
    if (refusal.status !== 503 && refusal.code !== SecureApiErrorCode.TOKEN_MISSING) {
      this.failures.record(request);
    }
    return refusal;
  }

  /**
   * A response to an authenticated request is the caller's own: a shared cache that stored it
   * would serve it to the next client (RFC 9111 §5.2.2.5, OWASP REST Security Cheat Sheet).
   * Set before the handler runs, so a handler that chooses its own caching still can.
   */
  private markPrivate(response: unknown): void {
    this.adapterHost.httpAdapter.setHeader(response, 'cache-control', 'no-store');
  }

  private async runStrategy(
    request: AuthenticatedRequest,
    response: unknown,
    token: string,
  ): Promise<Principal> {
    // Handed to the strategy's jwtFromRequest through a WeakMap rather than a property on the
    // request: deleting a property afterwards would turn the request object into a slow
    // dictionary-mode object for the rest of its life.
    BEARER_TOKENS.set(request, token);
    try {
      return await this.passportAuthenticate(request, response);
    } finally {
      BEARER_TOKENS.delete(request);
    }
  }

  private passportAuthenticate(
    request: AuthenticatedRequest,
    response: unknown,
  ): Promise<Principal> {
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
    logSecurityEvent(
      this.logger,
      SecurityEvent.AUTH_FAILURE,
      `Bearer authentication failed: ${reason}`,
      { reason },
    );
  }
}
