import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { type LoggedAction, setAction } from './request-context.js';

interface RoutedRequest {
  readonly method?: string;
  /** Express: the matched route. */
  readonly route?: { readonly path?: unknown };
  /** Fastify: the matched route's options. */
  readonly routeOptions?: { readonly url?: unknown };
}

/**
 * First guard of the chain: records the action a request reached (`ControllerName.handler`,
 * the method and the route template) on the request, for the request log. Built once per
 * handler and route; never refuses.
 */
@Injectable()
export class RequestContextGuard implements CanActivate {
  private readonly actions = new WeakMap<object, LoggedAction>();

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const request = context.switchToHttp().getRequest<RoutedRequest>();
    const handler = context.getHandler();
    const route = routeOf(request);
    let action = this.actions.get(handler);
    if (action === undefined || action.route !== route || action.method !== request.method) {
      action = Object.freeze({
        handler: `${context.getClass().name}.${handler.name}`,
        method: request.method ?? 'UNKNOWN',
        route,
      });
      this.actions.set(handler, action);
    }
    setAction(request as Parameters<typeof setAction>[0], action);
    return true;
  }
}

function routeOf(request: RoutedRequest): string | undefined {
  const path = request.route?.path ?? request.routeOptions?.url;
  return typeof path === 'string' ? path : undefined;
}
