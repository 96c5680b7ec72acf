import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { type Principal } from './principal.js';

/**
 * Injects the authenticated {@link Principal} into a handler parameter. `undefined` on a
 * `@Public()` route.
 *
 * @example
 * @Scopes('profile.read')
 * @Get('me')
 * me(@CurrentPrincipal() principal: Principal) { return { sub: principal.subject }; }
 */
export const CurrentPrincipal = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Principal | undefined =>
    context.switchToHttp().getRequest<{ user?: Principal }>().user,
);
