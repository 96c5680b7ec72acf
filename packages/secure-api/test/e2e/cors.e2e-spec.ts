import { type CorsOptions, SecureApiErrorCode } from '@secure-api/nestjs';
import {
  ADAPTERS,
  type AdapterName,
  bootApp,
  type BootedApp,
  createLocalIssuer,
  httpRequest,
  type HttpResponse,
  type LocalIssuer,
} from '@secure-api/testing';
import { CORS_READ_SCOPE, CorsFixture } from './fixtures/cors-app.fixture.js';

const APP_ORIGIN = 'https://app.example.com';
const DEV_ORIGIN = 'http://localhost:5173';

/** Origins that are not on the allowlist, each a near miss of {@link APP_ORIGIN}. */
const FOREIGN_ORIGINS: readonly (readonly [string, string])[] = [
  ['another site', 'https://evil.test'],
  ['the other scheme', 'http://app.example.com'],
  ['another port', 'https://app.example.com:8443'],
  ['a suffix match', 'https://app.example.com.evil.test'],
  ['a prefix match', 'https://evil-app.example.com'],
  ['a subdomain', 'https://sub.app.example.com'],
  ['upper case', 'https://APP.example.com'],
  ['a trailing slash', 'https://app.example.com/'],
  ['the opaque origin', 'null'],
  ['two origins in one header', `${APP_ORIGIN}, https://evil.test`],
];

function corsHeaderNames(response: HttpResponse): string[] {
  return Object.keys(response.headers).filter((name) => name.startsWith('access-control-'));
}

function varyOf(response: HttpResponse): string[] {
  const vary = response.headers['vary'];
  return (Array.isArray(vary) ? vary.join(',') : (vary ?? ''))
    .split(',')
    .map((field) => field.trim().toLowerCase());
}

function preflight(
  origin: string,
  method = 'PUT',
): { method: string; headers: Record<string, string> } {
  return {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': method,
      'access-control-request-headers': 'authorization, content-type',
    },
  };
}

async function bootCorsApp(
  adapter: AdapterName,
  issuer: LocalIssuer,
  cors?: CorsOptions,
): Promise<BootedApp> {
  return bootApp(
    CorsFixture.with({
      auth: { issuer: issuer.url, audience: issuer.audience, jwksUri: issuer.jwksUri },
      ...(cors === undefined ? {} : { cors }),
    }),
    { adapter },
  );
}

describe.each(ADAPTERS)('CORS on %s', (adapter) => {
  let issuer: LocalIssuer;

  beforeAll(async () => {
    issuer = await createLocalIssuer();
  });

  afterAll(async () => {
    await issuer?.close();
  });

  describe('by default', () => {
    let booted: BootedApp;

    beforeAll(async () => {
      booted = await bootCorsApp(adapter, issuer);
    });

    afterAll(async () => {
      await booted?.close();
    });

    it.each([APP_ORIGIN, 'https://evil.test', 'null'])(
      'sends no Access-Control-* header to a GET from %s',
      async (origin) => {
        const response = await httpRequest(`${booted.url}/cors/public`, { headers: { origin } });
        expect(response.status).toBe(200);
        expect(corsHeaderNames(response)).toEqual([]);
        expect(response.headers['x-content-type-options']).toBe('nosniff');
      },
    );

    it('routes a preflight like any OPTIONS request, without Access-Control-* headers', async () => {
      const response = await httpRequest(`${booted.url}/cors/public`, preflight(APP_ORIGIN));
      expect(response.status).toBe(404);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.json()).toMatchObject({ status: 404, code: SecureApiErrorCode.NOT_FOUND });
      expect(corsHeaderNames(response)).toEqual([]);
    });
  });

  describe('with exact origins, without credentials', () => {
    let booted: BootedApp;

    beforeAll(async () => {
      booted = await bootCorsApp(adapter, issuer, {
        origins: [APP_ORIGIN, DEV_ORIGIN],
        exposedHeaders: ['x-request-id'],
      });
    });

    afterAll(async () => {
      await booted?.close();
    });

    it.each([APP_ORIGIN, DEV_ORIGIN])(
      'allows exactly %s, varies by Origin, sends no credentials header',
      async (origin) => {
        const response = await httpRequest(`${booted.url}/cors/public`, { headers: { origin } });
        expect(response.status).toBe(200);
        expect(response.headers['access-control-allow-origin']).toBe(origin);
        expect(response.headers['access-control-expose-headers']).toBe('x-request-id');
        expect(response.headers['access-control-allow-credentials']).toBeUndefined();
        expect(varyOf(response)).toContain('origin');
        // CORS and helmet headers coexist.
        expect(response.headers['x-content-type-options']).toBe('nosniff');
        expect(response.headers['cross-origin-resource-policy']).toBe('same-origin');
      },
    );

    it.each(FOREIGN_ORIGINS)(
      'never allows %s (%s), and still varies by Origin',
      async (_name, origin) => {
        const response = await httpRequest(`${booted.url}/cors/public`, { headers: { origin } });
        expect(response.status).toBe(200);
        expect(corsHeaderNames(response)).toEqual([]);
        expect(varyOf(response)).toContain('origin');
      },
    );

    it('varies by Origin on a same-origin request without an Origin header', async () => {
      const response = await httpRequest(`${booted.url}/cors/public`);
      expect(response.status).toBe(200);
      expect(corsHeaderNames(response)).toEqual([]);
      expect(varyOf(response)).toContain('origin');
    });

    it.each([
      ['a 401', '/cors/private', 401, SecureApiErrorCode.TOKEN_MISSING],
      ['a 404', '/no/such/route', 404, SecureApiErrorCode.NOT_FOUND],
    ])('lets the allowed origin read %s problem', async (_name, path, status, code) => {
      const response = await httpRequest(`${booted.url}${path}`, {
        headers: { origin: APP_ORIGIN },
      });
      expect(response.status).toBe(status);
      expect(response.json()).toMatchObject({ status, code });
      expect(response.headers['access-control-allow-origin']).toBe(APP_ORIGIN);
      expect(response.headers['x-content-type-options']).toBe('nosniff');
    });

    it.each([
      ['a public route', '/cors/public'],
      ['a protected route, without a token', '/cors/private'],
      ['an unknown route', '/no/such/route'],
    ])('answers a preflight from the allowed origin to %s with 204', async (_name, path) => {
      const response = await httpRequest(`${booted.url}${path}`, preflight(APP_ORIGIN));
      expect(response.status).toBe(204);
      expect(response.text).toBe('');
      expect(response.headers['access-control-allow-origin']).toBe(APP_ORIGIN);
      expect(response.headers['access-control-allow-methods']).toBe(
        'GET,HEAD,POST,PUT,PATCH,DELETE',
      );
      // The configured list, never the reflected Access-Control-Request-Headers.
      expect(response.headers['access-control-allow-headers']).toBe('authorization,content-type');
      expect(response.headers['access-control-max-age']).toBe('600');
      expect(response.headers['access-control-allow-credentials']).toBeUndefined();
      expect(varyOf(response)).toContain('origin');
      expect(response.headers['x-content-type-options']).toBe('nosniff');
    });

    it('routes an OPTIONS request without Access-Control-Request-Method: it is no preflight', async () => {
      const response = await httpRequest(`${booted.url}/cors/private`, {
        method: 'OPTIONS',
        headers: { origin: APP_ORIGIN },
      });
      expect(response.status).toBe(404);
      expect(response.json()).toMatchObject({ status: 404, code: SecureApiErrorCode.NOT_FOUND });
      // Still readable by the allowed origin, like any other response.
      expect(response.headers['access-control-allow-origin']).toBe(APP_ORIGIN);
    });

    it('never reflects the requested headers in a preflight answer', async () => {
      const response = await httpRequest(`${booted.url}/cors/public`, {
        method: 'OPTIONS',
        headers: {
          origin: APP_ORIGIN,
          'access-control-request-method': 'GET',
          'access-control-request-headers': 'x-evil-header',
        },
      });
      expect(response.status).toBe(204);
      expect(response.headers['access-control-allow-headers']).toBe('authorization,content-type');
    });

    it.each(FOREIGN_ORIGINS)(
      'routes a preflight from %s (%s) on: 404 problem+json, no Access-Control-* header',
      async (_name, origin) => {
        const response = await httpRequest(`${booted.url}/cors/private`, preflight(origin));
        expect(response.status).toBe(404);
        expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(response.json()).toMatchObject({ status: 404, code: SecureApiErrorCode.NOT_FOUND });
        expect(corsHeaderNames(response)).toEqual([]);
        expect(varyOf(response)).toContain('origin');
        expect(response.headers['x-content-type-options']).toBe('nosniff');
      },
    );
  });

  describe('with credentials', () => {
    let booted: BootedApp;

    beforeAll(async () => {
      booted = await bootCorsApp(adapter, issuer, {
        origins: [APP_ORIGIN],
        credentials: true,
        methods: ['GET', 'POST'],
        allowedHeaders: ['authorization', 'content-type', 'x-csrf-token'],
        maxAgeSeconds: 120,
      });
    });

    afterAll(async () => {
      await booted?.close();
    });

    it('allows the origin with credentials on an authenticated 200', async () => {
      const response = await httpRequest(`${booted.url}/cors/private`, {
        headers: {
          origin: APP_ORIGIN,
          authorization: `Bearer ${issuer.mint({ scope: CORS_READ_SCOPE })}`,
        },
      });
      expect(response.status).toBe(200);
      expect(response.headers['access-control-allow-origin']).toBe(APP_ORIGIN);
      expect(response.headers['access-control-allow-credentials']).toBe('true');
      expect(response.headers['cache-control']).toBe('no-store');
      expect(varyOf(response)).toContain('origin');
    });

    it('answers the preflight with the configured methods, headers and max-age', async () => {
      const response = await httpRequest(
        `${booted.url}/cors/private`,
        preflight(APP_ORIGIN, 'POST'),
      );
      expect(response.status).toBe(204);
      expect(response.headers['access-control-allow-origin']).toBe(APP_ORIGIN);
      expect(response.headers['access-control-allow-credentials']).toBe('true');
      expect(response.headers['access-control-allow-methods']).toBe('GET,POST');
      expect(response.headers['access-control-allow-headers']).toBe(
        'authorization,content-type,x-csrf-token',
      );
      expect(response.headers['access-control-max-age']).toBe('120');
    });

    it.each(FOREIGN_ORIGINS)(
      'never answers %s (%s) with "*", its own origin or credentials',
      async (_name, origin) => {
        for (const options of [{ headers: { origin } }, preflight(origin)]) {
          const response = await httpRequest(`${booted.url}/cors/public`, options);
          expect(corsHeaderNames(response)).toEqual([]);
          expect(JSON.stringify(response.headers)).not.toContain('"*"');
        }
      },
    );
  });

  describe("with origins: ['*']", () => {
    let booted: BootedApp;

    beforeAll(async () => {
      booted = await bootCorsApp(adapter, issuer, { origins: ['*'] });
    });

    afterAll(async () => {
      await booted?.close();
    });

    it.each([APP_ORIGIN, 'https://evil.test', 'null'])(
      'answers %s with "*", never its own origin, never credentials',
      async (origin) => {
        const response = await httpRequest(`${booted.url}/cors/public`, { headers: { origin } });
        expect(response.status).toBe(200);
        expect(response.headers['access-control-allow-origin']).toBe('*');
        expect(response.headers['access-control-allow-credentials']).toBeUndefined();
      },
    );

    it('answers a preflight with 204 and "*"', async () => {
      const response = await httpRequest(
        `${booted.url}/cors/private`,
        preflight('https://evil.test'),
      );
      expect(response.status).toBe(204);
      expect(response.headers['access-control-allow-origin']).toBe('*');
      expect(response.headers['access-control-allow-credentials']).toBeUndefined();
    });
  });

  it('refuses a credentialed wildcard at boot, naming the path', async () => {
    await expect(
      bootCorsApp(adapter, issuer, { origins: ['*'], credentials: true }),
    ).rejects.toMatchObject({
      code: SecureApiErrorCode.INVALID_OPTIONS,
      message: expect.stringContaining(
        '"cors.origins[0]" is \'*\' while cors.credentials is true',
      ) as unknown,
    });
  });
});
