import { SecureApiErrorCode } from '../errors/secure-api-error-code.js';
import { HttpClientUrlRefusedError } from './http-client.errors.js';
import { resolveRequestTarget, type TargetPolicy } from './request-target.js';

const POLICY: TargetPolicy = {
  baseUrl: new URL('https://api.example.com/v1'),
  allowedOrigins: new Set(['https://api.example.com', 'https://partner.example:8443']),
  allowInsecureHttp: false,
};

function refused(
  input: Parameters<typeof resolveRequestTarget>[1],
  policy = POLICY,
): HttpClientUrlRefusedError {
  try {
    resolveRequestTarget('GET', input, policy);
  } catch (error) {
    if (error instanceof HttpClientUrlRefusedError) return error;
    throw error;
  }
  throw new Error('expected the target to be refused');
}

describe('resolveRequestTarget()', () => {
  it('appends a path to the base path and the query parameters to the URL', () => {
    expect(
      resolveRequestTarget(
        'GET',
        {
          path: '/images/42?size=s',
          query: { tag: ['a b', 'c'], n: 1, on: true, none: undefined, nil: null },
        },
        POLICY,
      ),
    ).toEqual({
      method: 'GET',
      origin: 'https://api.example.com',
      path: '/v1/images/42',
      pathAndQuery: '/v1/images/42?size=s&tag=a+b&tag=c&n=1&on=true',
    });
  });

  it('takes an absolute URL of an allowed origin and drops its fragment', () => {
    expect(
      resolveRequestTarget('DELETE', { url: 'https://partner.example:8443/x#frag' }, POLICY),
    ).toEqual({
      method: 'DELETE',
      origin: 'https://partner.example:8443',
      path: '/x',
      pathAndQuery: '/x',
    });
  });

  it.each<[string, Parameters<typeof resolveRequestTarget>[1], string]>([
    [
      'another origin',
      { url: 'https://169.254.169.254/latest/meta-data?x=secret' },
      'GET https://169.254.169.254/latest/meta-data: refused before sending: the origin https://169.254.169.254 is not in "httpClient.allowedOrigins"',
    ],
    [
      'http: without allowInsecureHttp',
      { url: 'http://api.example.com/x' },
      'GET http://api.example.com/x: refused before sending: http: is not allowed (only https:, unless "httpClient.allowInsecureHttp" is set)',
    ],
    [
      'another scheme',
      { url: 'file:///etc/passwd' },
      'GET file:///etc/passwd: refused before sending: the scheme file: is not supported',
    ],
    [
      'credentials in the URL',
      { url: 'https://user:pw@api.example.com/x' },
      'GET https://api.example.com/x: refused before sending: the URL holds credentials; send them in a header',
    ],
    [
      'a URL that does not parse (never quoted)',
      { url: 'not a url?token=secret' },
      'GET (unparsed URL): refused before sending: "url" is not an absolute URL',
    ],
    [
      'both url and path',
      { url: 'https://api.example.com', path: '/x' },
      'GET (unparsed URL): refused before sending: give exactly one of "url" and "path"',
    ],
    [
      'a path that is an absolute URL',
      { path: 'https://evil.example/x' },
      'GET https://api.example.com/v1: refused before sending: "path" must start with a single "/"',
    ],
    [
      'a protocol-relative path',
      { path: '//evil.example/x' },
      'GET https://api.example.com/v1: refused before sending: "path" must start with a single "/"',
    ],
    [
      'a backslash',
      { path: '/\\evil.example' },
      'GET https://api.example.com/v1: refused before sending: "path" must not hold "\\" or "#"',
    ],
    [
      'dot segments leaving the base path',
      { path: '/../admin' },
      'GET https://api.example.com/admin: refused before sending: "path" leaves the base path /v1',
    ],
    [
      'encoded dot segments leaving the base path',
      { path: '/%2e%2E/admin' },
      'GET https://api.example.com/admin: refused before sending: "path" leaves the base path /v1',
    ],
    [
      'a sibling of the base path',
      { path: '/../v10/x' },
      'GET https://api.example.com/v10/x: refused before sending: "path" leaves the base path /v1',
    ],
    [
      'an object as query value',
      { path: '/x', query: { filter: { a: 1 } as unknown as string } },
      'GET https://api.example.com/v1/x: refused before sending: query parameter "filter" must be a string, number or boolean',
    ],
  ])('refuses %s', (_name, input, message) => {
    const error = refused(input);
    expect(error.code).toBe(SecureApiErrorCode.HTTP_CLIENT_URL_REFUSED);
    expect(error.message).toBe(message);
    expect(error.message).not.toContain('secret');
  });

  it('needs baseUrl for a path, and allows any origin with "*"', () => {
    const open: TargetPolicy = { baseUrl: undefined, allowedOrigins: '*', allowInsecureHttp: true };
    expect(refused({ path: '/x' }, open).message).toBe(
      'GET (unparsed URL): refused before sending: "path" needs "httpClient.baseUrl"; pass an absolute "url" instead',
    );
    expect(resolveRequestTarget('GET', { url: 'http://anywhere.example:81/x' }, open).origin).toBe(
      'http://anywhere.example:81',
    );
  });

  it('keeps a path within a base without path', () => {
    const root: TargetPolicy = { ...POLICY, baseUrl: new URL('https://api.example.com') };
    expect(resolveRequestTarget('GET', { path: '/a/../b' }, root).pathAndQuery).toBe('/b');
  });
});
