import { inspect } from 'node:util';
import { type Logger } from '@nestjs/common';
import { fakeDateOnly } from '@secure-api/testing';
import { type CustomFetch } from 'openid-client';
import { SecureApiErrorCode } from '../errors/secure-api-error-code.js';
import { ClientCredentialsTokenSource } from './client-credentials.js';
import { HttpClientError, TokenRequestFailedError } from './http-client.errors.js';
import { resolveHttpClientOptions } from './http-client-options.js';

const START = Date.UTC(2030, 0, 1);

function jsonResponse(status: number, body: unknown): Response {
  return new Response(typeof body === 'string' ? body : JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}

interface Harness {
  readonly source: ClientCredentialsTokenSource;
  readonly fetch: jest.Mock<Promise<Response>, Parameters<CustomFetch>>;
  readonly logger: { warn: jest.Mock; debug: jest.Mock };
}

function harness(answers: Array<() => Response>, refreshBeforeExpirySeconds = 60): Harness {
  let call = 0;
  const fetch = jest.fn<Promise<Response>, Parameters<CustomFetch>>(() => {
    const answer = answers[Math.min(call, answers.length - 1)];
    call += 1;
    return Promise.resolve(answer ? answer() : jsonResponse(500, 'no answer'));
  });
  const logger = { warn: jest.fn(), debug: jest.fn() };
  const { clientCredentials } = resolveHttpClientOptions({
    allowedOrigins: '*',
    clientCredentials: {
      tokenEndpoint: 'https://auth.example/oauth2/token',
      clientId: 'svc',
      clientSecret: 'the-secret-value',
      scope: 'images:read',
      resource: 'https://images.example',
      refreshBeforeExpirySeconds,
    },
  });
  const source = new ClientCredentialsTokenSource(
    clientCredentials as NonNullable<typeof clientCredentials>,
    { fetch, allowInsecureHttp: false, timeoutMs: 27_000, logger: logger as unknown as Logger },
  );
  return { source, fetch, logger };
}

const bearer = (token: string, expiresIn?: number) => (): Response =>
  jsonResponse(200, {
    access_token: token,
    token_type: 'Bearer',
    ...(expiresIn === undefined ? {} : { expires_in: expiresIn }),
  });

async function tokenFailure(
  source: ClientCredentialsTokenSource,
): Promise<TokenRequestFailedError> {
  try {
    await source.token();
  } catch (error) {
    if (error instanceof TokenRequestFailedError) return error;
    throw error;
  }
  throw new Error('expected the token request to fail');
}

describe('ClientCredentialsTokenSource', () => {
  beforeEach(() => {
    jest.useFakeTimers(fakeDateOnly());
    jest.setSystemTime(START);
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('sends one form POST for concurrent callers, with scope and resource', async () => {
    const { source, fetch } = harness([bearer('tok-1', 300)]);

    const tokens = await Promise.all([source.token(), source.token(), source.token()]);

    expect(tokens).toEqual(['tok-1', 'tok-1', 'tok-1']);
    expect(fetch).toHaveBeenCalledTimes(1);
    const [url, init] = fetch.mock.calls[0] ?? [];
    expect(url).toBe('https://auth.example/oauth2/token');
    expect(init?.method).toBe('POST');
    expect(init?.body).toBeInstanceOf(URLSearchParams);
    expect((init?.body as URLSearchParams).toString()).toBe(
      'scope=images%3Aread&resource=https%3A%2F%2Fimages.example&grant_type=client_credentials',
    );
    // RFC 6749 §2.3.1: id and secret are form-urlencoded before the Basic encoding.
    const basic = /^Basic (.+)$/.exec(init?.headers['authorization'] ?? '')?.[1] ?? '';
    const [id, secret] = Buffer.from(basic, 'base64').toString().split(':').map(decodeURIComponent);
    expect([id, secret]).toEqual(['svc', 'the-secret-value']);
  });

  it('reuses the token until refreshBeforeExpirySeconds before expires_in, then replaces it', async () => {
    const { source, fetch } = harness([bearer('tok-1', 300), bearer('tok-2', 300)]);

    await source.token();
    jest.setSystemTime(START + 239_999);
    expect(await source.token()).toBe('tok-1');
    jest.setSystemTime(START + 240_000);
    expect(await source.token()).toBe('tok-2');
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it('falls back to the still-valid token when a refresh fails, and logs it', async () => {
    const { source, logger } = harness([bearer('tok-1', 300), () => jsonResponse(503, 'down')]);
    await source.token();

    jest.setSystemTime(START + 250_000);
    expect(await source.token()).toBe('tok-1');
    expect(logger.warn).toHaveBeenCalledWith(
      expect.objectContaining({
        msg: 'token refresh failed; the current token is used until it expires',
        code: SecureApiErrorCode.TOKEN_REQUEST_FAILED,
        expiresInMs: 50_000,
      }),
    );

    jest.setSystemTime(START + 300_000);
    await expect(source.token()).rejects.toBeInstanceOf(TokenRequestFailedError);
  });

  it('does not cache a token without expires_in, and warns once', async () => {
    const { source, fetch, logger } = harness([bearer('tok-a'), bearer('tok-b'), bearer('tok-c')]);

    expect([await source.token(), await source.token(), await source.token()]).toEqual([
      'tok-a',
      'tok-b',
      'tok-c',
    ]);
    expect(fetch).toHaveBeenCalledTimes(3);
    expect(logger.warn).toHaveBeenCalledTimes(1);
  });

  it('drops only the token it is told about', async () => {
    const { source, fetch } = harness([bearer('tok-1', 300), bearer('tok-2', 300)]);
    await source.token();

    source.invalidate('someone-else');
    expect(await source.token()).toBe('tok-1');
    source.invalidate('tok-1');
    expect(await source.token()).toBe('tok-2');
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it.each<[string, () => Response, Partial<TokenRequestFailedError>, string]>([
    [
      'an OAuth error',
      () =>
        jsonResponse(400, {
          error: 'invalid_scope',
          error_description: 'scope images:read for svc',
        }),
      { status: 400, oauthError: 'invalid_scope' },
      'the authorization server answered 400 invalid_scope',
    ],
    [
      'a server error that is not JSON',
      () =>
        new Response('<html>oops</html>', {
          status: 500,
          headers: { 'content-type': 'text/html' },
        }),
      { status: 500, oauthError: undefined },
      'the authorization server answered 500 (OAUTH_RESPONSE_IS_NOT_CONFORM)',
    ],
    [
      'a DPoP token',
      () => jsonResponse(200, { access_token: 'tok', token_type: 'DPoP', expires_in: 60 }),
      { status: undefined },
      'the token endpoint issued a token of type "dpop"; only Bearer is supported',
    ],
    [
      'a token that would break the header',
      () =>
        jsonResponse(200, {
          access_token: 'tok\r\nX-Evil: 1',
          token_type: 'Bearer',
          expires_in: 60,
        }),
      { status: undefined },
      'the access token is not an RFC 6750 b64token, so it cannot go in a header',
    ],
  ])('refuses %s with TokenRequestFailedError', async (_name, answer, fields, reason) => {
    const { source } = harness([answer]);

    const error = await tokenFailure(source);

    expect(error).toMatchObject({ code: SecureApiErrorCode.TOKEN_REQUEST_FAILED, ...fields });
    expect(error.message).toBe(
      `POST https://auth.example/oauth2/token: token request failed: ${reason}`,
    );
    expect(error.message).not.toContain('for svc');
  });

  it('keeps a token out of the error when openid-client refuses the answer that holds it', async () => {
    const { source } = harness([
      () =>
        jsonResponse(200, {
          access_token: 'tok-leak-123',
          token_type: 'Bearer',
          expires_in: 'soon',
        }),
    ]);

    const error = await tokenFailure(source);

    expect(error.message).toMatch(/refused the answer \(OAUTH_/);
    expect(error.cause).toBeUndefined();
    expect(
      `${error.message}${JSON.stringify(error)}${inspect(error, { showHidden: true })}`,
    ).not.toContain('tok-leak');
  });

  it('keeps its own network error as cause', async () => {
    const { source, fetch } = harness([]);
    const network = new HttpClientError(
      SecureApiErrorCode.HTTP_CLIENT_CONNECT_FAILED,
      {
        method: 'POST',
        origin: 'https://auth.example',
        path: '/oauth2/token',
      },
      'could not connect (ECONNREFUSED)',
    );
    fetch.mockRejectedValueOnce(network);

    const error = await tokenFailure(source);

    expect(error.cause).toBe(network);
    expect(error.message).toBe(
      `POST https://auth.example/oauth2/token: token request failed: the authorization server could not be reached (${SecureApiErrorCode.HTTP_CLIENT_CONNECT_FAILED})`,
    );
  });
});
