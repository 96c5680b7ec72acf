import { SecureApiError } from './errors/secure-api.error.js';
import { SecureApiErrorCode } from './errors/secure-api-error-code.js';
import { resolveOptions } from './secure-api.options.js';

const base = { issuer: 'https://id.example.com', audience: 'https://api.example.com' };

function failure(options: unknown): SecureApiError {
  try {
    resolveOptions(options);
  } catch (error) {
    if (error instanceof SecureApiError) return error;
    throw error;
  }
  throw new Error('resolveOptions accepted the options');
}

describe('resolveOptions', () => {
  it('applies the documented defaults and freezes the result', () => {
    const resolved = resolveOptions({ auth: base });
    expect(resolved).toEqual({
      routeAudit: 'error',
      headers: { helmet: {} },
      validation: true,
      auth: {
        issuers: ['https://id.example.com'],
        audiences: ['https://api.example.com'],
        jwksUri: undefined,
        algorithms: ['RS256', 'PS256', 'ES256'],
        clockToleranceSeconds: 30,
        requireTokenType: undefined,
        maxTokenAgeSeconds: undefined,
        scopeClaims: ['scope', 'scp'],
        realm: 'secure-api',
        maxTokenLength: 8192,
        jwks: {
          cacheMaxAgeSeconds: 600,
          refetchCooldownSeconds: 30,
          fetchTimeoutSeconds: 5,
          maxResponseBytes: 262_144,
          allowInsecureHttp: false,
        },
        tokenCache: { maxEntries: 1000, maxTtlSeconds: 60 },
      },
    });
    expect(Object.isFrozen(resolved)).toBe(true);
    expect(Object.isFrozen(resolved.auth)).toBe(true);
    expect(Object.isFrozen(resolved.auth.algorithms)).toBe(true);
  });

  it('turns validation off only when asked with false', () => {
    expect(resolveOptions({ auth: base, validation: false }).validation).toBe(false);
    expect(resolveOptions({ auth: base, validation: true }).validation).toBe(true);
  });

  it('keeps issuer and audience lists as given, without normalising slashes', () => {
    const resolved = resolveOptions({
      auth: { issuer: ['https://a.example/', 'https://b.example'], audience: ['x', 'y', 'x'] },
    });
    expect(resolved.auth.issuers).toEqual(['https://a.example/', 'https://b.example']);
    expect(resolved.auth.audiences).toEqual(['x', 'y']);
  });

  it('accepts a loopback http jwksUri and refuses a remote one unless opted in', () => {
    expect(
      resolveOptions({ auth: { ...base, jwksUri: 'http://127.0.0.1:9/jwks' } }).auth.jwksUri,
    ).toBe('http://127.0.0.1:9/jwks');
    expect(failure({ auth: { ...base, jwksUri: 'http://keys.example.com/jwks' } }).message).toBe(
      'SecureApiModule: "auth.jwksUri" must use https: (got http://keys.example.com). Potential solution: serve the keys over TLS, or set auth.jwks.allowInsecureHttp: true if you accept the risk.',
    );
    expect(
      resolveOptions({
        auth: {
          ...base,
          jwksUri: 'http://keys.example.com/jwks',
          jwks: { allowInsecureHttp: true },
        },
      }).auth.jwksUri,
    ).toBe('http://keys.example.com/jwks');
  });

  it.each([
    ['no options', undefined, '"options" must be an object'],
    ['no auth', {}, '"auth" is required'],
    [
      'empty audience',
      { auth: { ...base, audience: '' } },
      '"auth.audience" must be a non-empty string or array',
    ],
    [
      'empty audience list',
      { auth: { ...base, audience: [] } },
      '"auth.audience" must be a non-empty string or array',
    ],
    [
      'blank audience item',
      { auth: { ...base, audience: ['a', ' '] } },
      '"auth.audience" must be a non-empty string or array',
    ],
    [
      'numeric issuer',
      { auth: { ...base, issuer: 42 } },
      '"auth.issuer" must be a non-empty string or array',
    ],
    [
      'issuer not a URL without jwksUri',
      { auth: { ...base, issuer: 'my-issuer' } },
      '"auth.issuer" must be an absolute URL',
    ],
    ['alg none', { auth: { ...base, algorithms: ['none'] } }, '"auth.algorithms[0]" is "none"'],
    [
      'alg NONE',
      { auth: { ...base, algorithms: ['RS256', 'NONE'] } },
      '"auth.algorithms[1]" is "none"',
    ],
    [
      'HS256',
      { auth: { ...base, algorithms: ['HS256'] } },
      '"auth.algorithms[0]" is "HS256": HMAC algorithms are refused',
    ],
    [
      'hs512',
      { auth: { ...base, algorithms: ['hs512'] } },
      '"auth.algorithms[0]" is "hs512": HMAC algorithms are refused',
    ],
    [
      'unknown alg',
      { auth: { ...base, algorithms: ['RS999'] } },
      '"auth.algorithms[0]" must be one of RS256',
    ],
    [
      'lower-case alg',
      { auth: { ...base, algorithms: ['rs256'] } },
      'algorithm names are case-sensitive',
    ],
    [
      'empty algorithms',
      { auth: { ...base, algorithms: [] } },
      '"auth.algorithms" must be a non-empty array',
    ],
    [
      'tolerance too large',
      { auth: { ...base, clockToleranceSeconds: 301 } },
      '"auth.clockToleranceSeconds" must be an integer from 0 to 300',
    ],
    [
      'negative tolerance',
      { auth: { ...base, clockToleranceSeconds: -1 } },
      '"auth.clockToleranceSeconds" must be an integer from 0 to 300',
    ],
    [
      'fractional tolerance',
      { auth: { ...base, clockToleranceSeconds: 1.5 } },
      '"auth.clockToleranceSeconds" must be an integer',
    ],
    [
      'blank token type',
      { auth: { ...base, requireTokenType: ' ' } },
      '"auth.requireTokenType" must be a non-empty string',
    ],
    [
      'zero max age',
      { auth: { ...base, maxTokenAgeSeconds: 0 } },
      '"auth.maxTokenAgeSeconds" must be a positive integer',
    ],
    [
      'realm with a quote',
      { auth: { ...base, realm: 'a"b' } },
      '"auth.realm" must be 1 to 128 printable ASCII characters',
    ],
    [
      'realm with CRLF',
      { auth: { ...base, realm: 'a\r\nb' } },
      '"auth.realm" must be 1 to 128 printable ASCII characters',
    ],
    [
      'jwksUri not a URL',
      { auth: { ...base, jwksUri: 'keys' } },
      '"auth.jwksUri" must be an absolute https: URL',
    ],
    [
      'jwksUri ftp',
      { auth: { ...base, jwksUri: 'ftp://x/jwks' } },
      '"auth.jwksUri" must use https:',
    ],
    [
      'cooldown zero',
      { auth: { ...base, jwks: { refetchCooldownSeconds: 0 } } },
      '"auth.jwks.refetchCooldownSeconds" must be a positive integer',
    ],
    [
      'fetch timeout too long',
      { auth: { ...base, jwks: { fetchTimeoutSeconds: 61 } } },
      '"auth.jwks.fetchTimeoutSeconds" must be at most 60',
    ],
    [
      'token cache not an object',
      { auth: { ...base, tokenCache: true } },
      '"auth.tokenCache" must be an object or false',
    ],
    [
      'token cache ttl too long',
      { auth: { ...base, tokenCache: { maxTtlSeconds: 61 } } },
      '"auth.tokenCache.maxTtlSeconds" must be at most 60',
    ],
    [
      'routeAudit typo',
      { auth: base, routeAudit: 'maybe' },
      `"routeAudit" must be 'error', 'warn' or 'off'`,
    ],
    [
      'validation a string',
      { auth: base, validation: 'off' },
      '"validation" must be true or false. Potential solution: leave it out to validate every request, or set validation: false to install your own pipe.',
    ],
    ['validation an object', { auth: base, validation: {} }, '"validation" must be true or false'],
    ['headers true', { auth: base, headers: true }, '"headers" must be an object or false'],
    ['headers a string', { auth: base, headers: 'on' }, '"headers" must be an object or false'],
    [
      'unknown headers option',
      { auth: base, headers: { helmt: {} } },
      '"headers.helmt" is not an option. Potential solution: the one option is headers.helmet.',
    ],
    [
      'helmet options an array',
      { auth: base, headers: { helmet: [] } },
      '"headers.helmet" must be an object of helmet options',
    ],
    [
      'helmet options false',
      { auth: base, headers: { helmet: false } },
      '"headers.helmet" must be an object of helmet options',
    ],
    [
      'the hsts alias',
      { auth: base, headers: { helmet: { hsts: { maxAge: 60 } } } },
      '"headers.helmet.hsts" is a legacy alias that this module does not accept. Potential solution: use headers.helmet.strictTransportSecurity.',
    ],
    [
      'a misspelt helmet option',
      { auth: base, headers: { helmet: { contentSecurityPolcy: false } } },
      '"headers.helmet.contentSecurityPolcy" is not a helmet option. Potential solution: use one of contentSecurityPolicy,',
    ],
    [
      'an unquoted CSP keyword',
      {
        auth: base,
        headers: { helmet: { contentSecurityPolicy: { directives: { 'default-src': ['self'] } } } },
      },
      `"headers.helmet" is refused by helmet: Content-Security-Policy received an invalid directive value for "default-src". "self" should be quoted.`,
    ],
    [
      'a negative HSTS max-age',
      { auth: base, headers: { helmet: { strictTransportSecurity: { maxAge: -1 } } } },
      '"headers.helmet" is refused by helmet: Strict-Transport-Security: -1 is not a valid value for maxAge',
    ],
    [
      'a helmet option given twice',
      { auth: base, headers: { helmet: { noSniff: true, xContentTypeOptions: true } } },
      '"headers.helmet" is refused by helmet: X-Content-Type-Options option was specified twice',
    ],
    [
      'an unknown X-Frame-Options action',
      { auth: base, headers: { helmet: { xFrameOptions: { action: 'allow' } } } },
      '"headers.helmet" is refused by helmet: X-Frame-Options received an invalid action "allow".',
    ],
  ])('refuses %s with a message naming the path', (_name, options, message) => {
    const error = failure(options);
    expect(error.code).toBe(SecureApiErrorCode.INVALID_OPTIONS);
    expect(error.message).toContain(message);
    expect(error.message.startsWith('SecureApiModule: "')).toBe(true);
  });

  it('turns the token cache off with false', () => {
    expect(resolveOptions({ auth: { ...base, tokenCache: false } }).auth.tokenCache).toBe(false);
  });

  it('turns the security headers off with false', () => {
    expect(resolveOptions({ auth: base, headers: false }).headers).toBe(false);
  });

  it('keeps helmet options as a frozen copy', () => {
    const helmet = { xFrameOptions: { action: 'deny' as const }, strictTransportSecurity: false };
    const resolved = resolveOptions({ auth: base, headers: { helmet } });
    expect(resolved.headers).toEqual({ helmet });
    expect(resolved.headers && resolved.headers.helmet).not.toBe(helmet);
    expect(Object.isFrozen(resolved.headers)).toBe(true);
    expect(resolved.headers && Object.isFrozen(resolved.headers.helmet)).toBe(true);
  });

  it("keeps helmet's error as the cause of a refused helmet option", () => {
    const error = failure({
      auth: base,
      headers: { helmet: { referrerPolicy: { policy: 'bogus' } } },
    });
    expect(error.code).toBe(SecureApiErrorCode.INVALID_OPTIONS);
    expect(error.message).toBe(
      'SecureApiModule: "headers.helmet" is refused by helmet: Referrer-Policy received an unexpected policy token "bogus".',
    );
    expect(error.cause).toBeInstanceOf(Error);
    expect((error.cause as Error).message).toBe(
      'Referrer-Policy received an unexpected policy token "bogus"',
    );
  });
});
