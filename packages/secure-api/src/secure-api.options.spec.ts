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
      cors: false,
      body: {
        limit: 102_400,
        maxDepth: 32,
        maxArrayLength: 1000,
        maxStringLength: 10_000,
        parameterLimit: 1000,
        urlencoded: true,
        inflate: true,
        passthrough: [],
        rawBody: false,
      },
      throttle: false,
      logging: {
        level: 'info',
        destination: 1,
        bufferBytes: 4 * 1024 * 1024,
        masking: {},
        requestLog: true,
        acceptRequestId: true,
        runtimeControl: false,
        defaultTtlSeconds: 600,
        maxTtlSeconds: 86_400,
      },
      timeouts: {
        headersMs: 10_000,
        requestMs: 30_000,
        keepAliveMs: 5_000,
        checkIntervalMs: 1_000,
      },
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
        requireCertificateBoundTokens: false,
        jwks: {
          cacheMaxAgeSeconds: 600,
          refetchCooldownSeconds: 30,
          fetchTimeoutSeconds: 5,
          maxResponseBytes: 262_144,
          allowInsecureHttp: false,
        },
        tokenCache: { maxEntries: 1000, maxTtlSeconds: 60 },
      },
      tls: undefined,
    });
    expect(Object.isFrozen(resolved)).toBe(true);
    expect(Object.isFrozen(resolved.auth)).toBe(true);
    expect(Object.isFrozen(resolved.auth.algorithms)).toBe(true);
    expect(Object.isFrozen(resolved.body)).toBe(true);
    expect(Object.isFrozen(resolved.timeouts)).toBe(true);
    expect(Object.isFrozen(resolved.logging)).toBe(true);
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
      'requireCertificateBoundTokens as a string',
      { auth: { ...base, requireCertificateBoundTokens: 'yes' } },
      '"auth.requireCertificateBoundTokens" must be true or false',
    ],
    [
      'a malformed tls option',
      { auth: base, tls: { certFile: 'a.crt', keyFile: 'a.key', allowedPeers: ['me'] } },
      '"tls.caFile" must be the path of a PEM file',
    ],
    [
      'adminPeers without mutual TLS',
      { auth: base, logging: { adminPeers: ['spiffe://example.org/sa/ops'] } },
      '"logging.adminPeers" needs the module to manage mutual TLS',
    ],
    [
      'a malformed admin peer',
      { auth: base, logging: { adminPeers: ['ops'] } },
      `"logging.adminPeers[0]" must start with 'spiffe://' or 'dns:'`,
    ],
    [
      'runtime control over mutual TLS without a peer list',
      {
        auth: base,
        logging: { runtimeControl: true },
        tls: { certFile: 'a.crt', keyFile: 'a.key', caFile: 'ca.crt' },
      },
      '"logging.adminPeers" is required with logging.runtimeControl over mutual TLS (or tls.allowedPeers)',
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

  describe('cors', () => {
    const APP = 'https://app.example.com';

    it('is off unless configured', () => {
      expect(resolveOptions({ auth: base }).cors).toBe(false);
      expect(resolveOptions({ auth: base, cors: false }).cors).toBe(false);
    });

    it('applies the documented defaults and freezes the result', () => {
      const { cors } = resolveOptions({ auth: base, cors: { origins: [APP, APP] } });
      expect(cors).toEqual({
        origins: [APP],
        credentials: false,
        methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
        allowedHeaders: ['authorization', 'content-type'],
        exposedHeaders: [],
        maxAgeSeconds: 600,
      });
      expect(Object.isFrozen(cors)).toBe(true);
      expect(cors !== false && Object.isFrozen(cors.origins)).toBe(true);
    });

    it.each([
      'https://app.example.com',
      'http://localhost:5173',
      'http://127.0.0.1:8080',
      'https://[::1]:8443',
      'https://xn--bcher-kva.example',
    ])('accepts the exact origin %s', (origin) => {
      expect(resolveOptions({ auth: base, cors: { origins: [origin] } }).cors).toMatchObject({
        origins: [origin],
      });
    });

    it("accepts '*' alone without credentials", () => {
      expect(resolveOptions({ auth: base, cors: { origins: ['*'] } }).cors).toMatchObject({
        origins: ['*'],
        credentials: false,
      });
    });

    it.each<[string, unknown, string]>([
      [
        "'*' with credentials",
        { origins: ['*'], credentials: true },
        `SecureApiModule: "cors.origins[0]" is '*' while cors.credentials is true: any site could read its visitors' credentialed responses. Potential solution: list the exact origins, or set credentials: false.`,
      ],
      [
        "'*' next to an origin",
        { origins: [APP, '*'] },
        `SecureApiModule: "cors.origins[1]" is '*' next to other origins, which it makes meaningless. Potential solution: use either ['*'] or a list of exact origins.`,
      ],
      [
        'true',
        true,
        `SecureApiModule: "cors" must be an object or false (got true). Potential solution: list the allowed origins, e.g. cors: { origins: ['https://app.example.com'] }.`,
      ],
      [
        'the cors package\'s "origin" option',
        { origin: true },
        'SecureApiModule: "cors.origin" is not an option. Potential solution: use cors.origins, an array of exact origins.',
      ],
      [
        'origins: true',
        { origins: true },
        `SecureApiModule: "cors.origins" must be a non-empty array of exact origins (got true). Potential solution: e.g. origins: ['https://app.example.com'], or leave cors out to allow no cross-origin reads.`,
      ],
      [
        'an empty list',
        { origins: [] },
        `SecureApiModule: "cors.origins" must be a non-empty array of exact origins (got an empty array). Potential solution: e.g. origins: ['https://app.example.com'], or leave cors out to allow no cross-origin reads.`,
      ],
      [
        'a function',
        { origins: () => true },
        `SecureApiModule: "cors.origins" must be a non-empty array of exact origins (got a function). Potential solution: e.g. origins: ['https://app.example.com'], or leave cors out to allow no cross-origin reads.`,
      ],
      [
        'a function in the list',
        { origins: [APP, () => true] },
        `SecureApiModule: "cors.origins[1]" is a function: origins are compared as exact strings, never computed, so that no request can have its Origin reflected. Potential solution: list each origin, e.g. 'https://app.example.com'.`,
      ],
      [
        'a RegExp in the list',
        { origins: [/\.example\.com$/] },
        `SecureApiModule: "cors.origins[0]" is a RegExp (/\\.example\\.com$/): origins are compared as exact strings, never computed, so that no request can have its Origin reflected. Potential solution: list each origin, e.g. 'https://app.example.com'.`,
      ],
      [
        'true in the list',
        { origins: [true] },
        `SecureApiModule: "cors.origins[0]" is true: origins are compared as exact strings, never computed, so that no request can have its Origin reflected. Potential solution: list each origin, e.g. 'https://app.example.com'.`,
      ],
      [
        'a trailing slash',
        { origins: ['https://app.example.com/'] },
        `SecureApiModule: "cors.origins[0]" has a path, query or trailing slash (got 'https://app.example.com/'), which the Origin header never carries. Potential solution: use 'https://app.example.com'.`,
      ],
      [
        'a path',
        { origins: [APP, 'https://app.example.com/app'] },
        `SecureApiModule: "cors.origins[1]" has a path, query or trailing slash (got 'https://app.example.com/app'), which the Origin header never carries. Potential solution: use 'https://app.example.com'.`,
      ],
      [
        'upper case',
        { origins: ['https://App.Example.com'] },
        `SecureApiModule: "cors.origins[0]" is not written as browsers send the Origin header: lower case, no default port (got 'https://App.Example.com'). Potential solution: use 'https://app.example.com'.`,
      ],
      [
        'a default port',
        { origins: ['https://app.example.com:443'] },
        `SecureApiModule: "cors.origins[0]" is not written as browsers send the Origin header: lower case, no default port (got 'https://app.example.com:443'). Potential solution: use 'https://app.example.com'.`,
      ],
      [
        "'null'",
        { origins: ['null'] },
        `SecureApiModule: "cors.origins[0]" is 'null', the origin of sandboxed frames and file: pages, which any page can take on. Potential solution: list the real origins of the pages that call this API.`,
      ],
      [
        'a bare host',
        { origins: ['app.example.com'] },
        `SecureApiModule: "cors.origins[0]" must be an http: or https: origin, scheme://host[:port] (got 'app.example.com'). Potential solution: e.g. 'https://app.example.com'.`,
      ],
      [
        'another scheme',
        { origins: ['ftp://app.example.com'] },
        `SecureApiModule: "cors.origins[0]" must be an http: or https: origin, scheme://host[:port] (got 'ftp://app.example.com'). Potential solution: e.g. 'https://app.example.com'.`,
      ],
      [
        'credentials that are not a boolean',
        { origins: [APP], credentials: 'true' },
        'SecureApiModule: "cors.credentials" must be true or false.',
      ],
      [
        'a method that is not a token',
        { origins: [APP], methods: ['GET', 'PO ST'] },
        'SecureApiModule: "cors.methods[1]" must be an HTTP token (RFC 9110 §5.6.2).',
      ],
      [
        'a header list that is a string',
        { origins: [APP], allowedHeaders: 'authorization' },
        'SecureApiModule: "cors.allowedHeaders" must be an array of strings.',
      ],
      [
        'an exposed header with a comma',
        { origins: [APP], exposedHeaders: ['x-a,x-b'] },
        'SecureApiModule: "cors.exposedHeaders[0]" must be an HTTP token (RFC 9110 §5.6.2).',
      ],
      [
        'maxAgeSeconds above a day',
        { origins: [APP], maxAgeSeconds: 86_401 },
        'SecureApiModule: "cors.maxAgeSeconds" must be at most 86400.',
      ],
      [
        'maxAgeSeconds of zero',
        { origins: [APP], maxAgeSeconds: 0 },
        'SecureApiModule: "cors.maxAgeSeconds" must be a positive integer.',
      ],
    ])('refuses %s at boot, naming the path', (_name, cors, message) => {
      const error = failure({ auth: base, cors });
      expect(error.code).toBe(SecureApiErrorCode.INVALID_OPTIONS);
      expect(error.message).toBe(message);
    });
  });
});
