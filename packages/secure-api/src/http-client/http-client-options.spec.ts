import { SecureApiError } from '../errors/secure-api.error.js';
import { SecureApiErrorCode } from '../errors/secure-api-error-code.js';
import { resolveHttpClientOptions, type SecureHttpClientOptions } from './http-client-options.js';

const BASE = { baseUrl: 'https://api.example.com/v1/' };

function refusal(options: unknown): SecureApiError {
  try {
    resolveHttpClientOptions(options as SecureHttpClientOptions);
  } catch (error) {
    if (error instanceof SecureApiError) return error;
    throw error;
  }
  throw new Error('expected the options to be refused');
}

describe('resolveHttpClientOptions()', () => {
  it('applies small, safe defaults and freezes the result', () => {
    const resolved = resolveHttpClientOptions(BASE);

    expect(resolved).toMatchObject({
      allowInsecureHttp: false,
      connectTimeoutMs: 3050,
      responseTimeoutMs: 27_000,
      maxResponseBytes: 1_048_576,
      keepAliveTimeoutMs: 4000,
      maxConnectionsPerOrigin: 16,
      retry: { attempts: 3, initialDelayMs: 100, maxDelayMs: 5000, maxRetryAfterMs: 30_000 },
      circuitBreaker: { consecutiveFailures: 5, halfOpenAfterMs: 30_000 },
      tls: undefined,
      clientCredentials: undefined,
    });
    expect(resolved.baseUrl?.href).toBe('https://api.example.com/v1');
    expect(resolved.allowedOrigins).toEqual(new Set(['https://api.example.com']));
    expect(Object.isFrozen(resolved)).toBe(true);
    expect(Object.isFrozen(resolved.retry)).toBe(true);
  });

  it('adds the base origin to allowedOrigins, and takes "*"', () => {
    expect(
      resolveHttpClientOptions({ ...BASE, allowedOrigins: ['https://partner.example:8443'] })
        .allowedOrigins,
    ).toEqual(new Set(['https://api.example.com', 'https://partner.example:8443']));
    expect(resolveHttpClientOptions({ allowedOrigins: '*' }).allowedOrigins).toBe('*');
  });

  it.each<[string, unknown, string]>([
    [
      'a timeout that is not an integer',
      { ...BASE, connectTimeoutMs: 1.5 },
      'SecureHttpClient: "httpClient.connectTimeoutMs" must be a positive integer (milliseconds).',
    ],
    [
      'a zero timeout',
      { ...BASE, responseTimeoutMs: 0 },
      'SecureHttpClient: "httpClient.responseTimeoutMs" must be a positive integer (milliseconds).',
    ],
    [
      'a timeout setTimeout() would fire at once',
      { ...BASE, responseTimeoutMs: 2 ** 31 },
      'SecureHttpClient: "httpClient.responseTimeoutMs" must be at most 2147483647 (milliseconds).',
    ],
    [
      'a connect timeout not below the response timeout',
      { ...BASE, connectTimeoutMs: 5000, responseTimeoutMs: 5000 },
      'SecureHttpClient: "httpClient.connectTimeoutMs" must be less than "httpClient.responseTimeoutMs" (5000), which includes connecting. Potential solution: lower connectTimeoutMs or raise responseTimeoutMs.',
    ],
    [
      'neither baseUrl nor allowedOrigins',
      {},
      `SecureHttpClient: "httpClient.allowedOrigins" must be set when "httpClient.baseUrl" is not. Potential solution: set baseUrl, or list the origins requests may go to (allowedOrigins: ['https://api.example.com']), or allow any with '*'.`,
    ],
    [
      'an http: baseUrl without allowInsecureHttp',
      { baseUrl: 'http://api.example.com' },
      'SecureHttpClient: "httpClient.baseUrl" must be an https: URL. Potential solution: use https:, or for tests only set "httpClient.allowInsecureHttp": true.',
    ],
    [
      'credentials in baseUrl',
      { baseUrl: 'https://user:pw@api.example.com' },
      'SecureHttpClient: "httpClient.baseUrl" must not hold credentials. Potential solution: remove "user:password@".',
    ],
    [
      'a query string in baseUrl',
      { baseUrl: 'https://api.example.com/?key=1' },
      'SecureHttpClient: "httpClient.baseUrl" must not have a query string.',
    ],
    [
      'an allowed origin with a path',
      { allowedOrigins: ['https://api.example.com/v1'] },
      `SecureHttpClient: "httpClient.allowedOrigins[0]" must be an origin: scheme, host and optional port only. Potential solution: use 'https://api.example.com'.`,
    ],
    [
      'an unknown option',
      { ...BASE, timeout: 5 },
      'SecureHttpClient: "httpClient.timeout" is not an option. Potential solution: use one of baseUrl, allowedOrigins, allowInsecureHttp, connectTimeoutMs, responseTimeoutMs, maxResponseBytes, keepAliveTimeoutMs, maxConnectionsPerOrigin, retry, circuitBreaker, tls, clientCredentials.',
    ],
    [
      'zero attempts',
      { ...BASE, retry: { attempts: 0 } },
      'SecureHttpClient: "httpClient.retry.attempts" must be a positive integer (attempts).',
    ],
    [
      'a typo in retry',
      { ...BASE, retry: { maxAttempts: 2 } },
      'SecureHttpClient: "httpClient.retry.maxAttempts" is not an option. Potential solution: use one of attempts, initialDelayMs, maxDelayMs, maxRetryAfterMs.',
    ],
    [
      'a breaker that never opens',
      { ...BASE, circuitBreaker: { consecutiveFailures: 0 } },
      'SecureHttpClient: "httpClient.circuitBreaker.consecutiveFailures" must be a positive integer (failures).',
    ],
    [
      'a client certificate without its key',
      { ...BASE, tls: { certFile: '/etc/tls/tls.crt' } },
      'SecureHttpClient: "httpClient.tls.keyFile" must be set with the client certificate.',
    ],
    [
      'a file and memory for the same item',
      { ...BASE, tls: { caFile: '/etc/tls/ca.crt', ca: 'pem' } },
      'SecureHttpClient: "httpClient.tls.ca" cannot be set with "httpClient.tls.caFile". Potential solution: set one of them.',
    ],
    [
      'watch without files',
      { ...BASE, tls: { cert: 'c', key: 'k', watch: true } },
      'SecureHttpClient: "httpClient.tls.watch" needs files to watch. Potential solution: use certFile/keyFile/caFile.',
    ],
    [
      'a tls section that sets nothing',
      { ...BASE, tls: {} },
      'SecureHttpClient: "httpClient.tls" sets neither a client certificate nor CAs. Potential solution: remove it, or set them.',
    ],
    [
      'both tokenEndpoint and issuer',
      {
        ...BASE,
        clientCredentials: {
          tokenEndpoint: 'https://auth.example/token',
          issuer: 'https://auth.example',
          clientId: 'a',
          clientSecret: 'b',
        },
      },
      'SecureHttpClient: "httpClient.clientCredentials" must set exactly one of "tokenEndpoint" and "issuer".',
    ],
    [
      'an http: token endpoint without allowInsecureHttp',
      {
        ...BASE,
        clientCredentials: {
          tokenEndpoint: 'http://auth.example/token',
          clientId: 'a',
          clientSecret: 'b',
        },
      },
      'SecureHttpClient: "httpClient.clientCredentials.tokenEndpoint" must be an https: URL. Potential solution: use https:, or for tests only set "httpClient.allowInsecureHttp": true.',
    ],
    [
      'an empty secret',
      {
        ...BASE,
        clientCredentials: {
          tokenEndpoint: 'https://auth.example/token',
          clientId: 'a',
          clientSecret: '',
        },
      },
      'SecureHttpClient: "httpClient.clientCredentials.clientSecret" must be a non-empty string.',
    ],
    [
      'a scope with a quote',
      {
        ...BASE,
        clientCredentials: {
          tokenEndpoint: 'https://auth.example/token',
          clientId: 'a',
          clientSecret: 'b',
          scope: ['ok', 'no"pe'],
        },
      },
      'SecureHttpClient: "httpClient.clientCredentials.scope[1]" must be made of RFC 6749 §3.3 scope tokens (printable ASCII, no space, quote or backslash), separated by single spaces.',
    ],
  ])('refuses %s, naming the option', (_name, options, message) => {
    const error = refusal(options);
    expect(error.code).toBe(SecureApiErrorCode.INVALID_OPTIONS);
    expect(error.message).toBe(message);
  });

  it('never quotes the client secret, and hides it from enumeration', () => {
    const resolved = resolveHttpClientOptions({
      ...BASE,
      clientCredentials: {
        tokenEndpoint: 'https://auth.example/token',
        clientId: 'svc',
        clientSecret: 'hunter2-secret',
        scope: 'b a b',
      },
    });

    expect(resolved.clientCredentials).toMatchObject({
      clientSecret: 'hunter2-secret',
      authMethod: 'client_secret_basic',
      scope: 'b a',
      refreshBeforeExpirySeconds: 60,
    });
    expect(JSON.stringify(resolved)).not.toContain('hunter2');
    expect(Object.keys(resolved.clientCredentials ?? {})).not.toContain('clientSecret');
    const error = refusal({
      ...BASE,
      clientCredentials: {
        tokenEndpoint: 'https://auth.example/token',
        clientId: 'svc',
        clientSecret: 42,
      },
    });
    expect(error.message).not.toContain('42');
  });

  it('reads TLS material given in memory', () => {
    const tls = resolveHttpClientOptions({
      ...BASE,
      tls: { cert: 'C', key: Buffer.from('K'), ca: ['A', 'B'] },
    }).tls;

    expect(tls?.cert?.toString()).toBe('C');
    expect(tls?.key?.toString()).toBe('K');
    expect(tls?.ca?.map(String)).toEqual(['A', 'B']);
    expect(tls?.watch).toBe(false);
  });
});
