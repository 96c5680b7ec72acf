import { JwksKeyStore, SecureApiErrorCode, type SecureApiModuleOptions } from '@secure-api/nestjs';
import {
  ADAPTERS,
  type AdapterName,
  bootApp,
  type BootedApp,
  createLocalIssuer,
  createTestPki,
  httpRequest,
  type HttpRequestOptions,
  type HttpResponse,
  type LocalIssuer,
  type TestPki,
} from '@secure-api/testing';
import { HEADERS_READ_SCOPE, HeadersFixture } from './fixtures/headers-app.fixture.js';

/** Sent in method-override headers; must never come back in a response. */
const OVERRIDE_MARKER = 'DELETE-override-marker-7f3a';
/** Put where only a broken configuration would carry it into a response. */
const SECRET = 'csp-secret-marker-91c2';
const ONE_YEAR_SECONDS = 31_536_000;
// A server certificate for localhost, 127.0.0.1 and ::1 from a throw-away CA, made once.
let pki: TestPki;
beforeAll(async () => {
  pki = await createTestPki();
});
const tlsClient = (): HttpRequestOptions['tls'] => ({ ca: pki.ca.cert });

/** The helmet defaults this module relies on, and no `X-Powered-By`. */
function expectSecurityHeaders(response: HttpResponse): void {
  expect(response.headers['x-content-type-options']).toBe('nosniff');
  expect(response.headers['x-frame-options']).toBe('SAMEORIGIN');
  expect(response.headers['content-security-policy']).toContain("default-src 'self'");
  expect(response.headers['content-security-policy']).toContain("frame-ancestors 'self'");
  expect(response.headers['cross-origin-opener-policy']).toBe('same-origin');
  expect(response.headers['cross-origin-resource-policy']).toBe('same-origin');
  expect(response.headers['referrer-policy']).toBe('no-referrer');
  expect(response.headers['x-powered-by']).toBeUndefined();
}

function expectProblem(response: HttpResponse, status: number, code: string): void {
  expect(response.status).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.headers['cache-control']).toBe('no-store');
  expect(response.json()).toMatchObject({ status, code });
}

interface Scenario {
  readonly name: string;
  readonly path: string;
  readonly token?: 'with-scope' | 'without-scope';
  readonly status: number;
  readonly code?: string;
}

/** One response of each kind the module shapes: success, auth errors, routing, crash. */
const SCENARIOS: readonly Scenario[] = [
  { name: 'a public 200', path: '/headers/public', status: 200 },
  { name: 'an authenticated 200', path: '/headers/private', token: 'with-scope', status: 200 },
  {
    name: 'a 401',
    path: '/headers/private',
    status: 401,
    code: SecureApiErrorCode.TOKEN_MISSING,
  },
  {
    name: 'a 403',
    path: '/headers/private',
    token: 'without-scope',
    status: 403,
    code: SecureApiErrorCode.INSUFFICIENT_SCOPE,
  },
  { name: 'a 404', path: '/no/such/route', status: 404, code: SecureApiErrorCode.NOT_FOUND },
  { name: 'a 404 at the root', path: '/', status: 404, code: SecureApiErrorCode.NOT_FOUND },
  { name: 'a 500', path: '/headers/crash', status: 500, code: SecureApiErrorCode.INTERNAL },
];

function authorizationOf(issuer: LocalIssuer, scenario: Scenario): Record<string, string> {
  if (scenario.token === undefined) return {};
  const scope = scenario.token === 'with-scope' ? HEADERS_READ_SCOPE : 'other.scope';
  return { authorization: `Bearer ${issuer.mint({ scope })}` };
}

async function bootHeadersApp(
  adapter: AdapterName,
  issuer: LocalIssuer,
  options: Partial<SecureApiModuleOptions> = {},
  tls = false,
): Promise<BootedApp> {
  return bootApp(
    HeadersFixture.with({
      auth: { issuer: issuer.url, audience: issuer.audience, jwksUri: issuer.jwksUri },
      ...options,
    }),
    {
      adapter,
      ...(tls
        ? { nestOptions: { httpsOptions: { cert: pki.server.cert, key: pki.server.key } } }
        : {}),
    },
  );
}

describe.each(ADAPTERS)('security headers on %s', (adapter) => {
  let issuer: LocalIssuer;
  let booted: BootedApp;

  beforeAll(async () => {
    issuer = await createLocalIssuer();
    booted = await bootHeadersApp(adapter, issuer);
  });

  afterAll(async () => {
    await booted?.close();
    await issuer?.close();
  });

  const send = (scenario: Scenario): Promise<HttpResponse> =>
    httpRequest(`${booted.url}${scenario.path}`, { headers: authorizationOf(issuer, scenario) });

  it.each(SCENARIOS)(
    'sets the helmet headers on $name, without HSTS over http',
    async (scenario) => {
      const response = await send(scenario);
      expect(response.status).toBe(scenario.status);
      if (scenario.code !== undefined) expectProblem(response, scenario.status, scenario.code);
      expectSecurityHeaders(response);
      expect(response.headers['strict-transport-security']).toBeUndefined();
    },
  );

  it('marks an authenticated 200 no-store, on the verified and on the cache-hit path', async () => {
    const getKey = jest.spyOn(booted.app.get(JwksKeyStore), 'getKey');
    const authorization = `Bearer ${issuer.mint({ scope: HEADERS_READ_SCOPE })}`;
    const verified = await httpRequest(`${booted.url}/headers/private`, {
      headers: { authorization },
    });
    const lookupsAfterVerify = getKey.mock.calls.length;
    const cached = await httpRequest(`${booted.url}/headers/private`, {
      headers: { authorization },
    });
    expect(lookupsAfterVerify).toBe(1);
    // A cache hit looks no key up: the second response took the synchronous path.
    expect(getKey).toHaveBeenCalledTimes(1);
    for (const response of [verified, cached]) {
      expect(response.status).toBe(200);
      expect(response.headers['cache-control']).toBe('no-store');
    }
  });

  it('leaves Cache-Control of a public 200 to the application', async () => {
    const plain = await httpRequest(`${booted.url}/headers/public`);
    expect(plain.status).toBe(200);
    expect(plain.headers['cache-control'] ?? '').not.toContain('no-store');
    const cacheable = await httpRequest(`${booted.url}/headers/cacheable`);
    expect(cacheable.status).toBe(200);
    expect(cacheable.headers['cache-control']).toBe('public, max-age=60');
  });

  it("lets an authenticated handler choose its own caching over the guard's no-store", async () => {
    const response = await httpRequest(`${booted.url}/headers/private-cacheable`, {
      headers: { authorization: `Bearer ${issuer.mint({ scope: HEADERS_READ_SCOPE })}` },
    });
    expect(response.status).toBe(200);
    expect(response.headers['cache-control']).toBe('private, max-age=60');
  });

  it.each([
    ['a public route', '/headers/public'],
    ['a protected route', '/headers/private'],
    ['an unknown route', '/no/such/route'],
  ])('refuses TRACE on %s with 405 problem+json', async (_name, path) => {
    const response = await httpRequest(`${booted.url}${path}`, { method: 'TRACE' });
    expectProblem(response, 405, SecureApiErrorCode.METHOD_NOT_ALLOWED);
    expectSecurityHeaders(response);
  });

  it('never lets TRACK through: Node refuses it before any route', async () => {
    const response = await httpRequest(`${booted.url}/headers/public`, { method: 'TRACK' });
    expect(response.status).toBe(400);
    expect(response.text).not.toContain('"ok"');
  });

  it.each([
    ['X-HTTP-Method-Override', 'GET', '/headers/public'],
    ['X-HTTP-Method', 'GET', '/headers/public'],
    ['X-Method-Override', 'GET', '/headers/public'],
    ['x-http-method-override', 'POST', '/headers/public'],
    ['X-HTTP-Method-Override', 'GET', '/headers/private'],
    ['X-HTTP-Method-Override', 'GET', '/no/such/route'],
  ])('refuses %s on %s %s with 400 problem+json', async (header, method, path) => {
    const options: HttpRequestOptions = {
      method,
      headers: { [header]: OVERRIDE_MARKER },
      ...(method === 'POST' ? { body: '{}' } : {}),
    };
    const response = await httpRequest(`${booted.url}${path}`, options);
    expectProblem(response, 400, SecureApiErrorCode.METHOD_OVERRIDE);
    expectSecurityHeaders(response);
    expect(response.text).not.toContain(OVERRIDE_MARKER);
    expect(JSON.stringify(response.headers)).not.toContain(OVERRIDE_MARKER);
  });

  it('refuses an empty method-override header too', async () => {
    const response = await httpRequest(`${booted.url}/headers/public`, {
      headers: [['x-http-method-override', '']],
    });
    expectProblem(response, 400, SecureApiErrorCode.METHOD_OVERRIDE);
  });
});

describe.each(ADAPTERS)('security headers over TLS on %s', (adapter) => {
  let issuer: LocalIssuer;
  let booted: BootedApp | undefined;

  beforeAll(async () => {
    issuer = await createLocalIssuer();
  });

  afterEach(async () => {
    await booted?.close();
    booted = undefined;
  });

  afterAll(async () => {
    await issuer?.close();
  });

  describe('with the defaults', () => {
    let defaults: BootedApp;

    beforeAll(async () => {
      defaults = await bootHeadersApp(adapter, issuer, {}, true);
    });

    afterAll(async () => {
      await defaults?.close();
    });

    it('serves https', () => {
      expect(defaults.url).toMatch(/^https:/);
    });

    it.each(SCENARIOS)(
      'sends HSTS for a year with the helmet headers on $name',
      async (scenario) => {
        const response = await httpRequest(`${defaults.url}${scenario.path}`, {
          tls: tlsClient(),
          headers: authorizationOf(issuer, scenario),
        });
        expect(response.status).toBe(scenario.status);
        if (scenario.code !== undefined) expectProblem(response, scenario.status, scenario.code);
        expectSecurityHeaders(response);
        expect(response.headers['strict-transport-security']).toBe(
          `max-age=${ONE_YEAR_SECONDS}; includeSubDomains`,
        );
      },
    );

    it('sends HSTS on a refused TRACE', async () => {
      const response = await httpRequest(`${defaults.url}/headers/public`, {
        method: 'TRACE',
        tls: tlsClient(),
      });
      expectProblem(response, 405, SecureApiErrorCode.METHOD_NOT_ALLOWED);
      expect(response.headers['strict-transport-security']).toBe(
        `max-age=${ONE_YEAR_SECONDS}; includeSubDomains`,
      );
    });
  });

  it('merges helmet options over the defaults', async () => {
    booted = await bootHeadersApp(
      adapter,
      issuer,
      {
        headers: {
          helmet: {
            strictTransportSecurity: { maxAge: 600, includeSubDomains: false, preload: false },
            xFrameOptions: { action: 'deny' },
          },
        },
      },
      true,
    );
    const response = await httpRequest(`${booted.url}/headers/public`, { tls: tlsClient() });
    expect(response.status).toBe(200);
    expect(response.headers['strict-transport-security']).toBe('max-age=600');
    expect(response.headers['x-frame-options']).toBe('DENY');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['content-security-policy']).toContain("default-src 'self'");
  });

  it('turns HSTS off over TLS when the application says so', async () => {
    booted = await bootHeadersApp(
      adapter,
      issuer,
      { headers: { helmet: { strictTransportSecurity: false } } },
      true,
    );
    const response = await httpRequest(`${booted.url}/headers/public`, { tls: tlsClient() });
    expect(response.status).toBe(200);
    expect(response.headers['strict-transport-security']).toBeUndefined();
    expect(response.headers['x-content-type-options']).toBe('nosniff');
  });
});

describe.each(ADAPTERS)('helmet options on %s over http', (adapter) => {
  let issuer: LocalIssuer;
  let booted: BootedApp | undefined;

  beforeAll(async () => {
    issuer = await createLocalIssuer();
  });

  afterEach(async () => {
    await booted?.close();
    booted = undefined;
  });

  afterAll(async () => {
    await issuer?.close();
  });

  it('never sends HSTS over plain http, even when configured', async () => {
    booted = await bootHeadersApp(adapter, issuer, {
      headers: { helmet: { strictTransportSecurity: { maxAge: 600 } } },
    });
    const response = await httpRequest(`${booted.url}/headers/public`);
    expect(response.status).toBe(200);
    expect(response.headers['strict-transport-security']).toBeUndefined();
    expect(response.headers['x-content-type-options']).toBe('nosniff');
  });

  it('sends no helmet header with headers: false, and still refuses TRACE and overrides', async () => {
    booted = await bootHeadersApp(adapter, issuer, { headers: false });
    const response = await httpRequest(`${booted.url}/headers/public`);
    expect(response.status).toBe(200);
    for (const name of [
      'x-content-type-options',
      'x-frame-options',
      'content-security-policy',
      'cross-origin-opener-policy',
      'referrer-policy',
      'strict-transport-security',
    ]) {
      expect(response.headers[name]).toBeUndefined();
    }
    const trace = await httpRequest(`${booted.url}/headers/public`, { method: 'TRACE' });
    expectProblem(trace, 405, SecureApiErrorCode.METHOD_NOT_ALLOWED);
    const override = await httpRequest(`${booted.url}/headers/public`, {
      headers: { 'x-http-method-override': OVERRIDE_MARKER },
    });
    expectProblem(override, 400, SecureApiErrorCode.METHOD_OVERRIDE);
  });

  it('answers a failing helmet directive with a generic 500 through the filter', async () => {
    booted = await bootHeadersApp(adapter, issuer, {
      headers: {
        helmet: {
          // A per-request directive value with a ";" is refused by helmet at request time.
          contentSecurityPolicy: { directives: { 'script-src': [() => `'self'; ${SECRET}`] } },
        },
      },
    });
    const response = await httpRequest(`${booted.url}/headers/public`);
    expectProblem(response, 500, SecureApiErrorCode.INTERNAL);
    expect(response.text).not.toContain(SECRET);
    expect(response.text).not.toMatch(/\bat .+:\d+:\d+/);
  });

  it('refuses invalid helmet options at boot, naming the path', async () => {
    await expect(
      bootHeadersApp(adapter, issuer, {
        headers: { helmet: { contentSecurityPolicy: { directives: { 'default-src': ['self'] } } } },
      }),
    ).rejects.toMatchObject({
      code: SecureApiErrorCode.INVALID_OPTIONS,
      message: expect.stringContaining('"headers.helmet" is refused by helmet') as unknown,
    });
  });
});
