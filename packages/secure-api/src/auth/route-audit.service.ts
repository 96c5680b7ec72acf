import { Inject, Injectable, Logger, type OnModuleInit, RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { ApplicationConfig, DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { SecureApiError } from '../errors/secure-api.error.js';
import { SecureApiErrorCode } from '../errors/secure-api-error-code.js';
import { SECURE_API_OPTIONS } from '../secure-api.constants.js';
import { type ResolvedSecureApiOptions } from '../secure-api.options.js';
import { AllowPeersMetadata } from '../tls/allow-peers.decorator.js';
import { readRouteRequirement, type RouteRequirement } from './route-requirement.js';

/** One route as the audit sees it. */
export interface AuditedRoute {
  /** The HTTP method as Nest names it: `GET`, `POST`… `ALL`. */
  readonly method: string;
  /** The full Nest path, global prefix included: `/reports/:id`. */
  readonly path: string;
  /** `GET /reports -> ReportsController.list` */
  readonly description: string;
  readonly requirement: RouteRequirement;
  /** The route's `@AllowPeers()` list (the handler's, else its class's), if any. */
  readonly peers: readonly string[] | undefined;
}

function joinPath(...segments: string[]): string {
  const path = segments
    .flatMap((segment) => segment.split('/'))
    .filter((part) => part !== '')
    .join('/');
  return `/${path}`;
}

function asList(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  return [typeof value === 'string' ? value : '/'];
}

/**
 * Lists every HTTP route at bootstrap with what it requires, and refuses to start (with
 * `routeAudit: 'error'`) while any route declares neither `@Scopes()` nor `@Public()`, or both.
 * Such a route would be refused at run time anyway; the audit makes the mistake a boot failure
 * instead of a 403 in production.
 */
@Injectable()
export class RouteAuditService implements OnModuleInit {
  private readonly logger = new Logger('SecureApi');

  constructor(
    @Inject(SECURE_API_OPTIONS) private readonly options: ResolvedSecureApiOptions,
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    private readonly config: ApplicationConfig,
  ) {}

  onModuleInit(): void {
    const routes = this.collect();
    for (const route of routes) {
      this.logger.debug(`${route.description}: ${this.describe(route.requirement)}`);
    }
    if (this.options.routeAudit === 'off') return;
    const offenders = routes.filter(
      (route) => route.requirement.kind === 'undeclared' || route.requirement.kind === 'conflict',
    );
    if (offenders.length === 0) return;
    const list = offenders
      .map((route) =>
        route.requirement.kind === 'conflict'
          ? `  ${route.description} (declares both @Public() and @Scopes())`
          : `  ${route.description}`,
      )
      .join('\n');
    const message =
      `SecureApiModule: ${offenders.length} route(s) must declare either @Scopes() or @Public(), and not both:\n${list}\n` +
      'Potential solutions: add @Scopes(...) with the scopes the route needs, or @Public() if ' +
      'it must be reachable without a token; routeAudit: "warn" logs this instead of failing.';
    if (this.options.routeAudit === 'warn') {
      this.logger.warn(message);
      return;
    }
    throw new SecureApiError(SecureApiErrorCode.ROUTE_NOT_DECLARED, message);
  }

  /** Every HTTP route of every controller, with its requirement. */
  collect(): AuditedRoute[] {
    const prefix = this.config.getGlobalPrefix();
    const routes: AuditedRoute[] = [];
    for (const wrapper of this.discovery.getControllers()) {
      const metatype: unknown = wrapper.metatype;
      const instance: unknown = wrapper.instance;
      if (typeof metatype !== 'function' || instance === null || typeof instance !== 'object') {
        continue;
      }
      const controllerPaths = asList(Reflect.getMetadata(PATH_METADATA, metatype));
      const prototype = Object.getPrototypeOf(instance) as Record<string, unknown>;
      for (const name of this.scanner.getAllMethodNames(prototype)) {
        const handler = prototype[name];
        if (typeof handler !== 'function') continue;
        const method: unknown = Reflect.getMetadata(METHOD_METADATA, handler);
        const methodPath: unknown = Reflect.getMetadata(PATH_METADATA, handler);
        if (method === undefined || methodPath === undefined) continue;
        const verb = RequestMethod[method as RequestMethod] ?? 'UNKNOWN';
        const requirement = readRouteRequirement(this.reflector, handler, metatype);
        const peers = this.reflector.getAllAndOverride(AllowPeersMetadata, [handler, metatype]);
        for (const controllerPath of controllerPaths) {
          for (const path of asList(methodPath)) {
            const fullPath = joinPath(prefix, controllerPath, path);
            routes.push({
              method: verb,
              path: fullPath,
              description: `${verb} ${fullPath} -> ${metatype.name}.${name}`,
              requirement,
              peers,
            });
          }
        }
      }
    }
    return routes;
  }

  private describe(requirement: RouteRequirement): string {
    switch (requirement.kind) {
      case 'public':
        return 'public';
      case 'scopes':
        return requirement.scopes.length > 0
          ? `bearer token with scopes [${requirement.scopes.join(' ')}]`
          : 'any valid bearer token';
      case 'conflict':
        return 'DENIED (both @Public() and @Scopes())';
      case 'undeclared':
        return 'DENIED (neither @Scopes() nor @Public())';
    }
  }
}
