import { type DynamicModule } from '@nestjs/common';
import {
  type ResolvedSecureApiOptions,
  SECURE_API_OPTIONS,
  SecureApiError,
  SecureApiErrorCode,
  type SecureApiModuleOptions,
} from '@secure-api/nestjs';
import {
  ADAPTERS,
  type BootedApp,
  bootApp,
  createLocalIssuer,
  createLogCapture,
  httpRequest,
  type LocalIssuer,
} from '@secure-api/testing';
import {
  OPTIONS_READ_SCOPE,
  OptionsAsyncFixture,
  type OptionsAuthConfig,
  OptionsSyncFixture,
} from './fixtures/options-app.fixture.js';

let issuer: LocalIssuer;

beforeAll(async () => {
  issuer = await createLocalIssuer();
});

afterAll(async () => {
  await issuer.close();
});

const config = (): OptionsAuthConfig => ({
  issuer: issuer.url,
  audience: issuer.audience,
  jwksUri: issuer.jwksUri,
});

describe.each(ADAPTERS)('SecureApiModule.forRootAsync on %s', (adapter) => {
  let booted: BootedApp | undefined;

  afterEach(async () => {
    await booted?.close();
    booted = undefined;
  });

  it('takes its options from a factory that injects a config provider', async () => {
    const capture = createLogCapture();
    booted = await bootApp(OptionsAsyncFixture.with(config()), { adapter, logger: capture });

    const resolved = booted.app.get<symbol, ResolvedSecureApiOptions>(SECURE_API_OPTIONS);
    expect(resolved.auth.issuers).toEqual([issuer.url]);
    expect(resolved.auth.audiences).toEqual([issuer.audience]);
    expect(resolved.auth.jwksUri).toBe(issuer.jwksUri);
    expect(Object.isFrozen(resolved)).toBe(true);

    const token = issuer.mint({ scope: OPTIONS_READ_SCOPE });
    const ok = await httpRequest(`${booted.url}/settings`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(ok.status).toBe(200);
    expect(ok.json()).toEqual({ subject: 'user-123' });

    const anonymous = await httpRequest(`${booted.url}/settings`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['content-type']).toMatch(/^application\/problem\+json\b/);
    expect(anonymous.json()).toMatchObject({ status: 401, code: SecureApiErrorCode.TOKEN_MISSING });
    expect(anonymous.headers['www-authenticate']).toBe('Bearer realm="secure-api"');
    expect(anonymous.text).not.toMatch(/\bat .+:\d+:\d+/);
    expect(capture.text()).not.toContain(token);
  });
});

describe('invalid module options', () => {
  let booted: BootedApp | undefined;

  beforeEach(() => {
    issuer.resetCounts();
  });

  afterEach(async () => {
    await booted?.close();
    booted = undefined;
  });

  /** The error the boot fails with (bootstrap does not depend on the HTTP platform). */
  const bootFailure = async (module: DynamicModule): Promise<unknown> =>
    bootApp(module, { adapter: 'express' }).then(
      (app) => {
        booted = app;
        return new Error('expected the boot to fail');
      },
      (error: unknown) => error,
    );

  type Auth = Record<string, unknown>;
  const withAuth = (auth: Auth): SecureApiModuleOptions => ({ auth: { ...config(), ...auth } });
  const withoutJwksUri = (auth: Auth): SecureApiModuleOptions => ({
    auth: { ...config(), jwksUri: undefined, ...auth },
  });

  const cases: ReadonlyArray<{
    readonly name: string;
    readonly options: () => SecureApiModuleOptions;
    readonly message: string;
  }> = [
    {
      name: 'missing auth',
      options: () => ({}) as SecureApiModuleOptions,
      message: '"auth" is required',
    },
    {
      name: "auth.audience ''",
      options: () => withAuth({ audience: '' }),
      message: '"auth.audience" must be a non-empty string or array',
    },
    {
      name: 'auth.audience []',
      options: () => withAuth({ audience: [] }),
      message: '"auth.audience" must be a non-empty string or array',
    },
    {
      name: "auth.audience ['']",
      options: () => withAuth({ audience: [''] }),
      message: '"auth.audience" must be a non-empty string or array',
    },
    {
      name: "auth.algorithms ['none']",
      options: () => withAuth({ algorithms: ['none'] }),
      message: '"auth.algorithms[0]" is "none"',
    },
    {
      name: "auth.algorithms ['HS256']",
      options: () => withAuth({ algorithms: ['HS256'] }),
      message: '"auth.algorithms[0]" is "HS256": HMAC algorithms are refused',
    },
    {
      name: "auth.algorithms ['hs512']",
      options: () => withAuth({ algorithms: ['hs512'] }),
      message: '"auth.algorithms[0]" is "hs512": HMAC algorithms are refused',
    },
    {
      name: "auth.algorithms ['RS999']",
      options: () => withAuth({ algorithms: ['RS999'] }),
      message: '"auth.algorithms[0]" must be one of RS256,',
    },
    {
      name: 'auth.clockToleranceSeconds 301',
      options: () => withAuth({ clockToleranceSeconds: 301 }),
      message: '"auth.clockToleranceSeconds" must be an integer from 0 to 300',
    },
    {
      name: 'auth.clockToleranceSeconds -1',
      options: () => withAuth({ clockToleranceSeconds: -1 }),
      message: '"auth.clockToleranceSeconds" must be an integer from 0 to 300',
    },
    {
      name: "routeAudit 'maybe'",
      options: () =>
        ({ ...withAuth({}), routeAudit: 'maybe' }) as unknown as SecureApiModuleOptions,
      message: `"routeAudit" must be 'error', 'warn' or 'off'`,
    },
    {
      name: 'an issuer that is not a URL, without jwksUri',
      options: () => withoutJwksUri({ issuer: 'id.example' }),
      message: '"auth.issuer" must be an absolute URL when auth.jwksUri is not set',
    },
    {
      name: 'auth.realm with a quote',
      options: () => withAuth({ realm: 'secure"api' }),
      message: '"auth.realm" must be 1 to 128 printable ASCII characters without quotes',
    },
  ];

  it.each(cases)('refuses $name at boot', async ({ options, message }) => {
    const error = await bootFailure(OptionsSyncFixture.with(options()));

    expect(error).toBeInstanceOf(SecureApiError);
    expect(error).toMatchObject({ code: SecureApiErrorCode.INVALID_OPTIONS });
    expect((error as Error).message).toContain(`SecureApiModule: ${message}`);
    expect(issuer.jwksRequests + issuer.discoveryRequests).toBe(0);
  });

  it('validates options from forRootAsync() the same way', async () => {
    const error = await bootFailure(
      OptionsAsyncFixture.with(config(), (auth) => ({
        auth: { issuer: auth.issuer, audience: [''], jwksUri: auth.jwksUri },
      })),
    );

    expect(error).toBeInstanceOf(SecureApiError);
    expect(error).toMatchObject({ code: SecureApiErrorCode.INVALID_OPTIONS });
    expect((error as Error).message).toContain(
      '"auth.audience" must be a non-empty string or array',
    );
  });
});
