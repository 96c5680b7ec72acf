import { type INestApplicationContext } from '@nestjs/common';
import { RouteAuditService, type AuditedRoute } from '../auth/route-audit.service.js';
import { PROBLEM_JSON } from '../errors/problem-details.js';
import { SecureApiError } from '../errors/secure-api.error.js';
import { SecureApiErrorCode } from '../errors/secure-api-error-code.js';
import { SECURE_API_OPTIONS } from '../secure-api.constants.js';
import { type ResolvedSecureApiOptions } from '../secure-api.options.js';

/**
 * The part of an OpenAPI 3.x document this package reads and writes. `@nestjs/swagger`'s
 * `OpenAPIObject` fits it; the type is structural so that the package needs no swagger import
 * (an app without `@nestjs/swagger` loads and type-checks the package unchanged).
 */
export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, object>;
  components?: object;
}

/** Options of {@link applySecureApiOpenApi}. */
export interface SecureApiOpenApiOptions {
  /**
   * Name of the security scheme in `components.securitySchemes`. With several issuers, the
   * second and later are named `<schemeName>-2`, `<schemeName>-3`…
   * @default 'oidc'
   */
  schemeName?: string;
  /**
   * Name of the `mutualTLS` security scheme (OpenAPI 3.1), added when the module's `tls` asks
   * for client certificates: on every operation when `clientCertificate` is `'require'` or
   * `tls.allowedPeers` is set, else on the operations with `@AllowPeers()`.
   * @default 'mtls'
   */
  mtlsSchemeName?: string;
}

const SCHEME_NAME = /^[A-Za-z0-9._-]+$/;
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const UNAUTHORIZED = 'SecureApiUnauthorized';
const FORBIDDEN = 'SecureApiForbidden';
const PROBLEM = 'SecureApiProblem';

/** Nest `/thumbnails/:id` → OpenAPI `/thumbnails/{id}`, as `@nestjs/swagger` writes it. */
function toOpenApiPath(nestPath: string): string {
  return nestPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function problemResponse(description: string): object {
  return {
    description,
    headers: {
      'WWW-Authenticate': {
        description: 'RFC 6750 §3 Bearer challenge',
        schema: { type: 'string' },
      },
    },
    content: { [PROBLEM_JSON]: { schema: { $ref: `#/components/schemas/${PROBLEM}` } } },
  };
}

const PROBLEM_SCHEMA = {
  type: 'object',
  description: 'RFC 9457 problem details',
  required: ['type', 'title', 'status', 'detail', 'code'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string', description: 'Stable code, `ERR_SECURE_API_…`' },
  },
};

/**
 * Publishes what the guards enforce in an OpenAPI document built by
 * `SwaggerModule.createDocument()`: an `openIdConnect` security scheme per issuer, on every
 * operation that needs a token the `security` requirement listing exactly its scopes (and the
 * 401/403 `application/problem+json` responses), and `security: []` on `@Public()` ones.
 *
 * Requirements come from the same `readRouteRequirement()` the guards call, through the route
 * audit's walk of the controllers; operations are matched by method and path. A document
 * operation that matches no route, or a route that declares neither `@Scopes()` nor
 * `@Public()` (or both), is refused: the document would otherwise promise what the guards do
 * not do.
 *
 * The scheme is `openIdConnect` at `<issuer>/.well-known/openid-configuration`, the same
 * metadata the module reads to find the keys: the module knows the issuer, not its token
 * endpoint or grant types, which an `oauth2` scheme would have to state.
 *
 * @param app The initialised application the document was built from.
 * @returns A copy of `document`; the argument is not modified.
 * @throws SecureApiError `ERR_SECURE_API_ROUTE_NOT_DECLARED` for an operation that cannot be
 * described; `ERR_SECURE_API_INVALID_OPTIONS` for an invalid `schemeName` or an app without
 * `SecureApiModule`.
 * @example
 * const config = new DocumentBuilder().setTitle('Thumbnails').setOpenAPIVersion('3.1.0').build();
 * const document = applySecureApiOpenApi(app, SwaggerModule.createDocument(app, config));
 */
export function applySecureApiOpenApi<T extends OpenApiDocument>(
  app: INestApplicationContext,
  document: T,
  options: SecureApiOpenApiOptions = {},
): T {
  const { schemeName = 'oidc', mtlsSchemeName = 'mtls' } = options;
  for (const [option, value] of [
    ['schemeName', schemeName],
    ['mtlsSchemeName', mtlsSchemeName],
  ] as const) {
    if (typeof value !== 'string' || !SCHEME_NAME.test(value)) {
      throw new SecureApiError(
        SecureApiErrorCode.INVALID_OPTIONS,
        `applySecureApiOpenApi: "${option}" must match ${String(SCHEME_NAME)} (got ${JSON.stringify(value)})`,
      );
    }
  }
  let resolved: ResolvedSecureApiOptions;
  let audit: RouteAuditService;
  try {
    resolved = app.get<ResolvedSecureApiOptions>(SECURE_API_OPTIONS, { strict: false });
    audit = app.get(RouteAuditService, { strict: false });
  } catch (cause) {
    throw new SecureApiError(
      SecureApiErrorCode.INVALID_OPTIONS,
      'applySecureApiOpenApi: the application does not import SecureApiModule. ' +
        'Potential solutions: import SecureApiModule.forRoot(...) in the root module, and pass ' +
        'the application created from it.',
      { cause },
    );
  }
  const routes = audit.collect();
  const result = structuredClone(document);

  const schemes: Record<string, object> = {};
  resolved.auth.issuers.forEach((issuer, index) => {
    const name = index === 0 ? schemeName : `${schemeName}-${index + 1}`;
    schemes[name] = {
      type: 'openIdConnect',
      openIdConnectUrl: `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`,
      description: `Bearer access token issued by ${issuer}`,
    };
  });

  // mutualTLS is a 3.1 scheme type; a 3.0 document cannot state it and is left without it.
  const tls = resolved.tls;
  const mtlsScheme =
    tls !== undefined && tls.clientCertificate !== 'none' && result.openapi.startsWith('3.1')
      ? {
          type: 'mutualTLS',
          description:
            tls.allowedPeers === undefined
              ? 'TLS client certificate issued by the service CA'
              : `TLS client certificate issued by the service CA, for one of: ${tls.allowedPeers.join(', ')}`,
        }
      : undefined;
  const everyOperationNeedsPeer =
    tls?.clientCertificate === 'require' || tls?.allowedPeers !== undefined;
  const needsPeer = (route: AuditedRoute): boolean =>
    mtlsScheme !== undefined && (everyOperationNeedsPeer || route.peers !== undefined);
  let usesPeer = false;

  const byOperation = new Map<string, AuditedRoute>();
  for (const route of routes) {
    const methods = route.method === 'ALL' ? HTTP_METHODS : [route.method.toLowerCase()];
    for (const method of methods) {
      byOperation.set(`${method} ${toOpenApiPath(route.path)}`, route);
    }
  }

  let needsToken = false;
  const refused: string[] = [];
  for (const [path, item] of Object.entries(result.paths)) {
    for (const method of HTTP_METHODS) {
      const operation: unknown = (item as Record<string, unknown>)[method];
      if (!isRecord(operation)) continue;
      const route = byOperation.get(`${method} ${path}`);
      const requirement = route?.requirement;
      if (requirement === undefined) {
        refused.push(`  ${method.toUpperCase()} ${path} (no controller route has this path)`);
      } else if (requirement.kind === 'public') {
        const peer = route !== undefined && needsPeer(route);
        usesPeer ||= peer;
        operation.security = peer ? [{ [mtlsSchemeName]: [] }] : [];
      } else if (requirement.kind === 'scopes') {
        needsToken = true;
        const peer = route !== undefined && needsPeer(route);
        usesPeer ||= peer;
        // Requirement objects are alternatives; the members of one are all needed.
        operation.security = Object.keys(schemes).map((name) => ({
          [name]: [...requirement.scopes],
          ...(peer ? { [mtlsSchemeName]: [] } : {}),
        }));
        const responses = isRecord(operation.responses) ? operation.responses : {};
        responses['401'] ??= { $ref: `#/components/responses/${UNAUTHORIZED}` };
        if (requirement.scopes.length > 0) {
          responses['403'] ??= { $ref: `#/components/responses/${FORBIDDEN}` };
        }
        operation.responses = responses;
      } else {
        refused.push(`  ${route?.description ?? path} (${requirement.kind})`);
      }
    }
  }
  if (refused.length > 0) {
    throw new SecureApiError(
      SecureApiErrorCode.ROUTE_NOT_DECLARED,
      `applySecureApiOpenApi: ${refused.length} operation(s) cannot be described:\n${refused.join('\n')}\n` +
        'Potential solutions: declare @Scopes(...) or @Public() (not both) on the route, and ' +
        'build the document from the same initialised app.',
    );
  }

  if (usesPeer && mtlsScheme !== undefined) {
    const components: Record<string, unknown> = isRecord(result.components)
      ? result.components
      : {};
    const existing = components.securitySchemes;
    components.securitySchemes = {
      ...(isRecord(existing) ? existing : {}),
      [mtlsSchemeName]: mtlsScheme,
    };
    result.components = components;
  }

  if (needsToken) {
    const components: Record<string, unknown> = isRecord(result.components)
      ? result.components
      : {};
    const section = (key: string): Record<string, unknown> => {
      const existing = components[key];
      const value = isRecord(existing) ? existing : {};
      components[key] = value;
      return value;
    };
    Object.assign(section('securitySchemes'), schemes);
    section('schemas')[PROBLEM] ??= PROBLEM_SCHEMA;
    const responses = section('responses');
    responses[UNAUTHORIZED] ??= problemResponse('Missing, invalid or expired access token');
    responses[FORBIDDEN] ??= problemResponse('The access token lacks a required scope');
    result.components = components;
  }
  return result;
}
