import { DEFAULTS, loadServiceConfig, ServiceConfigError } from './service.config.js';

const REQUIRED = {
  AUTH_ISSUER: 'https://id.example.com',
  TLS_CERT_FILE: '/etc/tls/server.crt',
  TLS_KEY_FILE: '/etc/tls/server.key',
  TLS_CA_FILE: '/etc/tls/ca.crt',
};

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadServiceConfig(env);
  } catch (error) {
    if (error instanceof ServiceConfigError) return error.problems;
    throw error;
  }
  throw new Error('loadServiceConfig accepted the environment');
}

describe('loadServiceConfig', () => {
  it('defaults to loopback, memory limits and AWS S3, and freezes the result', () => {
    const config = loadServiceConfig(REQUIRED);
    expect(config).toEqual({
      host: '127.0.0.1',
      port: 3000,
      authIssuer: 'https://id.example.com',
      authAudience: DEFAULTS.authAudience,
      authJwksUri: undefined,
      tls: {
        certFile: '/etc/tls/server.crt',
        keyFile: '/etc/tls/server.key',
        caFile: '/etc/tls/ca.crt',
        allowedPeers: undefined,
        adminPeers: ['spiffe://example.org/sa/operator'],
      },
      s3Endpoint: undefined,
      s3Region: 'us-east-1',
      redisUrl: undefined,
      logLevel: 'info',
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.tls)).toBe(true);
  });

  it('reads every variable', () => {
    expect(
      loadServiceConfig({
        ...REQUIRED,
        HOST: '::1',
        PORT: '8443',
        AUTH_AUDIENCE: 'https://thumbs.example.com',
        AUTH_JWKS_URI: 'http://127.0.0.1:9400/jwks',
        TLS_ALLOWED_PEERS: 'spiffe://example.org/sa/uploader,spiffe://example.org/sa/web',
        LOG_ADMIN_PEERS: 'spiffe://example.org/sa/ops',
        S3_ENDPOINT: 'http://127.0.0.1:4569',
        S3_REGION: 'eu-west-1',
        REDIS_URL: 'redis://127.0.0.1:6379',
        LOG_LEVEL: 'debug',
      }),
    ).toMatchObject({
      host: '::1',
      port: 8443,
      authAudience: 'https://thumbs.example.com',
      authJwksUri: 'http://127.0.0.1:9400/jwks',
      tls: {
        allowedPeers: ['spiffe://example.org/sa/uploader', 'spiffe://example.org/sa/web'],
        adminPeers: ['spiffe://example.org/sa/ops'],
      },
      s3Endpoint: 'http://127.0.0.1:4569',
      s3Region: 'eu-west-1',
      redisUrl: 'redis://127.0.0.1:6379',
      logLevel: 'debug',
    });
  });

  it('names every missing variable at once', () => {
    expect(problemsOf({})).toEqual([
      'AUTH_ISSUER must be the http(s) URL of the token issuer',
      'TLS_CERT_FILE must be the path of the server certificate (PEM)',
      'TLS_KEY_FILE must be the path of the server key (PEM)',
      'TLS_CA_FILE must be the path of the CA for client certificates (PEM)',
    ]);
  });

  it.each<[string, string, string]>([
    ['PORT', 'abc', 'PORT must be an integer from 0 to 65535'],
    ['PORT', '70000', 'PORT must be an integer from 0 to 65535'],
    ['PORT', '-1', 'PORT must be an integer from 0 to 65535'],
    ['PORT', '1.5', 'PORT must be an integer from 0 to 65535'],
    ['AUTH_ISSUER', 'id.example.com', 'AUTH_ISSUER must be the http(s) URL of the token issuer'],
    [
      'AUTH_ISSUER',
      'ftp://id.example.com',
      'AUTH_ISSUER must be the http(s) URL of the token issuer',
    ],
    ['AUTH_JWKS_URI', 'keys', 'AUTH_JWKS_URI must be an http(s) URL'],
    ['TLS_ALLOWED_PEERS', 'uploader', 'TLS_ALLOWED_PEERS must be comma-separated SPIFFE IDs'],
    [
      'TLS_ALLOWED_PEERS',
      'spiffe://example.org/sa/a, spiffe://example.org/sa/b',
      'TLS_ALLOWED_PEERS must be comma-separated SPIFFE IDs',
    ],
    ['S3_ENDPOINT', 's3.local', 'S3_ENDPOINT must be an http(s) URL'],
    ['S3_REGION', 'Europe', 'S3_REGION must be a region name, e.g. eu-west-1'],
    ['REDIS_URL', 'http://127.0.0.1:6379', 'REDIS_URL must be a redis:// or rediss:// URL'],
    [
      'LOG_LEVEL',
      'verbose',
      'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
    ],
  ])('refuses %s=%s, naming the variable and not the value', (name, value, message) => {
    const problems = problemsOf({ ...REQUIRED, [name]: value });
    expect(problems).toEqual([message]);
    expect(problems.join('\n')).not.toContain(value);
  });

  it('ignores variables it does not read', () => {
    expect(() =>
      loadServiceConfig({ ...REQUIRED, AWS_SECRET_ACCESS_KEY: 'x', PATH: '/bin' }),
    ).not.toThrow();
  });
});
