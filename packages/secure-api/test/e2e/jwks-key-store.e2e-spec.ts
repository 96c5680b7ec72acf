import {
  JwksKeyStore,
  SecureApiError,
  SecureApiErrorCode,
  type SecureApiModuleOptions,
} from '@secure-api/nestjs';
import {
  fakeDateOnly,
  ADAPTERS,
  type BootedApp,
  bootApp,
  createLocalIssuer,
  createLogCapture,
  httpRequest,
  type HttpResponse,
  type IssuerKey,
  type LocalIssuer,
  type LogCapture,
} from '@secure-api/testing';
import { JWKS_READ_SCOPE, JwksAppFixture } from './fixtures/jwks-app.fixture.js';
import {
  closedLoopbackPort,
  type MetadataServer,
  startMetadataServer,
} from './fixtures/jwks-loopback.fixture.js';

// Only Date is faked: the key store's cache age and refetch cooldown read Date.now(), while
const T0 = Date.UTC(2030, 0, 1);
const DEFAULT_COOLDOWN_MS = 30_000;
const DEFAULT_MAX_AGE_MS = 600_000;
const STACK_FRAME = /\bat .+:\d+:\d+/;

function bearer(token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` };
}

/** The problem+json contract every refusal keeps: status, media type, code, nothing leaked. */
function expectProblem(
  res: HttpResponse,
  status: number,
  code: string,
  token: string | undefined,
): void {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json\b/);
  expect(res.json<{ code: string; status: number }>()).toMatchObject({ code, status });
  if (token !== undefined) expect(res.text).not.toContain(token);
  expect(res.text).not.toMatch(STACK_FRAME);
  expect(res.text).not.toContain('"stack"');
}

function expectInvalidToken(res: HttpResponse, token: string): void {
  expectProblem(res, 401, SecureApiErrorCode.TOKEN_INVALID, token);
  expect(res.headers['www-authenticate']).toBe(
    'Bearer realm="secure-api", error="invalid_token", error_description="The access token is invalid"',
  );
}

function rejections(capture: LogCapture, reason: string): number {
  return capture
    .find(`Bearer authentication failed: ${reason}`)
    .filter((entry) => entry.level === 'warn').length;
}

function fetchFailures(capture: LogCapture): string[] {
  return capture
    .find('JWKS fetch failed')
    .filter((entry) => entry.level === 'warn')
    .map((entry) => entry.message);
}

describe.each(ADAPTERS)('JWKS key store on %s', (adapter) => {
  let issuer: LocalIssuer;
  let booted: BootedApp | undefined;
  let capture: LogCapture;

  const options = (
    overrides: Partial<SecureApiModuleOptions['auth']> = {},
  ): SecureApiModuleOptions => ({
    auth: {
      issuer: issuer.url,
      audience: issuer.audience,
      jwksUri: issuer.jwksUri,
      ...overrides,
    },
  });

  const boot = async (moduleOptions: SecureApiModuleOptions = options()): Promise<BootedApp> => {
    booted = await bootApp(JwksAppFixture.with(moduleOptions), { adapter, logger: capture });
    return booted;
  };

  const getReports = (token: string): Promise<HttpResponse> => {
    if (booted === undefined) throw new Error('boot() first');
    return httpRequest(`${booted.url}/reports`, { headers: bearer(token) });
  };

  /** A token signed with a real, published key but naming a `kid` the issuer never published. */
  const unknownKidToken = (kid: string): string =>
    issuer.mint({ scope: JWKS_READ_SCOPE, header: { kid } });

  beforeEach(async () => {
    capture = createLogCapture();
    issuer = await createLocalIssuer();
  });

  afterEach(async () => {
    jest.useRealTimers();
    await booted?.close();
    booted = undefined;
    await issuer.close();
  });

  describe('fetching the key set', () => {
    it('fetches the configured jwksUri once at bootstrap, before any request', async () => {
      const fetchSpy = jest.spyOn(globalThis, 'fetch');
      const { app } = await boot();

      expect(fetchSpy).toHaveBeenCalledTimes(1);
      expect(fetchSpy).toHaveBeenCalledWith(
        issuer.jwksUri,
        expect.objectContaining({ method: 'GET' }),
      );

      expect(issuer.jwksRequests).toBe(1);
      expect(issuer.discoveryRequests).toBe(0);
      const status = app.get(JwksKeyStore).status();
      expect(status.ready).toBe(true);
      expect(status.sources).toEqual([
        expect.objectContaining({
          jwksUri: issuer.jwksUri,
          keyCount: issuer.publishedKeys.length,
          lastError: undefined,
        }),
      ]);

      const token = issuer.mint({ scope: JWKS_READ_SCOPE });
      const res = await getReports(token);
      expect(res.status).toBe(200);
      expect(res.json()).toEqual({ subject: 'user-123' });
      expect(issuer.jwksRequests).toBe(1);
      expect(capture.text()).not.toContain(token);
    });

    it('discovers jwks_uri from the issuer metadata when no jwksUri is configured', async () => {
      const { app } = await boot(options({ jwksUri: undefined }));

      expect(issuer.discoveryRequests).toBeGreaterThanOrEqual(1);
      expect(issuer.jwksRequests).toBe(1);
      expect(app.get(JwksKeyStore).status().sources).toEqual([
        expect.objectContaining({ issuer: issuer.url, jwksUri: issuer.jwksUri }),
      ]);
      const res = await getReports(issuer.mint({ scope: JWKS_READ_SCOPE }));
      expect(res.status).toBe(200);
    });

    describe('with a discovery document that names another issuer', () => {
      let metadata: MetadataServer;

      beforeEach(async () => {
        metadata = await startMetadataServer(() => ({
          issuer: 'https://someone-else.test',
          jwks_uri: issuer.jwksUri,
        }));
      });

      afterEach(async () => {
        await metadata.close();
      });

      it('loads no keys from it and refuses tokens', async () => {
        const { app } = await boot({ auth: { issuer: metadata.url, audience: issuer.audience } });

        expect(metadata.requests).toBeGreaterThanOrEqual(1);
        // OIDC Discovery §4.3: the jwks_uri of a document for another issuer is never fetched.
        expect(issuer.jwksRequests).toBe(0);
        const status = app.get(JwksKeyStore).status();
        expect(status.ready).toBe(false);
        expect(status.sources[0]?.keyCount).toBe(0);
        expect(status.sources[0]?.lastError).toContain('names another issuer');

        const token = issuer.mint({ scope: JWKS_READ_SCOPE, claims: { iss: metadata.url } });
        const res = await getReports(token);
        expectProblem(res, 503, SecureApiErrorCode.JWKS_UNAVAILABLE, token);
        expect(issuer.jwksRequests).toBe(0);
      });
    });
  });

  describe('key rotation', () => {
    it('accepts a token signed with a key rotated in right after boot, after one refetch', async () => {
      await boot();
      expect(issuer.jwksRequests).toBe(1);

      const rotated = issuer.rotate('RS256');
      const token = issuer.mint({ key: rotated, scope: JWKS_READ_SCOPE });
      const res = await getReports(token);

      expect(res.status).toBe(200);
      expect(issuer.jwksRequests).toBe(2);
      const again = await getReports(issuer.mint({ key: rotated, scope: JWKS_READ_SCOPE }));
      expect(again.status).toBe(200);
      expect(issuer.jwksRequests).toBe(2);
    });
  });

  describe('unknown kid flood', () => {
    it('answers 100 concurrent unknown kids with 401 key_not_found for one refetch, then honours the cooldown', async () => {
      jest.useFakeTimers(fakeDateOnly());
      jest.setSystemTime(T0);
      await boot();
      expect(issuer.jwksRequests).toBe(1);

      const tokens = Array.from({ length: 100 }, (_, n) => unknownKidToken(`nope-${n}`));
      const responses = await Promise.all(tokens.map((token) => getReports(token)));

      responses.forEach((res, n) => expectInvalidToken(res, tokens[n] as string));
      expect(rejections(capture, 'key_not_found')).toBe(100);
      expect(issuer.jwksRequests).toBe(2);

      jest.setSystemTime(T0 + DEFAULT_COOLDOWN_MS - 1000);
      for (const kid of ['nope-a', 'nope-b', 'nope-c']) {
        const token = unknownKidToken(kid);
        expectInvalidToken(await getReports(token), token);
      }
      expect(issuer.jwksRequests).toBe(2);

      jest.setSystemTime(T0 + DEFAULT_COOLDOWN_MS + 1000);
      expect((await getReports(unknownKidToken('nope-after'))).status).toBe(401);
      expect(issuer.jwksRequests).toBe(3);
      expect((await getReports(unknownKidToken('nope-after-2'))).status).toBe(401);
      expect(issuer.jwksRequests).toBe(3);
      for (const token of tokens) expect(capture.text()).not.toContain(token);
    });
  });

  describe('JWKS down after warm-up', () => {
    it.each([
      ['error', 'answered 503'],
      ['garbage', 'did not return JSON'],
      ['empty', 'holds no usable signing key'],
    ] as const)('keeps serving the cached keys while the JWKS answers %s', async (mode, why) => {
      jest.useFakeTimers(fakeDateOnly());
      jest.setSystemTime(T0);
      const { app } = await boot();
      const store = app.get(JwksKeyStore);

      issuer.setJwksBehaviour(mode);
      const miss = unknownKidToken('rotated-in-maybe');
      expectInvalidToken(await getReports(miss), miss);

      expect(issuer.jwksRequests).toBe(2);
      const failures = fetchFailures(capture);
      expect(failures).toHaveLength(1);
      expect(failures[0]).toContain(why);
      expect(failures[0]).toContain(`keeping ${issuer.publishedKeys.length} cached key(s)`);
      const status = store.status();
      expect(status.ready).toBe(true);
      expect(status.sources[0]?.keyCount).toBe(issuer.publishedKeys.length);
      expect(status.sources[0]?.lastError).toContain(why);

      const token = issuer.mint({ scope: JWKS_READ_SCOPE });
      expect((await getReports(token)).status).toBe(200);
      expect(capture.text()).not.toContain(token);
    });

    it('survives error, then garbage, then empty in a row, and recovers', async () => {
      jest.useFakeTimers(fakeDateOnly());
      jest.setSystemTime(T0);
      const { app } = await boot();
      const store = app.get(JwksKeyStore);

      const modes = ['error', 'garbage', 'empty'] as const;
      for (const [index, mode] of modes.entries()) {
        issuer.setJwksBehaviour(mode);
        // Past the refetch cooldown, so each unknown kid makes the store try again.
        jest.setSystemTime(T0 + (index + 1) * (DEFAULT_COOLDOWN_MS + 1000));
        expect((await getReports(unknownKidToken(`miss-${mode}`))).status).toBe(401);
        expect(issuer.jwksRequests).toBe(index + 2);
        expect(fetchFailures(capture)).toHaveLength(index + 1);
        expect((await getReports(issuer.mint({ scope: JWKS_READ_SCOPE }))).status).toBe(200);
      }

      issuer.setJwksBehaviour('ok');
      jest.setSystemTime(T0 + (modes.length + 1) * (DEFAULT_COOLDOWN_MS + 1000));
      expect((await getReports(unknownKidToken('miss-ok'))).status).toBe(401);
      expect(issuer.jwksRequests).toBe(modes.length + 2);
      expect(store.status().sources[0]?.lastError).toBeUndefined();
      expect(fetchFailures(capture)).toHaveLength(modes.length);
    });

    it('keeps the cached keys when a refetch hangs past auth.jwks.fetchTimeoutSeconds', async () => {
      // A real one-second timeout, not a sleep: the refetch is aborted by AbortSignal.timeout().
      const { app } = await boot(options({ jwks: { fetchTimeoutSeconds: 1 } }));
      const store = app.get(JwksKeyStore);

      issuer.setJwksBehaviour('hang');
      const miss = unknownKidToken('rotated-in-maybe');
      const missed = getReports(miss);
      const cached = await getReports(issuer.mint({ scope: JWKS_READ_SCOPE }));
      expect(cached.status).toBe(200);

      expectInvalidToken(await missed, miss);
      expect(issuer.jwksRequests).toBe(2);
      expect(fetchFailures(capture)).toHaveLength(1);
      const status = store.status();
      expect(status.ready).toBe(true);
      expect(status.sources[0]?.keyCount).toBe(issuer.publishedKeys.length);
      expect(status.sources[0]?.lastError).toMatch(/timeout|abort/i);
      expect((await getReports(issuer.mint({ scope: JWKS_READ_SCOPE }))).status).toBe(200);
    });
  });

  describe('boot with an unreachable JWKS', () => {
    let jwksUri: string;

    beforeEach(async () => {
      jwksUri = `http://127.0.0.1:${await closedLoopbackPort()}/jwks`;
    });

    it('still boots, reports not ready, and answers 503 with Retry-After', async () => {
      const { app } = await boot(options({ jwksUri }));

      const status = app.get(JwksKeyStore).status();
      expect(status.ready).toBe(false);
      expect(status.sources).toEqual([
        expect.objectContaining({ jwksUri, keyCount: 0, fetchedAt: undefined }),
      ]);
      expect(status.sources[0]?.lastError).toEqual(expect.any(String));
      expect(fetchFailures(capture)).toHaveLength(1);

      const token = issuer.mint({ scope: JWKS_READ_SCOPE });
      const res = await getReports(token);
      expectProblem(res, 503, SecureApiErrorCode.JWKS_UNAVAILABLE, token);
      expect(res.headers['retry-after']).toMatch(/^[1-9]\d*$/);
      expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(DEFAULT_COOLDOWN_MS / 1000);
      expect(res.headers['www-authenticate']).toBeUndefined();
      expect(rejections(capture, 'keys_unavailable')).toBe(1);

      const malformed = 'not-a.jwt';
      const refused = await getReports(malformed);
      expectInvalidToken(refused, malformed);
      expect(rejections(capture, 'malformed')).toBe(1);
      expect(capture.text()).not.toContain(token);
    });
  });

  describe('cache max age', () => {
    it('refreshes a key set older than cacheMaxAgeSeconds in the background while answering from it', async () => {
      jest.useFakeTimers(fakeDateOnly());
      jest.setSystemTime(T0);
      const { app } = await boot();
      const store = app.get(JwksKeyStore);
      // The refreshed set differs from the cached one, so the store announces when it lands.
      const rotated = issuer.rotate('RS256');
      const refreshed = new Promise<void>((resolve) => store.onKeysChanged(resolve));

      jest.setSystemTime(T0 + DEFAULT_MAX_AGE_MS - 1000);
      expect(
        (await getReports(issuer.mint({ key: issuer.key('ES256'), scope: JWKS_READ_SCOPE })))
          .status,
      ).toBe(200);
      expect(issuer.jwksRequests).toBe(1);

      jest.setSystemTime(T0 + DEFAULT_MAX_AGE_MS + 1000);
      const res = await getReports(
        issuer.mint({ key: issuer.key('ES256'), scope: JWKS_READ_SCOPE }),
      );
      expect(res.status).toBe(200);
      await refreshed;
      expect(issuer.jwksRequests).toBe(2);
      expect(store.status().sources[0]?.fetchedAt).toBe(T0 + DEFAULT_MAX_AGE_MS + 1000);

      // The rotated-in key came with the background refresh: no refetch for its kid.
      expect((await getReports(issuer.mint({ key: rotated, scope: JWKS_READ_SCOPE }))).status).toBe(
        200,
      );
      expect(issuer.jwksRequests).toBe(2);
    });

    it('retries a stale key set at most once per cooldown while the issuer is down', async () => {
      jest.useFakeTimers(fakeDateOnly());
      jest.setSystemTime(T0);
      const { app } = await boot();
      const store = app.get(JwksKeyStore);
      issuer.setJwksBehaviour('error');
      // A new token each time, so that every request reaches the key store, not the token cache.
      const freshToken = (): string =>
        issuer.mint({ key: issuer.key('ES256'), scope: JWKS_READ_SCOPE });

      jest.setSystemTime(T0 + DEFAULT_MAX_AGE_MS + 1000);
      for (let i = 0; i < 5; i += 1) {
        expect((await getReports(freshToken())).status).toBe(200);
        await store.settled();
      }
      expect(issuer.jwksRequests).toBe(2);
      expect(store.status().sources[0]?.lastError).toMatch(/answered 503/);

      // One cooldown later the stale set is tried again, once.
      jest.setSystemTime(T0 + DEFAULT_MAX_AGE_MS + 1000 + DEFAULT_COOLDOWN_MS);
      for (let i = 0; i < 3; i += 1) {
        expect((await getReports(freshToken())).status).toBe(200);
        await store.settled();
      }
      expect(issuer.jwksRequests).toBe(3);
    });
  });

  describe('keys with bad properties', () => {
    const cases: ReadonlyArray<{
      name: string;
      reason: string;
      publish: (issuer: LocalIssuer) => IssuerKey;
    }> = [
      {
        name: 'an encryption key (use: "enc")',
        reason: 'use is not "sig"',
        publish: (iss) => {
          const key = iss.createKey('RS256', { kid: 'enc-key' });
          iss.publishRawJwk({ ...key.publicJwk, use: 'enc' });
          return key;
        },
      },
      {
        name: 'a symmetric key (kty "oct")',
        reason: 'kty "oct" is not accepted',
        publish: (iss) => {
          const key = iss.createKey('RS256', { kid: 'oct-key' });
          iss.publishRawJwk({
            kty: 'oct',
            kid: 'oct-key',
            k: 'c2VjcmV0LXNoYXJlZC13aXRoLWV2ZXJ5b25l',
          });
          return key;
        },
      },
      {
        name: 'a 1024-bit RSA key',
        reason: 'RSA key of 1024 bits is too small',
        publish: (iss) =>
          iss.createKey('RS256', { kid: 'small-key', modulusLength: 1024, publish: true }),
      },
    ];

    it.each(cases)('ignores $name with a warning', async ({ reason, publish }) => {
      const bad = publish(issuer);
      const { app } = await boot();

      const ignored = capture.find(reason).filter((entry) => entry.level === 'warn');
      expect(ignored).toHaveLength(1);
      expect(ignored[0]?.message).toContain(`JWKS ${issuer.jwksUri}: key `);
      const status = app.get(JwksKeyStore).status();
      expect(status.ready).toBe(true);
      // The issuer's RS256, PS256 and ES256 keys are the usable ones.
      expect(status.sources[0]?.keyCount).toBe(3);

      const token = issuer.mint({ key: bad, scope: JWKS_READ_SCOPE });
      expectInvalidToken(await getReports(token), token);
      expect(rejections(capture, 'key_not_found')).toBe(1);
      expect((await getReports(issuer.mint({ scope: JWKS_READ_SCOPE }))).status).toBe(200);
      expect(capture.text()).not.toContain(token);
    });

    it('refuses a PS256 token verified against a JWK that says alg RS256 (key_alg_mismatch)', async () => {
      await boot();
      const rsa = issuer.key('RS256');
      expect(rsa.publicJwk).toMatchObject({ alg: 'RS256' });

      const token = issuer.mint({ alg: 'PS256', key: rsa, scope: JWKS_READ_SCOPE });
      expectInvalidToken(await getReports(token), token);
      expect(rejections(capture, 'key_alg_mismatch')).toBe(1);
      // A definite no: the key exists, so nothing is refetched for it.
      expect(issuer.jwksRequests).toBe(1);
      expect(capture.text()).not.toContain(token);
    });
  });

  describe('key-set URL validation', () => {
    it.each([
      ['auth.jwksUri', { jwksUri: 'http://example.com/jwks' }],
      ['auth.issuer', { issuer: 'http://example.com', jwksUri: undefined }],
    ] as const)(
      'refuses a plain-http non-loopback %s at boot without sending a request',
      async (path, auth) => {
        const fetchSpy = jest.spyOn(globalThis, 'fetch');
        expect.assertions(4);
        try {
          await boot(options(auth));
        } catch (error) {
          expect(error).toBeInstanceOf(SecureApiError);
          expect(error).toMatchObject({ code: SecureApiErrorCode.INVALID_OPTIONS });
          expect((error as Error).message).toContain(
            `"${path}" must use https: (got http://example.com)`,
          );
        }
        expect(fetchSpy).not.toHaveBeenCalled();
      },
    );
  });
});
