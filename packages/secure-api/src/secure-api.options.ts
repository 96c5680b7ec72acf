import {
  type LoggingOptions,
  type ResolvedLoggingOptions,
  resolveLoggingOptions,
} from './logging/logging-options.js';
import helmet, { type HelmetOptions } from 'helmet';
import { HELMET_OPTION_NAMES, helmetOptionsFor } from './headers/helmet-options.js';
import {
  booleanOption,
  describeValue,
  isRecord,
  knownKeys,
  nonEmptyStrings,
  OptionsError,
  positiveInteger,
} from './option-checks.js';
import {
  type ResolvedThrottleOptions,
  resolveThrottleOptions,
  type ThrottleOptions,
} from './throttling/throttle-options.js';
import { type ResolvedTlsOptions, resolveTlsOptions, type TlsOptions } from './tls/tls-options.js';
import {
  type BodyOptions,
  type ResolvedBodyOptions,
  resolveBodyOptions,
} from './validation/body-options.js';
import {
  type ResolvedTimeoutOptions,
  resolveTimeoutOptions,
  type TimeoutOptions,
} from './validation/server-timeouts.js';

/** JWS algorithms the verifier can be configured to accept (RFC 7518 §3.1, asymmetric only). */
export const SUPPORTED_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
] as const;

/** One of {@link SUPPORTED_ALGORITHMS}. */
export type JwsAlgorithm = (typeof SUPPORTED_ALGORITHMS)[number];

/** How the route audit treats a route with neither `@Scopes()` nor `@Public()`. */
export type RouteAuditMode = 'error' | 'warn' | 'off';

/** JWKS key store settings. */
export interface JwksOptions {
  /**
   * How long a fetched key set is used before it is refreshed in the background.
   * @default 600
   */
  cacheMaxAgeSeconds?: number;
  /**
   * After a token names an unknown `kid`, the key set is refetched at once, then not again for
   * this long, so a flood of made-up `kid`s costs the issuer one request.
   * @default 30
   */
  refetchCooldownSeconds?: number;
  /**
   * Timeout of one JWKS or discovery request.
   * @default 5
   */
  fetchTimeoutSeconds?: number;
  /**
   * Largest JWKS or discovery response accepted, in bytes.
   * @default 262144
   */
  maxResponseBytes?: number;
  /**
   * Allow fetching keys over plain `http:` from a host other than the loopback interface.
   * Unsafe: anyone on the path can substitute keys. Loopback URLs (tests, sidecars) are always
   * allowed.
   * @default false
   */
  allowInsecureHttp?: boolean;
}

/** Verified-token cache settings. */
export interface TokenCacheOptions {
  /**
   * Number of verified tokens kept (least recently used are evicted).
   * @default 1000
   */
  maxEntries?: number;
  /**
   * Longest time a verified token is served from the cache; never past the token's `exp`. At
   * most 60: a cached principal outlives a key removed from the JWKS until the next key-set
   * fetch, so the cache must not stretch that window.
   * @default 60
   */
  maxTtlSeconds?: number;
}

/** Bearer-token authentication settings. */
export interface AuthOptions {
  /**
   * Accepted `iss` value or values, compared as exact strings (no trailing-slash normalisation).
   * @example 'https://id.example.com'
   */
  issuer: string | readonly string[];
  /**
   * This service's audience: the token's `aud` must contain one of these.
   * @example 'https://thumbs.example.com'
   */
  audience: string | readonly string[];
  /**
   * Where the issuer publishes its keys. When omitted, `jwks_uri` is read from the issuer's
   * `/.well-known/openid-configuration`, then from `/.well-known/oauth-authorization-server`.
   */
  jwksUri?: string;
  /**
   * Allowlist of JWS algorithms. `none` and the HMAC algorithms are refused at boot: a service
   * that verifies with a shared secret can also mint tokens.
   * @default ['RS256', 'PS256', 'ES256']
   */
  algorithms?: readonly JwsAlgorithm[];
  /**
   * Leeway for `exp`, `nbf` and `iat`, in seconds. At most 300.
   * @default 30
   */
  clockToleranceSeconds?: number;
  /**
   * Required `typ` header, compared case-insensitively with or without the `application/`
   * prefix; `'at+jwt'` enforces RFC 9068 access tokens.
   * @default undefined (any type)
   */
  requireTokenType?: string;
  /**
   * Refuse tokens whose `iat` is older than this many seconds (requires `iat`).
   * @default undefined (no limit)
   */
  maxTokenAgeSeconds?: number;
  /**
   * Claims that carry scopes: a space-delimited string, or an array of strings.
   * @default ['scope', 'scp']
   */
  scopeClaims?: readonly string[];
  /**
   * The `realm` of `WWW-Authenticate` challenges.
   * @default 'secure-api'
   */
  realm?: string;
  /**
   * Longest bearer token accepted, in characters. Longer ones are refused before any decoding.
   * @default 8192
   */
  maxTokenLength?: number;
  /**
   * Refuse access tokens that are not bound to the client certificate (`cnf["x5t#S256"]`,
   * RFC 8705 §3) with 401 `invalid_token`. Bound tokens are checked against the connection
   * whether or not this is set; this refuses the unbound ones too, so that a stolen token is
   * useless without the client's private key.
   * @default false
   */
  requireCertificateBoundTokens?: boolean;
  /** JWKS key store settings. */
  jwks?: JwksOptions;
  /**
   * Verified-token cache, or `false` to verify every request.
   * @default { maxEntries: 1000, maxTtlSeconds: 60 }
   */
  tokenCache?: TokenCacheOptions | false;
}

/** Security response headers, set by helmet on every response. */
export interface HeadersOptions {
  /**
   * helmet options, merged over this module's defaults (shallow: a key given here replaces
   * the default of that header). The defaults are helmet's own, with
   * `Strict-Transport-Security: max-age=31536000; includeSubDomains` on responses to requests
   * that arrived over TLS. HSTS is never sent over plain HTTP, whatever is set here (RFC 6797
   * §7.2). The legacy alias `hsts` is refused: use `strictTransportSecurity`.
   * @default {}
   * @example { contentSecurityPolicy: { directives: { 'default-src': ["'none'"] } } }
   * @see https://helmetjs.github.io/
   */
  helmet?: HelmetOptions;
}

/**
 * Cross-origin resource sharing. Origins are matched exactly, never computed: there is no
 * function, RegExp or `true` origin, so no configuration can reflect an arbitrary `Origin`.
 * @see https://fetch.spec.whatwg.org/#http-cors-protocol
 */
export interface CorsOptions {
  /**
   * The origins allowed to read responses, each exactly as browsers send it in the `Origin`
   * header: `scheme://host[:port]`, lower case, without path, trailing slash or default port.
   * `'*'`, alone, allows any origin, and only without credentials. `'null'` (sandboxed
   * frames, `file:` pages) is refused: any page can make its requests carry it.
   * @example ['https://app.example.com', 'http://localhost:5173']
   */
  origins: readonly string[];
  /**
   * Send `Access-Control-Allow-Credentials: true`, letting the allowed origins send cookies
   * and read the responses to requests that carry them. Refused together with `'*'`.
   * @default false
   */
  credentials?: boolean;
  /**
   * Methods answered in `Access-Control-Allow-Methods` to a preflight.
   * @default ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']
   */
  methods?: readonly string[];
  /**
   * Request headers answered in `Access-Control-Allow-Headers` to a preflight. Never
   * reflected from `Access-Control-Request-Headers`.
   * @default ['authorization', 'content-type']
   */
  allowedHeaders?: readonly string[];
  /**
   * Response headers the allowed origins may read, in `Access-Control-Expose-Headers`.
   * @default []
   */
  exposedHeaders?: readonly string[];
  /**
   * How long a browser may cache a preflight answer (`Access-Control-Max-Age`). At most 86400.
   * @default 600
   */
  maxAgeSeconds?: number;
}

/** Options of {@link SecureApiModule}. */
export interface SecureApiModuleOptions {
  /** Bearer-token authentication. Required. */
  auth: AuthOptions;
  /**
   * At bootstrap, a route that has neither `@Scopes()` nor `@Public()` fails the boot (`'error'`),
   * is logged (`'warn'`) or is ignored (`'off'`). Such a route is refused with 403 at run time in
   * every mode.
   * @default 'error'
   */
  routeAudit?: RouteAuditMode;
  /**
   * Security headers on every response. `false` turns them off, which is unsafe: it is meant
   * only for an app whose responses get these headers elsewhere, such as from a gateway. The
   * refusal of `TRACE` / `TRACK` and of method-override headers stays on either way.
   * @default {} (helmet's defaults, plus HSTS over TLS)
   */
  headers?: HeadersOptions | false;
  /**
   * The global {@link SecureValidationPipe}: bodies, query strings and route parameters are
   * checked against their DTO classes (class-validator), unknown members refused, and failures
   * answered with `400 ERR_SECURE_API_VALIDATION_FAILED` listing JSON Pointers. `false` removes
   * the pipe, for an app that installs its own; the body-parser errors (malformed JSON, too
   * large, unsupported media type) stay mapped by the exception filter either way.
   * @default true
   */
  validation?: boolean;
  /**
   * Cross-origin resource sharing. Off unless configured: without it no response carries an
   * `Access-Control-*` header and a preflight is routed like any other request.
   * @default false
   */
  cors?: CorsOptions | false;
  /**
   * Body reading and parsing, by the module on both adapters: a 100 KiB limit counted after
   * decompression, JSON without `__proto__` / `constructor.prototype` members and at most 32
   * levels deep, urlencoded forms of at most 1,000 fields, `415` for any other media type. On
   * Express the app must be created with `{ bodyParser: false }` (the boot fails otherwise).
   * `false` leaves parsing to the framework's own parsers (larger limits, no depth limit, and on
   * Express `__proto__` members parsed into the body); it is unsafe and meant only for an app
   * that installs hardened parsers of its own.
   * @default {} (see {@link BodyOptions})
   */
  body?: BodyOptions | false;
  /**
   * Header, request and keep-alive time limits of the HTTP server, against slow clients.
   * `false` leaves the server's settings as they are (Node: 60 s for headers, 300 s per
   * request; Fastify: no request limit).
   * @default {} (see {@link TimeoutOptions})
   */
  timeouts?: TimeoutOptions | false;
  /**
   * Rate limits in tiers (per client address, per principal or API key, global), counted in
   * memory or in Redis, answered with `429` and `Retry-After`. Off unless configured: the right
   * limits and `trustProxy` depend on the deployment (behind a proxy without `trustProxy`, every
   * client shares the proxy's address).
   * @default false
   * @example throttle: { tiers: [{ name: 'ip', by: 'ip', limit: 300, ttl: 60_000 }] }
   */
  throttle?: ThrottleOptions | false;
  /**
   * Structured JSON logs through nestjs-pino: one masked line per request (request id,
   * principal, client address, action, status, duration), the request id and principal on
   * every line logged during a request, security events, a level that can be changed at run
   * time. The app installs the logger for its own and Nest's messages with
   * `app.useLogger(app.get(Logger))` (nestjs-pino's `Logger`). `false` leaves logging to the
   * app (see `SecureApiModule.loggerParams()`).
   * @default {} (see {@link LoggingOptions})
   */
  logging?: LoggingOptions | false;
  /**
   * Mutual TLS, when the app is served with `createHttpsOptions()` from the same files: peer
   * identities on every request (`principal.peer`, `@CurrentPeer()`), the `allowedPeers`
   * allowlist, hot rotation of the files (`watch`), session-ticket key rotation, connections
   * with an unverified certificate closed, refused handshakes logged as `mtls.rejected`. The
   * boot fails if the app does not serve HTTPS.
   * @default undefined (the module does not manage TLS)
   */
  tls?: TlsOptions;
}

/** The CORS options after defaults and validation; frozen. */
export interface ResolvedCorsOptions {
  readonly origins: readonly string[];
  readonly credentials: boolean;
  readonly methods: readonly string[];
  readonly allowedHeaders: readonly string[];
  readonly exposedHeaders: readonly string[];
  readonly maxAgeSeconds: number;
}

/** The options after defaults and validation; frozen. */
export interface ResolvedSecureApiOptions {
  readonly auth: {
    readonly issuers: readonly string[];
    readonly audiences: readonly string[];
    readonly jwksUri: string | undefined;
    readonly algorithms: readonly JwsAlgorithm[];
    readonly clockToleranceSeconds: number;
    readonly requireTokenType: string | undefined;
    readonly maxTokenAgeSeconds: number | undefined;
    readonly scopeClaims: readonly string[];
    readonly realm: string;
    readonly maxTokenLength: number;
    readonly requireCertificateBoundTokens: boolean;
    readonly jwks: Readonly<Required<JwksOptions>>;
    readonly tokenCache: Readonly<Required<TokenCacheOptions>> | false;
  };
  readonly routeAudit: RouteAuditMode;
  readonly headers: { readonly helmet: Readonly<HelmetOptions> } | false;
  readonly validation: boolean;
  readonly cors: ResolvedCorsOptions | false;
  readonly body: ResolvedBodyOptions | false;
  readonly timeouts: ResolvedTimeoutOptions | false;
  readonly throttle: ResolvedThrottleOptions | false;
  readonly logging: ResolvedLoggingOptions | false;
  readonly tls: ResolvedTlsOptions | undefined;
}

const MAX_CLOCK_TOLERANCE_SECONDS = 300;

function httpUrl(value: unknown, path: string, allowInsecureHttp: boolean): string {
  let url: URL | undefined;
  if (typeof value === 'string') {
    try {
      url = new URL(value);
    } catch {
      url = undefined;
    }
  }
  if (typeof value !== 'string' || url === undefined) {
    throw new OptionsError(path, 'must be an absolute https: URL');
  }
  assertFetchable(url, path, allowInsecureHttp);
  return value;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

/**
 * Keys fetched over plain HTTP can be replaced by anyone on the path, which makes every
 * signature check meaningless; loopback is the one place where that cannot happen.
 */
export function assertFetchable(url: URL, path: string, allowInsecureHttp: boolean): void {
  if (url.protocol === 'https:') return;
  if (url.protocol === 'http:' && (allowInsecureHttp || LOOPBACK_HOSTS.has(url.hostname))) return;
  throw new OptionsError(
    path,
    `must use https: (got ${url.protocol}//${url.host})`,
    'serve the keys over TLS, or set auth.jwks.allowInsecureHttp: true if you accept the risk',
  );
}

function resolveAlgorithms(value: unknown): JwsAlgorithm[] {
  if (value === undefined) return ['RS256', 'PS256', 'ES256'];
  if (!Array.isArray(value) || value.length === 0) {
    throw new OptionsError('auth.algorithms', 'must be a non-empty array', "e.g. ['RS256']");
  }
  return [
    ...new Set(
      value.map((alg: unknown, index): JwsAlgorithm => {
        const path = `auth.algorithms[${index}]`;
        if (typeof alg === 'string' && alg.toLowerCase() === 'none') {
          throw new OptionsError(path, 'is "none": unsigned tokens are never accepted');
        }
        if (typeof alg === 'string' && /^HS\d+$/i.test(alg)) {
          throw new OptionsError(
            path,
            `is "${alg}": HMAC algorithms are refused, because whoever can verify an HMAC token can also forge one`,
            'have the issuer sign with RS256, PS256 or ES256',
          );
        }
        if (!(SUPPORTED_ALGORITHMS as readonly unknown[]).includes(alg)) {
          throw new OptionsError(
            path,
            `must be one of ${SUPPORTED_ALGORITHMS.join(', ')}`,
            'algorithm names are case-sensitive (RFC 7518)',
          );
        }
        return alg as JwsAlgorithm;
      }),
    ),
  ];
}

function resolveJwks(value: unknown): Required<JwksOptions> {
  if (value !== undefined && !isRecord(value)) {
    throw new OptionsError('auth.jwks', 'must be an object');
  }
  const jwks = value ?? {};
  return Object.freeze({
    cacheMaxAgeSeconds: positiveInteger(
      jwks.cacheMaxAgeSeconds,
      'auth.jwks.cacheMaxAgeSeconds',
      600,
    ),
    refetchCooldownSeconds: positiveInteger(
      jwks.refetchCooldownSeconds,
      'auth.jwks.refetchCooldownSeconds',
      30,
    ),
    fetchTimeoutSeconds: positiveInteger(
      jwks.fetchTimeoutSeconds,
      'auth.jwks.fetchTimeoutSeconds',
      5,
      60,
    ),
    maxResponseBytes: positiveInteger(jwks.maxResponseBytes, 'auth.jwks.maxResponseBytes', 262_144),
    allowInsecureHttp: jwks.allowInsecureHttp === true,
  });
}

function resolveTokenCache(value: unknown): Required<TokenCacheOptions> | false {
  if (value === false) return false;
  if (value !== undefined && !isRecord(value)) {
    throw new OptionsError('auth.tokenCache', 'must be an object or false');
  }
  const cache = value ?? {};
  return Object.freeze({
    maxEntries: positiveInteger(cache.maxEntries, 'auth.tokenCache.maxEntries', 1000),
    maxTtlSeconds: positiveInteger(cache.maxTtlSeconds, 'auth.tokenCache.maxTtlSeconds', 60, 60),
  });
}

function resolveAuth(value: unknown): ResolvedSecureApiOptions['auth'] {
  if (!isRecord(value)) {
    throw new OptionsError(
      'auth',
      'is required',
      "SecureApiModule.forRoot({ auth: { issuer: 'https://id.example.com', audience: 'https://api.example.com' } })",
    );
  }
  const jwks = resolveJwks(value.jwks);
  const issuers = nonEmptyStrings(value.issuer, 'auth.issuer', 'https://id.example.com');
  const audiences = nonEmptyStrings(value.audience, 'auth.audience', 'https://api.example.com');
  const jwksUri =
    value.jwksUri === undefined
      ? undefined
      : httpUrl(value.jwksUri, 'auth.jwksUri', jwks.allowInsecureHttp);
  if (jwksUri === undefined) {
    issuers.forEach((issuer, index) => {
      let url: URL;
      try {
        url = new URL(issuer);
      } catch {
        throw new OptionsError(
          issuers.length > 1 ? `auth.issuer[${index}]` : 'auth.issuer',
          'must be an absolute URL when auth.jwksUri is not set (keys are discovered from it)',
          'set auth.jwksUri',
        );
      }
      assertFetchable(url, 'auth.issuer', jwks.allowInsecureHttp);
    });
  }
  const clockToleranceSeconds =
    value.clockToleranceSeconds === undefined ? 30 : value.clockToleranceSeconds;
  if (
    typeof clockToleranceSeconds !== 'number' ||
    !Number.isInteger(clockToleranceSeconds) ||
    clockToleranceSeconds < 0 ||
    clockToleranceSeconds > MAX_CLOCK_TOLERANCE_SECONDS
  ) {
    throw new OptionsError(
      'auth.clockToleranceSeconds',
      `must be an integer from 0 to ${MAX_CLOCK_TOLERANCE_SECONDS}`,
      'keep clocks in sync with NTP; 30 to 60 seconds is usual',
    );
  }
  const requireTokenType = value.requireTokenType;
  if (
    requireTokenType !== undefined &&
    (typeof requireTokenType !== 'string' || requireTokenType.trim() === '')
  ) {
    throw new OptionsError('auth.requireTokenType', 'must be a non-empty string', "e.g. 'at+jwt'");
  }
  const maxTokenAgeSeconds =
    value.maxTokenAgeSeconds === undefined
      ? undefined
      : positiveInteger(value.maxTokenAgeSeconds, 'auth.maxTokenAgeSeconds', 1);
  const scopeClaims =
    value.scopeClaims === undefined
      ? ['scope', 'scp']
      : nonEmptyStrings(value.scopeClaims, 'auth.scopeClaims', 'scope');
  const realm = value.realm === undefined ? 'secure-api' : value.realm;
  // The realm is sent inside a quoted-string; refusing quotes, backslashes and controls at boot
  // keeps every challenge header well formed (RFC 9110 §5.6.4).
  if (typeof realm !== 'string' || !/^[\x20\x21\x23-\x5b\x5d-\x7e]{1,128}$/.test(realm)) {
    throw new OptionsError(
      'auth.realm',
      'must be 1 to 128 printable ASCII characters without quotes or backslashes',
    );
  }
  return Object.freeze({
    issuers: Object.freeze(issuers),
    audiences: Object.freeze(audiences),
    jwksUri,
    algorithms: Object.freeze(resolveAlgorithms(value.algorithms)),
    clockToleranceSeconds,
    requireTokenType: requireTokenType?.trim(),
    maxTokenAgeSeconds,
    scopeClaims: Object.freeze(scopeClaims),
    realm,
    maxTokenLength: positiveInteger(value.maxTokenLength, 'auth.maxTokenLength', 8192, 65_536),
    requireCertificateBoundTokens: booleanOption(
      value.requireCertificateBoundTokens,
      'auth.requireCertificateBoundTokens',
      false,
    ),
    jwks,
    tokenCache: resolveTokenCache(value.tokenCache),
  });
}

function resolveHeaders(value: unknown): ResolvedSecureApiOptions['headers'] {
  if (value === false) return false;
  if (value !== undefined && !isRecord(value)) {
    throw new OptionsError('headers', 'must be an object or false');
  }
  const headers = value ?? {};
  knownKeys(headers, 'headers', ['helmet'], () => 'the one option is headers.helmet');
  const options = headers.helmet ?? {};
  if (!isRecord(options)) {
    throw new OptionsError(
      'headers.helmet',
      'must be an object of helmet options',
      "e.g. headers: { helmet: { xFrameOptions: { action: 'deny' } } }",
    );
  }
  for (const key of Object.keys(options)) {
    if (key === 'hsts') {
      throw new OptionsError(
        'headers.helmet.hsts',
        'is a legacy alias that this module does not accept',
        'use headers.helmet.strictTransportSecurity',
      );
    }
    if (!Object.hasOwn(HELMET_OPTION_NAMES, key)) {
      throw new OptionsError(
        `headers.helmet.${key}`,
        'is not a helmet option',
        `use one of ${Object.keys(HELMET_OPTION_NAMES).join(', ')}`,
      );
    }
  }
  const resolved = Object.freeze({ ...options }) as Readonly<HelmetOptions>;
  // helmet checks its options when a handler is built; building one here refuses a bad value
  // at boot, with the option path, rather than when the middleware is created.
  try {
    helmet(helmetOptionsFor(resolved, 'tls'));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new OptionsError(
      'headers.helmet',
      `is refused by helmet: ${message.replace(/\.$/, '')}`,
      undefined,
      error,
    );
  }
  return Object.freeze({ helmet: resolved });
}

const CORS_OPTION_NAMES: ReadonlySet<string> = new Set([
  'origins',
  'credentials',
  'methods',
  'allowedHeaders',
  'exposedHeaders',
  'maxAgeSeconds',
]);

/** RFC 9110 §5.6.2 `token`: what a method or header name may be. */
const HTTP_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function resolveCorsOrigin(value: unknown, path: string): string {
  if (typeof value !== 'string') {
    throw new OptionsError(
      path,
      `is ${describeValue(value)}: origins are compared as exact strings, never computed, so that no request can have its Origin reflected`,
      "list each origin, e.g. 'https://app.example.com'",
    );
  }
  if (value === '*') return value;
  if (value === 'null') {
    throw new OptionsError(
      path,
      "is 'null', the origin of sandboxed frames and file: pages, which any page can take on",
      'list the real origins of the pages that call this API',
    );
  }
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new OptionsError(
      path,
      `must be an http: or https: origin, scheme://host[:port] (got '${value}')`,
      "e.g. 'https://app.example.com'",
    );
  }
  if (url.origin !== value) {
    const hasPath = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*[/?#]/i.test(value);
    throw new OptionsError(
      path,
      hasPath
        ? `has a path, query or trailing slash (got '${value}'), which the Origin header never carries`
        : `is not written as browsers send the Origin header: lower case, no default port (got '${value}')`,
      `use '${url.origin}'`,
    );
  }
  return value;
}

function resolveTokens(value: unknown, path: string, fallback: readonly string[]): string[] {
  if (value === undefined) return [...fallback];
  if (!Array.isArray(value)) {
    throw new OptionsError(path, 'must be an array of strings');
  }
  value.forEach((item: unknown, index) => {
    if (typeof item !== 'string' || !HTTP_TOKEN.test(item)) {
      throw new OptionsError(`${path}[${index}]`, 'must be an HTTP token (RFC 9110 §5.6.2)');
    }
  });
  return [...new Set(value as string[])];
}

function resolveCors(value: unknown): ResolvedSecureApiOptions['cors'] {
  if (value === undefined || value === false) return false;
  if (!isRecord(value)) {
    throw new OptionsError(
      'cors',
      `must be an object or false (got ${describeValue(value)})`,
      "list the allowed origins, e.g. cors: { origins: ['https://app.example.com'] }",
    );
  }
  knownKeys(value, 'cors', CORS_OPTION_NAMES, (key) =>
    key === 'origin'
      ? 'use cors.origins, an array of exact origins'
      : `use one of ${[...CORS_OPTION_NAMES].join(', ')}`,
  );

  const credentials = value.credentials ?? false;
  if (typeof credentials !== 'boolean') {
    throw new OptionsError('cors.credentials', 'must be true or false');
  }
  if (!Array.isArray(value.origins) || value.origins.length === 0) {
    throw new OptionsError(
      'cors.origins',
      `must be a non-empty array of exact origins (got ${describeValue(value.origins)})`,
      "e.g. origins: ['https://app.example.com'], or leave cors out to allow no cross-origin reads",
    );
  }
  const origins = [
    ...new Set(
      value.origins.map((origin: unknown, index) =>
        resolveCorsOrigin(origin, `cors.origins[${index}]`),
      ),
    ),
  ];
  const wildcard = origins.indexOf('*');
  if (wildcard !== -1 && credentials) {
    throw new OptionsError(
      `cors.origins[${wildcard}]`,
      "is '*' while cors.credentials is true: any site could read its visitors' credentialed responses",
      'list the exact origins, or set credentials: false',
    );
  }
  if (wildcard !== -1 && origins.length > 1) {
    throw new OptionsError(
      `cors.origins[${wildcard}]`,
      "is '*' next to other origins, which it makes meaningless",
      "use either ['*'] or a list of exact origins",
    );
  }
  return Object.freeze({
    origins: Object.freeze(origins),
    credentials,
    methods: Object.freeze(
      resolveTokens(value.methods, 'cors.methods', [
        'GET',
        'HEAD',
        'POST',
        'PUT',
        'PATCH',
        'DELETE',
      ]),
    ),
    allowedHeaders: Object.freeze(
      resolveTokens(value.allowedHeaders, 'cors.allowedHeaders', ['authorization', 'content-type']),
    ),
    exposedHeaders: Object.freeze(resolveTokens(value.exposedHeaders, 'cors.exposedHeaders', [])),
    maxAgeSeconds: positiveInteger(value.maxAgeSeconds, 'cors.maxAgeSeconds', 600, 86_400),
  });
}

/**
 * Over mutual TLS, `/admin/log-level` is for named peers only: any service with a certificate of
 * the CA and a `logging.admin` token would otherwise do.
 */
function assertAdminPeers(
  logging: ResolvedLoggingOptions | false,
  tls: ResolvedTlsOptions | undefined,
): void {
  const adminPeers = logging === false ? undefined : logging.adminPeers;
  const mtls = tls !== undefined && tls.clientCertificate !== 'none';
  if (adminPeers !== undefined && !mtls) {
    throw new OptionsError(
      'logging.adminPeers',
      'needs the module to manage mutual TLS (tls, with client certificates)',
      'set tls, or drop adminPeers',
    );
  }
  if (logging !== false && logging.runtimeControl && mtls && adminPeers === undefined) {
    if (tls.allowedPeers === undefined) {
      throw new OptionsError(
        'logging.adminPeers',
        'is required with logging.runtimeControl over mutual TLS (or tls.allowedPeers)',
        "name the operators' peers, e.g. adminPeers: ['spiffe://example.org/sa/ops']",
      );
    }
  }
}

/**
 * Validates the module options and applies the defaults, once, at bootstrap.
 *
 * @throws SecureApiError with code `ERR_SECURE_API_INVALID_OPTIONS` and a message naming the
 * option path and how to fix it.
 */
export function resolveOptions(options: unknown): ResolvedSecureApiOptions {
  if (!isRecord(options)) {
    throw new OptionsError(
      'options',
      'must be an object',
      'SecureApiModule.forRoot({ auth: { ... } })',
    );
  }
  const routeAudit = options.routeAudit ?? 'error';
  if (routeAudit !== 'error' && routeAudit !== 'warn' && routeAudit !== 'off') {
    throw new OptionsError('routeAudit', "must be 'error', 'warn' or 'off'");
  }
  const validation = options.validation ?? true;
  if (typeof validation !== 'boolean') {
    throw new OptionsError(
      'validation',
      'must be true or false',
      'leave it out to validate every request, or set validation: false to install your own pipe',
    );
  }
  const logging = resolveLoggingOptions(options.logging);
  const tls = resolveTlsOptions(options.tls);
  assertAdminPeers(logging, tls);
  return Object.freeze({
    auth: resolveAuth(options.auth),
    routeAudit,
    headers: resolveHeaders(options.headers),
    validation,
    cors: resolveCors(options.cors),
    body: resolveBodyOptions(options.body),
    timeouts: resolveTimeoutOptions(options.timeouts),
    throttle: resolveThrottleOptions(options.throttle),
    logging,
    tls,
  });
}
