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

/** Reads a handler's requirement from its own and its class's decorators. */
export function readRouteRequirement(
  reflector: Reflector,
  handler: object,
  controller: object,
): RouteRequirement {
  const isPublic =
    reflector.get(Public, handler as never) === true ||
    reflector.get(Public, controller as never) === true;
  const own = reflector.get(ScopesMetadata, handler as never);
  const inherited = reflector.get(ScopesMetadata, controller as never);
  const declaresScopes = own !== undefined || inherited !== undefined;
  if (isPublic && declaresScopes) return { kind: 'conflict' };
  if (isPublic) return { kind: 'public' };
  if (!declaresScopes) return { kind: 'undeclared' };
  return { kind: 'scopes', scopes: [...new Set([...(inherited ?? []), ...(own ?? [])])] };
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
