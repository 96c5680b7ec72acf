import { Validator } from '@seriousme/openapi-schema-validator';
import {
  ADAPTERS,
  bootApp,
  type BootedApp,
  createLocalIssuer,
  httpRequest,
  type LocalIssuer,
} from '@secure-api/testing';
import { AppModule } from '../../src/app.module.js';
import { loadServiceConfig } from '../../src/config/service.config.js';
import { setupOpenApi } from '../../src/openapi/setup-openapi.js';

const AUDIENCE = 'https://thumbnails.test';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

interface Operation {
  readonly security?: ReadonlyArray<Record<string, string[]>>;
}

interface Document {
  readonly openapi: string;
  readonly paths: Record<string, Record<string, Operation>>;
}

/** `/thumbnails/{id}` with a placeholder for each parameter, to call the route for real. */
const concrete = (route: string): string => route.replace(/\{[^}]+\}/g, 'x');

/** The scopes named by a 403 insufficient_scope challenge (RFC 6750 §3). */
const challengedScopes = (header: string | undefined): string[] => {
  const match = /scope="([^"]*)"/.exec(header ?? '');
  return match?.[1] === undefined ? [] : match[1].split(' ');
};

describe.each(ADAPTERS)('thumbnail service OpenAPI document (%s)', (adapter) => {
  let issuer: LocalIssuer;
  let service: BootedApp;
  let document: Document;
  let operations: Array<{ method: string; route: string; operation: Operation }>;

  beforeAll(async () => {
    issuer = await createLocalIssuer({ audience: AUDIENCE });
    const config = loadServiceConfig({ AUTH_ISSUER: issuer.url, AUTH_AUDIENCE: AUDIENCE });
    service = await bootApp(AppModule.register(config), {
      adapter,
      configure: (app) => {
        setupOpenApi(app);
      },
    });
    const response = await httpRequest(`${service.url}/openapi.json`);
    expect(response.status).toBe(200);
    document = response.json<Document>();
    operations = Object.entries(document.paths).flatMap(([route, item]) =>
      METHODS.filter((method) => item[method] !== undefined).map((method) => ({
        method,
        route,
        operation: item[method] as Operation,
      })),
    );
  });

  afterAll(async () => {
    await service?.close();
    await issuer?.close();
  });

  it('serves the document without a token, as JSON', async () => {
    const response = await httpRequest(`${service.url}/openapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.headers['www-authenticate']).toBeUndefined();
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(document as unknown as Record<string, unknown>);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(document.openapi).toBe('3.1.0');
  });

  it('describes every route the service serves', () => {
    expect(operations.map(({ method, route }) => `${method} ${route}`).sort()).toEqual([
      'get /admin/log-level',
      'get /health/live',
      'get /health/ready',
      'get /thumbnails',
      'put /admin/log-level',
    ]);
  });

  it('marks public operations with an empty security requirement, and they need no token', async () => {
    const open = operations.filter(({ operation }) => operation.security?.length === 0);
    expect(open.map(({ route }) => route).sort()).toEqual(['/health/live', '/health/ready']);
    for (const { method, route } of open) {
      const response = await httpRequest(`${service.url}${concrete(route)}`, {
        method: method.toUpperCase(),
      });
      expect(response.status).not.toBe(401);
    }
  });

  it('lists on every other operation exactly the scopes the guard asks for', async () => {
    const guarded = operations.filter(({ operation }) => operation.security?.length !== 0);
    expect(guarded.length).toBeGreaterThan(0);
    const token = issuer.mint({ scope: 'openapi.probe' });
    for (const { method, route, operation } of guarded) {
      expect(operation.security).toHaveLength(1);
      const listed = operation.security?.[0]?.oidc;
      const response = await httpRequest(`${service.url}${concrete(route)}`, {
        method: method.toUpperCase(),
        headers: { authorization: `Bearer ${token}` },
      });
      // An empty list means any valid token: the guard must then let the probe through.
      const expected = listed?.length === 0 ? 'allowed' : 403;
      const outcome =
        response.status === 401 || response.status === 403 ? response.status : 'allowed';
      expect({ route, outcome }).toEqual({ route, outcome: expected });
      if (expected === 403) {
        expect(listed?.slice().sort()).toEqual(
          challengedScopes(response.headers['www-authenticate']).sort(),
        );
      }
    }
  });

  it('takes response schemas from the DTOs', () => {
    expect(document).toMatchObject({
      paths: {
        '/thumbnails': {
          get: {
            responses: {
              200: {
                content: {
                  'application/json': { schema: { $ref: '#/components/schemas/ThumbnailListDto' } },
                },
              },
            },
          },
        },
      },
      components: {
        schemas: {
          ThumbnailListDto: {
            type: 'object',
            properties: { items: { type: 'array', items: { type: 'string' } } },
            required: ['items'],
          },
        },
      },
    });
  });

  it('points the security scheme at the issuer discovery document', () => {
    expect(document).toMatchObject({
      components: {
        securitySchemes: {
          oidc: {
            type: 'openIdConnect',
            openIdConnectUrl: `${issuer.url}/.well-known/openid-configuration`,
          },
        },
      },
    });
  });
});
