import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { Validator } from '@seriousme/openapi-schema-validator';
import {
  applySecureApiOpenApi,
  type SecureApiError,
  SecureApiErrorCode,
  type SecureApiModuleOptions,
  type TlsOptions,
} from '@secure-api/nestjs';
import {
  ADAPTERS,
  bootApp,
  type BootedApp,
  createLocalIssuer,
  type LocalIssuer,
} from '@secure-api/testing';
import {
  ForgottenController,
  OpenApiFixture,
  WithoutSecureApiFixture,
} from './fixtures/openapi-app.fixture.js';
import { bootMtlsApp, PEERS, type PkiOnDisk, writeTestPki } from './fixtures/mtls-app.fixture.js';

const build = (app: INestApplication): OpenAPIObject =>
  SwaggerModule.createDocument(
    app,
    new DocumentBuilder().setTitle('fixture').setVersion('1').setOpenAPIVersion('3.1.0').build(),
  );

type Operation = { security?: unknown; responses: Record<string, unknown> };

const operation = (document: OpenAPIObject, method: string, route: string): Operation => {
  const item = document.paths[route] as Record<string, Operation> | undefined;
  const found = item?.[method];
  if (found === undefined) throw new Error(`no ${method} ${route} in the document`);
  return found;
};

const refusal = (run: () => unknown): SecureApiError => {
  try {
    run();
  } catch (error) {
    return error as SecureApiError;
  }
  throw new Error('expected applySecureApiOpenApi to throw');
};

describe.each(ADAPTERS)('OpenAPI security requirements on %s', (adapter) => {
  let issuer: LocalIssuer;
  let second: LocalIssuer;
  let booted: BootedApp;
  let document: OpenAPIObject;

  const options = (overrides: Partial<SecureApiModuleOptions> = {}): SecureApiModuleOptions => ({
    auth: { issuer: issuer.url, audience: issuer.audience, jwksUri: issuer.jwksUri },
    ...overrides,
  });

  beforeAll(async () => {
    issuer = await createLocalIssuer();
    second = await createLocalIssuer();
    booted = await bootApp(OpenApiFixture.with(options()), {
      adapter,
      configure: (app) => {
        app.setGlobalPrefix('v1');
      },
    });
    document = applySecureApiOpenApi(booted.app, build(booted.app));
  });

  afterAll(async () => {
    await booted?.close();
    await issuer?.close();
    await second?.close();
  });

  it('produces a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(document as unknown as Record<string, unknown>);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(document.openapi).toBe('3.1.0');
  });

  it('declares one openIdConnect scheme at the issuer discovery document', () => {
    expect(document.components?.securitySchemes).toEqual({
      oidc: {
        type: 'openIdConnect',
        openIdConnectUrl: `${issuer.url}/.well-known/openid-configuration`,
        description: `Bearer access token issued by ${issuer.url}`,
      },
    });
  });

  it.each([
    ['get', '/v1/images', ['images.read']],
    ['get', '/v1/images/{id}', ['images.read']],
    ['put', '/v1/images/{id}', ['images.read', 'images.write']],
    ['get', '/v1/images/{id}/versions/{version}', ['images.read']],
    ['get', '/v1/me', []],
    ['get', '/v1/status/admin', ['status.admin']],
  ])('%s %s requires exactly its scopes', (method, route, scopes) => {
    expect(operation(document, method, route).security).toEqual([{ oidc: scopes }]);
  });

  it.each([
    ['get', '/v1/images/formats/supported'],
    ['get', '/v1/status'],
  ])('%s %s is public: security is empty and no 401 is promised', (method, route) => {
    const found = operation(document, method, route);
    expect(found.security).toEqual([]);
    expect(found.responses['401']).toBeUndefined();
  });

  it('lists the 401 and 403 problem+json responses on a scoped operation', () => {
    const found = operation(document, 'put', '/v1/images/{id}');
    expect(found.responses['401']).toEqual({
      $ref: '#/components/responses/SecureApiUnauthorized',
    });
    expect(found.responses['403']).toEqual({ $ref: '#/components/responses/SecureApiForbidden' });
    expect(document.components?.responses?.SecureApiForbidden).toMatchObject({
      content: {
        'application/problem+json': { schema: { $ref: '#/components/schemas/SecureApiProblem' } },
      },
    });
  });

  it('promises no 403 where any valid token will do', () => {
    const found = operation(document, 'get', '/v1/me');
    expect(found.responses['401']).toBeDefined();
    expect(found.responses['403']).toBeUndefined();
  });

  it('leaves the document it was given unchanged', () => {
    const original = build(booted.app);
    applySecureApiOpenApi(booted.app, original);
    expect(operation(original, 'get', '/v1/images').security).toBeUndefined();
  });

  it('names the scheme after schemeName and refuses an invalid one', () => {
    const named = applySecureApiOpenApi(booted.app, build(booted.app), { schemeName: 'idp' });
    expect(operation(named, 'get', '/v1/images').security).toEqual([{ idp: ['images.read'] }]);
    const error = refusal(() =>
      applySecureApiOpenApi(booted.app, build(booted.app), { schemeName: 'has space' }),
    );
    expect(error.code).toBe(SecureApiErrorCode.INVALID_OPTIONS);
    expect(error.message).toBe(
      'applySecureApiOpenApi: "schemeName" must match /^[A-Za-z0-9._-]+$/ (got "has space")',
    );
  });

  it('offers one alternative requirement per trusted issuer', async () => {
    const multi = await bootApp(
      OpenApiFixture.with({
        auth: {
          issuer: [issuer.url, second.url],
          audience: issuer.audience,
          jwksUri: issuer.jwksUri,
        },
      }),
      { adapter },
    );
    try {
      const doc = applySecureApiOpenApi(multi.app, build(multi.app));
      expect(Object.keys(doc.components?.securitySchemes ?? {})).toEqual(['oidc', 'oidc-2']);
      expect(operation(doc, 'get', '/images/{id}').security).toEqual([
        { oidc: ['images.read'] },
        { 'oidc-2': ['images.read'] },
      ]);
    } finally {
      await multi.close();
    }
  });

  it('refuses to describe a route that declares neither @Scopes() nor @Public()', async () => {
    const lax = await bootApp(
      OpenApiFixture.with(options({ routeAudit: 'off' }), [ForgottenController]),
      {
        adapter,
      },
    );
    try {
      const error = refusal(() => applySecureApiOpenApi(lax.app, build(lax.app)));
      expect(error.code).toBe(SecureApiErrorCode.ROUTE_NOT_DECLARED);
      expect(error.message).toContain(
        'operation(s) cannot be described:\n  GET /forgotten -> ForgottenController.forgotten (undeclared)\n',
      );
    } finally {
      await lax.close();
    }
  });

  it('refuses an app that does not import SecureApiModule', async () => {
    const bare = await bootApp(WithoutSecureApiFixture, { adapter });
    try {
      const error = refusal(() => applySecureApiOpenApi(bare.app, build(bare.app)));
      expect(error.code).toBe(SecureApiErrorCode.INVALID_OPTIONS);
      expect(error.message).toMatch(
        /^applySecureApiOpenApi: the application does not import SecureApiModule\. Potential solutions: /,
      );
      expect(error.cause).toBeInstanceOf(Error);
    } finally {
      await bare.close();
    }
  });

  it('refuses an operation that no controller route serves', () => {
    const stray = build(booted.app);
    stray.paths['/v1/ghost'] = { get: { responses: {} } };
    const error = refusal(() => applySecureApiOpenApi(booted.app, stray));
    expect(error.code).toBe(SecureApiErrorCode.ROUTE_NOT_DECLARED);
    expect(error.message).toContain('  GET /v1/ghost (no controller route has this path)\n');
  });
});

describe.each(ADAPTERS)('OpenAPI mutualTLS requirements on %s', (adapter) => {
  let issuer: LocalIssuer;
  let disk: PkiOnDisk;
  let files: TlsOptions;

  const documentOf = async (
    tls: Partial<TlsOptions>,
    openapi = '3.1.0',
  ): Promise<OpenAPIObject> => {
    const booted = await bootMtlsApp(adapter, {
      auth: { issuer: issuer.url, audience: issuer.audience, jwksUri: issuer.jwksUri },
      tls: { ...files, ...tls },
    });
    try {
      const config = new DocumentBuilder().setTitle('mtls').setOpenAPIVersion(openapi).build();
      return applySecureApiOpenApi(booted.app, SwaggerModule.createDocument(booted.app, config));
    } finally {
      await booted.close();
    }
  };

  beforeAll(async () => {
    issuer = await createLocalIssuer();
    disk = await writeTestPki();
    files = disk.files;
  });

  afterAll(async () => {
    await issuer?.close();
    await disk?.remove();
  });

  it("requires the client certificate on every operation with clientCertificate 'require'", async () => {
    const document = await documentOf({});
    expect(document.components?.securitySchemes?.mtls).toEqual({
      type: 'mutualTLS',
      description: 'TLS client certificate issued by the service CA',
    });
    // One requirement object holds both: the token AND the certificate.
    expect(operation(document, 'get', '/profile').security).toEqual([
      { oidc: ['profile.read'], mtls: [] },
    ]);
    expect(operation(document, 'get', '/public').security).toEqual([{ mtls: [] }]);
    const result = await new Validator().validate(document as unknown as Record<string, unknown>);
    expect(result.errors).toBeUndefined();
  });

  it('names the allowed peers in the scheme', async () => {
    const document = await documentOf({ allowedPeers: [PEERS.uploader] });
    expect(document.components?.securitySchemes?.mtls).toEqual({
      type: 'mutualTLS',
      description: `TLS client certificate issued by the service CA, for one of: ${PEERS.uploader}`,
    });
  });

  it("requires it only where @AllowPeers() does with clientCertificate 'optional'", async () => {
    const document = await documentOf({ clientCertificate: 'optional' });
    expect(operation(document, 'get', '/uploads').security).toEqual([{ mtls: [] }]);
    expect(operation(document, 'get', '/public').security).toEqual([]);
    expect(operation(document, 'get', '/profile').security).toEqual([{ oidc: ['profile.read'] }]);
  });

  it('leaves mutualTLS out of an OpenAPI 3.0 document, which has no such scheme type', async () => {
    const document = await documentOf({}, '3.0.3');
    expect(document.components?.securitySchemes).not.toHaveProperty('mtls');
    expect(operation(document, 'get', '/profile').security).toEqual([{ oidc: ['profile.read'] }]);
  });
});

describe('@nestjs/swagger stays optional', () => {
  const src = path.join(import.meta.dirname, '../../src');
  const sources = readdirSync(src, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => ({ file, text: readFileSync(path.join(src, file), 'utf8') }));

  it('no source file imports @nestjs/swagger', () => {
    expect(sources.length).toBeGreaterThan(10);
    expect(sources.filter(({ text }) => /from '@nestjs\/swagger'/.test(text))).toEqual([]);
  });

  it('only the package entry point imports the openapi folder', () => {
    const importers = sources
      .filter(
        ({ file, text }) => !file.startsWith('openapi') && /from '\.{1,2}\/openapi\//.test(text),
      )
      .map(({ file }) => file);
    expect(importers).toEqual(['index.ts']);
  });
});
