import {
  type CanActivate,
  type ExecutionContext,
  Inject,
  Injectable,
  Logger,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { logSecurityEvent, SecurityEvent } from '../logging/security-event.js';
import { SECURE_API_OPTIONS } from '../secure-api.constants.js';
import { type ResolvedSecureApiOptions } from '../secure-api.options.js';
import { insufficientScope, routeNotDeclared, tokenMissing } from './bearer-challenge.js';
import { type Principal } from './principal.js';
import { RouteRequirements } from './route-requirement.js';

/**
 * Global authorization guard, installed by `SecureApiModule` after {@link JwtAuthGuard}: the
 * principal must hold every scope of the route's `@Scopes()`. A route with neither `@Scopes()`
 * nor `@Public()` is refused (default deny), whatever the route audit is set to.
 */
@Injectable()
export class ScopesGuard implements CanActivate {
  private readonly logger = new Logger('SecureApi');
  private readonly requirements: RouteRequirements;
  private readonly realm: string;

  constructor(reflector: Reflector, @Inject(SECURE_API_OPTIONS) options: ResolvedSecureApiOptions) {
    this.requirements = new RouteRequirements(reflector);
    this.realm = options.auth.realm;
  }

  canActivate(context: ExecutionContext): boolean {
    const requirement = this.requirements.of(context);
    if (requirement.kind === 'public') return true;
    if (requirement.kind !== 'scopes') {
      const why =
        requirement.kind === 'conflict'
          ? 'declares both @Public() and @Scopes()'
          : 'declares neither @Scopes() nor @Public()';
      logSecurityEvent(
        this.logger,
        SecurityEvent.AUTHZ_DENIED,
        `Access denied: ${context.getClass().name}.${context.getHandler().name} ${why}`,
        { reason: 'route-not-declared' },
      );
      throw routeNotDeclared();
    }
    if (context.getType() !== 'http') return false;
    const principal = context.switchToHttp().getRequest<{ user?: Principal }>().user;
    if (principal === undefined) throw tokenMissing(this.realm);
    const granted = principal.scopes;
    // The common case allocates nothing; the missing scopes are listed only for a refusal.
    if (requirement.scopes.every((scope) => granted.includes(scope))) return true;
    const missing = requirement.scopes.filter((scope) => !granted.includes(scope));
    logSecurityEvent(
      this.logger,
      SecurityEvent.AUTHZ_DENIED,
      `Authorization denied: missing scope(s) ${missing.join(' ')}`,
      { reason: 'insufficient-scope', missingScopes: missing },
    );
    throw insufficientScope(this.realm, missing);
  }
}
