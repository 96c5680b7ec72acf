import { Validator } from '@seriousme/openapi-schema-validator';
import { ADAPTERS, type TestCertificate } from '@secure-api/testing';
import { DEFAULTS } from '../../src/config/service.config.js';
import {
  bootThumbnailService,
  callService,
  startThumbnailWorld,
  type ThumbnailService,
  type ThumbnailWorld,
} from './fixtures/thumbnail-stack.fixture.js';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const OPERATOR_ID = DEFAULTS.adminPeers[0] ?? 'spiffe://example.org/sa/operator';

interface Operation {
  readonly security?: ReadonlyArray<Record<string, string[]>>;
  readonly responses?: Record<string, unknown>;
}

interface Document {
  readonly openapi: string;
  readonly paths: Record<string, Record<string, Operation>>;
  readonly components?: Record<string, Record<string, unknown>>;
}

/** The scopes named by a 403 insufficient_scope challenge (RFC 6750 §3). */
const challengedScopes = (header: string | undefined): string[] => {
  const match = /error="insufficient_scope", scope="([^"]*)"/.exec(header ?? '');
  return match?.[1] === undefined ? [] : match[1].split(' ');
};

describe.each(ADAPTERS)('thumbnail service OpenAPI document (%s)', (adapter) => {
  let world: ThumbnailWorld;
  let service: ThumbnailService;
  let operator: TestCertificate;
  let document: Document;
  let operations: Array<{ method: string; route: string; operation: Operation }>;

  beforeAll(async () => {
    world = await startThumbnailWorld();
    service = await bootThumbnailService(world, adapter);
    operator = await world.pki.client(OPERATOR_ID);
    const response = await callService(world, service, '/openapi.json');
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
    await world?.close();
  });

  it('serves the document without a token (but over mutual TLS), as JSON', async () => {
    const response = await callService(world, service, '/openapi.json');

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

  it('describes every route the service serves, and no other', () => {
    expect(operations.map(({ method, route }) => `${method} ${route}`).sort()).toEqual([
      'get /admin/log-level',
      'get /health/live',
      'get /health/ready',
      'post /v1/thumbnails',
      'put /admin/log-level',
    ]);
  });

  it('asks POST /v1/thumbnails for a token with thumbnails.write over mutual TLS', () => {
    expect(document.paths['/v1/thumbnails']?.post?.security).toEqual([
      { oidc: ['thumbnails.write'], mtls: [] },
    ]);
    expect(document.components?.securitySchemes).toMatchObject({
      mtls: { type: 'mutualTLS' },
      oidc: {
        type: 'openIdConnect',
        openIdConnectUrl: `${world.issuer.issuer}/.well-known/openid-configuration`,
      },
    });
  });

  it('asks every operation for the mTLS peer, since the server requires a certificate', () => {
    for (const { route, operation } of operations) {
      expect({
        route,
        everyRequirementHasMtls: operation.security?.every((r) => 'mtls' in r),
      }).toEqual({ route, everyRequirementHasMtls: true });
    }
  });

  it('lists on each guarded operation exactly the scopes the guard asks for', async () => {
    const guarded = operations.filter(({ operation }) =>
      operation.security?.some((requirement) => 'oidc' in requirement),
    );
    expect(guarded.map(({ route }) => route).sort()).toEqual([
      '/admin/log-level',
      '/admin/log-level',
      '/v1/thumbnails',
    ]);
    for (const { method, route, operation } of guarded) {
      const listed = operation.security?.[0]?.oidc ?? [];
      // The reader's token has thumbnails.read only, which no guarded route accepts; the
      // operator's certificate gets past the admin routes' peer check, to the scope check.
      const response = await callService(world, service, route, {
        method: method.toUpperCase(),
        token: world.readToken,
        cert: route.startsWith('/admin/') ? operator : world.uploaderCert,
        ...(method === 'get' ? {} : { body: {} }),
      });
      expect({ route, method, status: response.status }).toEqual({ route, method, status: 403 });
      expect(listed.slice().sort()).toEqual(
        challengedScopes(response.headers['www-authenticate']).sort(),
      );
    }
  });

  it('publishes the request body schema with the limits the DTO enforces', () => {
    expect(document.paths['/v1/thumbnails']?.post).toMatchObject({
      requestBody: {
        required: true,
        content: {
          'application/json': { schema: { $ref: '#/components/schemas/CreateThumbnailDto' } },
        },
      },
    });
    expect(document.components?.schemas?.CreateThumbnailDto).toMatchObject({
      type: 'object',
      required: ['sourceKey', 'width'],
      properties: {
        sourceKey: {
          type: 'string',
          pattern: '^[A-Za-z0-9][A-Za-z0-9/_.-]{0,511}$',
          maxLength: 512,
        },
        width: { type: 'integer', minimum: 16, maximum: 2048 },
        height: { type: 'integer', minimum: 16, maximum: 2048 },
        fit: { type: 'string', enum: ['cover', 'contain', 'inside'], default: 'inside' },
        format: { type: 'string', enum: ['webp', 'jpeg', 'png', 'avif'], default: 'webp' },
      },
    });
  });

  it('publishes the 201 answer with the ThumbnailCreatedDto schema', () => {
    expect(document.paths['/v1/thumbnails']?.post?.responses?.['201']).toMatchObject({
      content: {
        'application/json': { schema: { $ref: '#/components/schemas/ThumbnailCreatedDto' } },
      },
    });
    expect(document.components?.schemas?.ThumbnailCreatedDto).toMatchObject({
      type: 'object',
      required: ['key', 'width', 'height', 'format', 'bytes'],
    });
  });

  it('publishes every status the route answers', () => {
    // 400, 404, 413, 415, 422, 429, 503 (thumbnails.controller.ts; each answered in
    // thumbnail-service.e2e-spec.ts), 401/403 (applySecureApiOpenApi). A 500 is not promised.
    const responses = document.paths['/v1/thumbnails']?.post?.responses ?? {};

    expect(Object.keys(responses).sort()).toEqual(
      ['201', '400', '401', '403', '404', '413', '415', '422', '429', '503'].sort(),
    );
  });
});
