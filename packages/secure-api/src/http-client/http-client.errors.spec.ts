import { inspect } from 'node:util';
import { SecureApiError } from '../errors/secure-api.error.js';
import { SecureApiErrorCode } from '../errors/secure-api-error-code.js';
import {
  CircuitOpenError,
  HttpClientAbortedError,
  HttpClientError,
  printable,
  TokenRequestFailedError,
  UpstreamClientError,
  UpstreamServerError,
} from './http-client.errors.js';

const TARGET = { method: 'GET', origin: 'https://api.example.com', path: '/v1/images' };

describe('HttpClientError and its subclasses', () => {
  it('are SecureApiErrors with a stable code and the target, named after their class', () => {
    const error = new CircuitOpenError(TARGET, 1200);

    expect(error).toBeInstanceOf(SecureApiError);
    expect(error).toBeInstanceOf(HttpClientError);
    expect(error).toMatchObject({
      name: 'CircuitOpenError',
      code: SecureApiErrorCode.CIRCUIT_OPEN,
      method: 'GET',
      origin: 'https://api.example.com',
      path: '/v1/images',
      status: undefined,
      retryAfterMs: 1200,
    });
  });

  it('keep upstream headers and body off enumeration, JSON and inspect', () => {
    const body = Buffer.from('{"echo":"Bearer eyJ.secret.token"}');
    const error = new UpstreamServerError(TARGET, {
      status: 503,
      statusText: 'Service Unavailable',
      retryAfterMs: 2000,
      headers: { 'set-cookie': ['session=abc'] },
      body,
    });

    expect(error.message).toBe(
      'GET https://api.example.com/v1/images: answered 503 Service Unavailable',
    );
    expect(error.responseBody).toBe(body);
    expect(error.bodyText()).toContain('eyJ.secret.token');
    expect(error.responseHeaders['set-cookie']).toEqual(['session=abc']);
    expect(Object.keys(error)).not.toEqual(expect.arrayContaining(['responseBody']));
    for (const text of [JSON.stringify(error), inspect(error)]) {
      expect(text).not.toContain('secret.token');
      expect(text).not.toContain('session=abc');
    }
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      name: 'UpstreamServerError',
      code: SecureApiErrorCode.UPSTREAM_SERVER_ERROR,
      method: 'GET',
      origin: 'https://api.example.com',
      path: '/v1/images',
      status: 503,
      retryAfterMs: 2000,
    });
  });

  it('clean a reason phrase before putting it in a message', () => {
    const error = new UpstreamClientError(TARGET, {
      status: 418,
      statusText: `I'm a teapot\r\nX-Injected: 1${'!'.repeat(100)}`,
      headers: {},
      body: Buffer.alloc(0),
    });
    expect(error.message).toBe(
      `GET https://api.example.com/v1/images: answered 418 I'm a teapot??X-Injected: 1${'!'.repeat(33)}…`,
    );
    expect(printable('a\u0000b', 10)).toBe('a?b');
  });

  it('word aborts and token failures', () => {
    expect(new HttpClientAbortedError(TARGET, 'closed').message).toBe(
      'GET https://api.example.com/v1/images: the client is closed',
    );
    const token = new TokenRequestFailedError(
      { method: 'POST', origin: 'https://auth.example', path: '/token' },
      {
        status: 400,
        oauthError: 'invalid_scope',
        reason: 'the authorization server answered 400 invalid_scope',
      },
    );
    expect(token).toMatchObject({
      status: 400,
      oauthError: 'invalid_scope',
      code: SecureApiErrorCode.TOKEN_REQUEST_FAILED,
    });
    expect(token.message).toBe(
      'POST https://auth.example/token: token request failed: the authorization server answered 400 invalid_scope',
    );
  });
});
