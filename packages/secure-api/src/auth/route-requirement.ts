import { type ExecutionContext } from '@nestjs/common';
import { type Reflector } from '@nestjs/core';
import { Public } from './public.decorator.js';
import { ScopesMetadata } from './scopes.decorator.js';

/** What a route declares: public, the scopes it needs, or nothing (which is denied). */
export type RouteRequirement =
  | { readonly kind: 'public' }
  | { readonly kind: 'scopes'; readonly scopes: readonly string[] }
  | { readonly kind: 'undeclared' }
  | { readonly kind: 'conflict' };

/**
 * Reads a handler's requirement from its own and its class's decorators.
 *
 * The handler's declaration is the more specific one: `@Public()` on a handler opens that route
 * in a `@Scopes()` controller, and `@Scopes()` on a handler of a `@Public()` controller requires
 * its scopes. Scopes on both levels add up. `@Public()` and `@Scopes()` on the same level
 * contradict each other and are a conflict (refused at boot and at run time).
 */
export function readRouteRequirement(
  reflector: Reflector,
  handler: object,
  controller: object,
): RouteRequirement {
  const handlerPublic = reflector.get(Public, handler as never) === true;
  const handlerScopes = reflector.get(ScopesMetadata, handler as never);
  const classPublic = reflector.get(Public, controller as never) === true;
  const classScopes = reflector.get(ScopesMetadata, controller as never);
  if (
    (handlerPublic && handlerScopes !== undefined) ||
    (classPublic && classScopes !== undefined)
  ) {
    return { kind: 'conflict' };
  }
  if (handlerPublic) return { kind: 'public' };
  if (handlerScopes !== undefined) {
    const inherited = classPublic ? [] : (classScopes ?? []);
    return { kind: 'scopes', scopes: [...new Set([...inherited, ...handlerScopes])] };
  }
  if (classPublic) return { kind: 'public' };
  if (classScopes !== undefined) return { kind: 'scopes', scopes: [...classScopes] };
  return { kind: 'undeclared' };
}

/**
 * Caches each handler's requirement: the decorators cannot change after bootstrap, and both
 * guards ask on every request.
 */
export class RouteRequirements {
  private readonly byHandler = new WeakMap<object, RouteRequirement>();

  constructor(private readonly reflector: Reflector) {}

  of(context: ExecutionContext): RouteRequirement {
    const handler = context.getHandler();
    let requirement = this.byHandler.get(handler);
    if (requirement === undefined) {
      requirement = readRouteRequirement(this.reflector, handler, context.getClass());
      this.byHandler.set(handler, requirement);
    }
    return requirement;
  }
}
