import {
  JwksKeyStore,
  SecureApiErrorCode,
  type SecureApiModuleOptions,
  VerifiedTokenCache,
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
  type LocalIssuer,
  type LogCapture,
} from '@secure-api/testing';
import { CACHE_READ_SCOPE, CacheAppFixture } from './fixtures/cache-app.fixture.js';

const T0 = Date.UTC(2030, 0, 1);
const SECOND = 1000;
const REFETCH_COOLDOWN_MS = 30 * SECOND;
const MAX_TTL_MS = 60 * SECOND;

interface Booted {
  readonly booted: BootedApp;
  readonly cache: VerifiedTokenCache;
  /** Every key lookup the verifier makes; a cache hit makes none. */
  readonly getKey: jest.SpiedFunction<JwksKeyStore['getKey']>;
}

function expectRefused(
  res: HttpResponse,
  token: string,
  code: string,
  description: 'The access token is invalid' | 'The access token expired',
): void {
  expect(res.status).toBe(401);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json\b/);
  expect(res.json()).toMatchObject({ status: 401, code });
  expect(res.headers['www-authenticate']).toBe(
    `Bearer realm="secure-api", error="invalid_token", error_description="${description}"`,
  );
  expect(res.text).not.toContain(token);
  expect(res.text).not.toMatch(/\bat .+:\d+:\d+/);
}

function rejections(capture: LogCapture, reason: string): number {
  return capture
    .find(`Bearer authentication failed: ${reason}`)
    .filter((entry) => entry.level === 'warn').length;
}

describe.each(ADAPTERS)('verified-token cache on %s', (adapter) => {
  let issuer: LocalIssuer;
  let booted: BootedApp | undefined;
  let capture: LogCapture;

  const boot = async (auth: Partial<SecureApiModuleOptions['auth']> = {}): Promise<Booted> => {
    booted = await bootApp(
      CacheAppFixture.with({
        auth: { issuer: issuer.url, audience: issuer.audience, jwksUri: issuer.jwksUri, ...auth },
      }),
      { adapter, logger: capture },
    );
    const getKey = jest.spyOn(booted.app.get(JwksKeyStore), 'getKey');
    return { booted, cache: booted.app.get(VerifiedTokenCache), getKey };
  };

  const getNotes = (token: string): Promise<HttpResponse> => {
    if (booted === undefined) throw new Error('boot() first');
    return httpRequest(`${booted.url}/notes`, { headers: { authorization: `Bearer ${token}` } });
  };

  const mint = (options: { expiresInSeconds?: number } = {}): string =>
    issuer.mint({ scope: CACHE_READ_SCOPE, ...options });

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

  it('serves a repeated token from the cache until the key set changes, then refuses it', async () => {
    jest.useFakeTimers(fakeDateOnly());
    jest.setSystemTime(T0);
    const { cache, getKey } = await boot();
    expect(cache.enabled).toBe(true);
    const original = issuer.key('RS256');
    const token = mint();

    const first = await getNotes(token);
    expect(first.status).toBe(200);
    expect(cache.size).toBe(1);
    expect(getKey).toHaveBeenCalledTimes(1);

    const second = await getNotes(token);
    expect(second.status).toBe(200);
    expect(second.json()).toEqual(first.json());
    expect(getKey).toHaveBeenCalledTimes(1);

    // The issuer drops the key and its JWKS breaks: a failed refetch is no key-set change.
    issuer.setJwksBehaviour('error');
    issuer.unpublish(original.kid);
    expect((await getNotes(issuer.mint({ header: { kid: 'unknown-1' } }))).status).toBe(401);
    expect(issuer.jwksRequests).toBe(2);
    expect(cache.size).toBe(1);
    const calls = getKey.mock.calls.length;
    expect((await getNotes(token)).status).toBe(200);
    expect(getKey).toHaveBeenCalledTimes(calls);

    // Now the key set really changes, and a refetch (past the cooldown) brings the change.
    issuer.setJwksBehaviour('ok');
    issuer.rotate('RS256', { retireOld: true });
    jest.setSystemTime(T0 + REFETCH_COOLDOWN_MS + SECOND);
    expect((await getNotes(issuer.mint({ header: { kid: 'unknown-2' } }))).status).toBe(401);
    expect(issuer.jwksRequests).toBe(3);
    expect(cache.size).toBe(0);

    // Still inside the entry's 60 s TTL: only the flush explains the refusal.
    const refused = await getNotes(token);
    expectRefused(refused, token, SecureApiErrorCode.TOKEN_INVALID, 'The access token is invalid');
    expect(rejections(capture, 'key_not_found')).toBe(3);
    expect(cache.size).toBe(0);
    expect(capture.text()).not.toContain(token);
  });

  it('never serves an entry past the token exp', async () => {
    jest.useFakeTimers(fakeDateOnly());
    jest.setSystemTime(T0);
    const { cache, getKey } = await boot({ clockToleranceSeconds: 0 });
    const token = mint({ expiresInSeconds: 20 });

    expect((await getNotes(token)).status).toBe(200);
    expect(cache.size).toBe(1);

    jest.setSystemTime(T0 + 19 * SECOND);
    expect((await getNotes(token)).status).toBe(200);
    expect(getKey).toHaveBeenCalledTimes(1);

    jest.setSystemTime(T0 + 25 * SECOND);
    const refused = await getNotes(token);
    expectRefused(refused, token, SecureApiErrorCode.TOKEN_EXPIRED, 'The access token expired');
    expect(rejections(capture, 'expired')).toBe(1);
    expect(cache.size).toBe(0);
    expect(capture.text()).not.toContain(token);
  });

  it('serves an entry for at most 60 s (maxTtlSeconds), then verifies the token again', async () => {
    jest.useFakeTimers(fakeDateOnly());
    jest.setSystemTime(T0);
    const { cache, getKey } = await boot();
    const token = mint({ expiresInSeconds: 300 });

    expect((await getNotes(token)).status).toBe(200);
    expect(getKey).toHaveBeenCalledTimes(1);

    jest.setSystemTime(T0 + MAX_TTL_MS - SECOND);
    expect((await getNotes(token)).status).toBe(200);
    expect(getKey).toHaveBeenCalledTimes(1);

    jest.setSystemTime(T0 + MAX_TTL_MS + SECOND);
    expect((await getNotes(token)).status).toBe(200);
    expect(getKey).toHaveBeenCalledTimes(2);
    expect(cache.size).toBe(1);

    // Verified again at T0 + 61 s, so it is cached afresh from then on.
    jest.setSystemTime(T0 + MAX_TTL_MS + 30 * SECOND);
    expect((await getNotes(token)).status).toBe(200);
    expect(getKey).toHaveBeenCalledTimes(2);
  });

  it('holds at most tokenCache.maxEntries tokens, evicting the least recently used', async () => {
    const { cache, getKey } = await boot({ tokenCache: { maxEntries: 3 } });
    const tokens = Array.from({ length: 5 }, () => mint());

    for (const token of tokens) expect((await getNotes(token)).status).toBe(200);
    expect(cache.size).toBe(3);
    expect(getKey).toHaveBeenCalledTimes(5);

    expect((await getNotes(tokens[4] as string)).status).toBe(200);
    expect(getKey).toHaveBeenCalledTimes(5);
    expect((await getNotes(tokens[0] as string)).status).toBe(200);
    expect(getKey).toHaveBeenCalledTimes(6);
    expect(cache.size).toBe(3);
  });

  it('verifies every request with tokenCache: false', async () => {
    const { cache, getKey } = await boot({ tokenCache: false });
    expect(cache.enabled).toBe(false);
    const token = mint();

    expect((await getNotes(token)).status).toBe(200);
    expect((await getNotes(token)).status).toBe(200);
    expect(getKey).toHaveBeenCalledTimes(2);
    expect(cache.size).toBe(0);

    issuer.unpublish(issuer.key('RS256').kid);
    expect((await getNotes(issuer.mint({ header: { kid: 'unknown' } }))).status).toBe(401);
    expect(issuer.jwksRequests).toBe(2);

    const refused = await getNotes(token);
    expectRefused(refused, token, SecureApiErrorCode.TOKEN_INVALID, 'The access token is invalid');
    expect(rejections(capture, 'key_not_found')).toBe(2);
    expect(cache.size).toBe(0);
    expect(capture.text()).not.toContain(token);
  });
});
