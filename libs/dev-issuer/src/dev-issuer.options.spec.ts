import { SecureApiError, SecureApiErrorCode } from '@secure-api/nestjs';
import { type DevIssuerOptions, resolveDevIssuerOptions } from './dev-issuer.options.js';

const base: DevIssuerOptions = {
  resource: 'https://thumbnails.local',
  scopes: ['thumbnails.write', 'thumbnails.read'],
};
const pem = { ca: 'ca-pem', cert: 'cert-pem', key: 'key-pem' };

describe('resolveDevIssuerOptions', () => {
  it('applies the defaults: port 0, no clients, no TLS, 5 token requests a minute', () => {
    expect(resolveDevIssuerOptions(base)).toEqual({
      port: 0,
      resource: 'https://thumbnails.local',
      scopes: ['thumbnails.write', 'thumbnails.read'],
      clients: [],
      userClient: undefined,
      tls: undefined,
      tokenRateLimit: { limit: 5, windowMs: 60_000 },
    });
  });

  it('returns frozen options', () => {
    const resolved = resolveDevIssuerOptions({
      ...base,
      clients: [{ clientId: 'uploader', scopes: ['thumbnails.write'] }],
    });

    expect(Object.isFrozen(resolved)).toBe(true);
    expect(Object.isFrozen(resolved.clients)).toBe(true);
    expect(Object.isFrozen(resolved.clients[0])).toBe(true);
  });

  it('makes a random 256-bit secret for a client_secret_basic client that has none', () => {
    const options = { ...base, clients: [{ clientId: 'uploader', scopes: [] }] };
    const first = resolveDevIssuerOptions(options).clients[0];
    const second = resolveDevIssuerOptions(options).clients[0];

    expect(first?.authMethod).toBe('client_secret_basic');
    expect(first?.clientSecret).toMatch(/^[\w-]{43}$/);
    expect(first?.clientSecret).not.toBe(second?.clientSecret);
  });

  it('registers a tlsClientAuth client without a secret', () => {
    const [client] = resolveDevIssuerOptions({
      ...base,
      tls: pem,
      clients: [{ clientId: 'worker', scopes: [], tlsClientAuth: { sanDns: 'worker.test' } }],
    }).clients;

    expect(client).toEqual({
      clientId: 'worker',
      scopes: [],
      authMethod: 'tls_client_auth',
      clientSecret: undefined,
      tlsClientAuth: { sanDns: 'worker.test' },
    });
  });

  it('accepts tokenRateLimit: false', () => {
    expect(resolveDevIssuerOptions({ ...base, tokenRateLimit: false }).tokenRateLimit).toBe(false);
  });

  it.each<[string, DevIssuerOptions, string]>([
    [
      'a relative resource',
      { ...base, resource: 'thumbnails' },
      '"resource" must be an absolute URI without a fragment (RFC 8707 §2)',
    ],
    [
      'a resource with a fragment',
      { ...base, resource: 'https://thumbnails.local/#x' },
      '"resource" must be an absolute URI without a fragment (RFC 8707 §2)',
    ],
    [
      'a scope with a space',
      { ...base, scopes: ['thumbnails write'] },
      '"scopes[0]" must be a scope token (RFC 6749 §3.3: no spaces, quotes or \\)',
    ],
    [
      'the openid scope',
      { ...base, scopes: ['openid'] },
      '"scopes[0]" "openid" is an OpenID scope',
    ],
    [
      'a fractional port',
      { ...base, port: 1.5 },
      '"port" must be an integer from 0 to 65535, got 1.5',
    ],
    [
      'a client scope the service does not know',
      { ...base, clients: [{ clientId: 'a', scopes: ['thumbnails.read', 'admin'] }] },
      '"clients[0].scopes[1]" names "admin", which is not in "scopes"',
    ],
    [
      'a client registered twice',
      {
        ...base,
        clients: [
          { clientId: 'a', scopes: [] },
          { clientId: 'a', scopes: [] },
        ],
      },
      '"clients[1].clientId" "a" is registered twice',
    ],
    [
      'tlsClientAuth without tls',
      {
        ...base,
        clients: [{ clientId: 'w', scopes: [], tlsClientAuth: { sanUri: 'spiffe://x/w' } }],
      },
      '"tls" is required: clients[0] uses tlsClientAuth',
    ],
    [
      'tlsClientAuth with a secret',
      {
        ...base,
        tls: pem,
        clients: [
          {
            clientId: 'w',
            scopes: [],
            clientSecret: 's',
            tlsClientAuth: { sanUri: 'spiffe://x/w' },
          },
        ],
      },
      '"clients[0].clientSecret" is not allowed with tlsClientAuth (pick one method)',
    ],
    [
      'tlsClientAuth naming two identities',
      {
        ...base,
        tls: pem,
        clients: [
          { clientId: 'w', scopes: [], tlsClientAuth: { sanUri: 'spiffe://x/w', sanDns: 'w' } },
        ],
      },
      '"clients[0].tlsClientAuth" must set exactly one of sanUri, sanDns, subjectDn',
    ],
    [
      'a user client without redirect URIs',
      { ...base, userClient: { clientId: 'web', redirectUris: [], scopes: [] } },
      '"userClient.redirectUris" must be a non-empty array of absolute URLs',
    ],
    [
      'a user client with the id of a machine client',
      {
        ...base,
        clients: [{ clientId: 'web', scopes: [] }],
        userClient: { clientId: 'web', redirectUris: ['http://127.0.0.1/cb'], scopes: [] },
      },
      '"userClient.clientId" "web" is registered twice',
    ],
    [
      'a zero rate limit',
      { ...base, tokenRateLimit: { limit: 0 } },
      '"tokenRateLimit.limit" must be a positive integer, got 0',
    ],
  ])('refuses %s, naming the path', (_case, options, message) => {
    expect.assertions(2);
    try {
      resolveDevIssuerOptions(options);
    } catch (error) {
      expect(error).toBeInstanceOf(SecureApiError);
      expect(error).toMatchObject({
        code: SecureApiErrorCode.INVALID_OPTIONS,
        message: `startDevIssuer: ${message}`,
      });
    }
  });
});
