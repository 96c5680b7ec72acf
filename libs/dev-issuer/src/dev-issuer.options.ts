import { randomBytes } from 'node:crypto';
import { SecureApiError, SecureApiErrorCode } from '@secure-api/nestjs';

/**
 * Which certificate identity a `tls_client_auth` client must present (RFC 8705 §2.1.2): exactly
 * one of the fields. The certificate must also chain to {@link DevIssuerTlsOptions.ca}.
 * @example
 * { sanUri: 'spiffe://example.org/sa/uploader' }
 */
export interface TlsClientAuthIdentity {
  /** `tls_client_auth_san_uri`: a URI SAN of the certificate, e.g. a SPIFFE ID. */
  sanUri?: string;
  /** `tls_client_auth_san_dns`: a DNS SAN of the certificate. */
  sanDns?: string;
  /**
   * `tls_client_auth_subject_dn`: the certificate's subject as Node.js prints it
   * (`X509Certificate.subject`) with its lines joined by `,`, e.g. `'CN=uploader'` or
   * `'C=DE,O=Example,CN=uploader'`.
   */
  subjectDn?: string;
}

/**
 * A machine client of the client credentials grant.
 * @example
 * { clientId: 'uploader', scopes: ['thumbnails.write'] }
 * { clientId: 'worker', scopes: ['thumbnails.read'], tlsClientAuth: { sanUri: spiffeId } }
 */
export interface DevIssuerMachineClient {
  /** The `client_id`. */
  clientId: string;
  /**
   * Scopes the client may ask for; a token request naming another scope of
   * {@link DevIssuerOptions.scopes} is refused with `invalid_scope`.
   */
  scopes: readonly string[];
  /**
   * The `client_secret` for `client_secret_basic`. Not allowed with `tlsClientAuth`.
   * @default 32 random bytes, base64url, made at start (read it from `DevIssuer.clients`)
   */
  clientSecret?: string;
  /**
   * Authenticate with `tls_client_auth` over the mutual-TLS token endpoint instead of a secret;
   * its tokens are bound to the certificate (`cnf["x5t#S256"]`, RFC 8705 §3). Needs `tls`.
   */
  tlsClientAuth?: TlsClientAuthIdentity;
}

/**
 * The user-facing (public, browser or native) client of the authorization code grant with PKCE.
 * @example
 * { clientId: 'thumbnail-web', redirectUris: ['http://127.0.0.1:8080/callback'], scopes: ['thumbnails.read'] }
 */
export interface DevIssuerUserClient {
  /** The `client_id`. */
  clientId: string;
  /** Registered `redirect_uri`s, compared exactly. */
  redirectUris: readonly string[];
  /** Scopes it may ask for, besides `openid`. */
  scopes: readonly string[];
}

/** The mutual-TLS token endpoint (RFC 8705 §5). PEM strings, e.g. from `createTestPki()`. */
export interface DevIssuerTlsOptions {
  /** CA certificate(s) that client certificates must chain to. */
  ca: string | readonly string[];
  /** The server certificate (valid for 127.0.0.1), with any intermediates. */
  cert: string;
  /** Its private key. */
  key: string;
  /**
   * Port of the mutual-TLS endpoint on 127.0.0.1.
   * @default 0 (any free port)
   */
  port?: number;
}

/** The token endpoint's rate limit. */
export interface TokenRateLimitOptions {
  /**
   * Token requests allowed per client IP within `windowMs`.
   * @default 5
   */
  limit?: number;
  /**
   * The sliding window, milliseconds.
   * @default 60_000
   */
  windowMs?: number;
}

/**
 * Options of `startDevIssuer()`.
 * @example
 * await startDevIssuer({
 *   resource: 'https://thumbnails.local',
 *   scopes: ['thumbnails.write', 'thumbnails.read'],
 *   clients: [{ clientId: 'uploader', scopes: ['thumbnails.write'] }],
 * });
 */
export interface DevIssuerOptions {
  /**
   * Port of the issuer (plain HTTP) on 127.0.0.1.
   * @default 0 (any free port)
   */
  port?: number;
  /**
   * The service's resource indicator (RFC 8707): the `aud` of every access token, and the
   * resource used when a request names none.
   */
  resource: string;
  /** The scopes the service understands, e.g. `['thumbnails.write', 'thumbnails.read']`. */
  scopes: readonly string[];
  /**
   * Machine clients (client credentials grant).
   * @default []
   */
  clients?: readonly DevIssuerMachineClient[];
  /**
   * The authorization code client; omitted means none is registered.
   */
  userClient?: DevIssuerUserClient;
  /**
   * The mutual-TLS token endpoint; required when a client uses `tlsClientAuth`.
   */
  tls?: DevIssuerTlsOptions;
  /**
   * The token endpoint's per-IP rate limit (on both token endpoints together), or `false` for
   * none.
   * @default { limit: 5, windowMs: 60_000 }
   */
  tokenRateLimit?: TokenRateLimitOptions | false;
}

/** A machine client as registered, with its secret. */
export type ResolvedMachineClient =
  | {
      readonly clientId: string;
      readonly scopes: readonly string[];
      readonly authMethod: 'client_secret_basic';
      readonly clientSecret: string;
      readonly tlsClientAuth: undefined;
    }
  | {
      readonly clientId: string;
      readonly scopes: readonly string[];
      readonly authMethod: 'tls_client_auth';
      readonly clientSecret: undefined;
      readonly tlsClientAuth: Readonly<TlsClientAuthIdentity>;
    };

/** {@link DevIssuerOptions}, checked, with defaults applied, frozen. */
export interface ResolvedDevIssuerOptions {
  readonly port: number;
  readonly resource: string;
  readonly scopes: readonly string[];
  readonly clients: readonly ResolvedMachineClient[];
  readonly userClient: Readonly<DevIssuerUserClient> | undefined;
  readonly tls: (Readonly<DevIssuerTlsOptions> & { readonly port: number }) | undefined;
  readonly tokenRateLimit: Readonly<Required<TokenRateLimitOptions>> | false;
}

// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
const RESERVED_SCOPES = new Set(['openid', 'offline_access']);
const IDENTITY_FIELDS = ['sanUri', 'sanDns', 'subjectDn'] as const;

function fail(path: string, message: string): never {
  throw new SecureApiError(
    SecureApiErrorCode.INVALID_OPTIONS,
    `startDevIssuer: "${path}" ${message}`,
  );
}

function port(value: unknown, path: string): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65_535) {
    fail(path, `must be an integer from 0 to 65535, got ${JSON.stringify(value)}`);
  }
  return value;
}

function nonEmpty(value: unknown, path: string): string {
  if (typeof value !== 'string' || value.trim() === '') fail(path, 'must be a non-empty string');
  return value;
}

function scopeList(value: unknown, path: string, known?: ReadonlySet<string>): string[] {
  if (!Array.isArray(value)) fail(path, "must be an array of scopes, e.g. ['thumbnails.read']");
  return value.map((scope: unknown, index) => {
    if (typeof scope !== 'string' || !SCOPE_TOKEN.test(scope)) {
      fail(`${path}[${index}]`, 'must be a scope token (RFC 6749 §3.3: no spaces, quotes or \\)');
    }
    if (known !== undefined && !known.has(scope)) {
      fail(`${path}[${index}]`, `names "${scope}", which is not in "scopes"`);
    }
    return scope;
  });
}

function positiveInteger(value: unknown, fallback: number, path: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    fail(path, `must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

function identity(value: TlsClientAuthIdentity, path: string): TlsClientAuthIdentity {
  const set = IDENTITY_FIELDS.filter((field) => value[field] !== undefined);
  if (set.length !== 1) {
    fail(path, `must set exactly one of ${IDENTITY_FIELDS.join(', ')}`);
  }
  const [field] = set as [(typeof IDENTITY_FIELDS)[number]];
  return Object.freeze({ [field]: nonEmpty(value[field], `${path}.${field}`) });
}

/**
 * Checks {@link DevIssuerOptions} and applies the defaults, once. Refuses wrong options with a
 * `SecureApiError` (`ERR_SECURE_API_INVALID_OPTIONS`) naming the offending path.
 */
export function resolveDevIssuerOptions(options: DevIssuerOptions): ResolvedDevIssuerOptions {
  const resource = nonEmpty(options.resource, 'resource');
  if (!URL.canParse(resource) || resource.includes('#')) {
    fail('resource', 'must be an absolute URI without a fragment (RFC 8707 §2)');
  }
  const scopes = scopeList(options.scopes, 'scopes');
  scopes.forEach((scope, index) => {
    if (RESERVED_SCOPES.has(scope)) fail(`scopes[${index}]`, `"${scope}" is an OpenID scope`);
  });
  const known = new Set(scopes);
  const tls =
    options.tls === undefined
      ? undefined
      : Object.freeze({
          ca: options.tls.ca,
          cert: nonEmpty(options.tls.cert, 'tls.cert'),
          key: nonEmpty(options.tls.key, 'tls.key'),
          port: port(options.tls.port, 'tls.port'),
        });
  const seen = new Set<string>();
  const clientId = (value: unknown, path: string): string => {
    const id = nonEmpty(value, path);
    if (seen.has(id)) fail(path, `"${id}" is registered twice`);
    seen.add(id);
    return id;
  };
  const clients = (options.clients ?? []).map((client, index): ResolvedMachineClient => {
    const path = `clients[${index}]`;
    const id = clientId(client.clientId, `${path}.clientId`);
    const clientScopes = scopeList(client.scopes, `${path}.scopes`, known);
    if (client.tlsClientAuth !== undefined) {
      if (client.clientSecret !== undefined) {
        fail(`${path}.clientSecret`, 'is not allowed with tlsClientAuth (pick one method)');
      }
      if (tls === undefined) fail('tls', `is required: ${path} uses tlsClientAuth`);
      return Object.freeze({
        clientId: id,
        scopes: Object.freeze(clientScopes),
        authMethod: 'tls_client_auth',
        clientSecret: undefined,
        tlsClientAuth: identity(client.tlsClientAuth, `${path}.tlsClientAuth`),
      });
    }
    return Object.freeze({
      clientId: id,
      scopes: Object.freeze(clientScopes),
      authMethod: 'client_secret_basic',
      clientSecret:
        client.clientSecret === undefined
          ? randomBytes(32).toString('base64url')
          : nonEmpty(client.clientSecret, `${path}.clientSecret`),
      tlsClientAuth: undefined,
    });
  });
  let userClient: ResolvedDevIssuerOptions['userClient'];
  if (options.userClient !== undefined) {
    const given: unknown = options.userClient.redirectUris;
    if (!Array.isArray(given) || given.length === 0) {
      fail('userClient.redirectUris', 'must be a non-empty array of absolute URLs');
    }
    const redirectUris = given.map((uri: unknown, index): string => {
      if (typeof uri !== 'string' || !URL.canParse(uri) || uri.includes('#')) {
        fail(`userClient.redirectUris[${index}]`, 'must be an absolute URL without a fragment');
      }
      return uri;
    });
    userClient = Object.freeze({
      clientId: clientId(options.userClient.clientId, 'userClient.clientId'),
      redirectUris: Object.freeze(redirectUris),
      scopes: Object.freeze(scopeList(options.userClient.scopes, 'userClient.scopes', known)),
    });
  }
  const limit = options.tokenRateLimit;
  return Object.freeze({
    port: port(options.port, 'port'),
    resource,
    scopes: Object.freeze(scopes),
    clients: Object.freeze(clients),
    userClient,
    tls,
    tokenRateLimit:
      limit === false
        ? false
        : Object.freeze({
            limit: positiveInteger(limit?.limit, 5, 'tokenRateLimit.limit'),
            windowMs: positiveInteger(limit?.windowMs, 60_000, 'tokenRateLimit.windowMs'),
          }),
  });
}
