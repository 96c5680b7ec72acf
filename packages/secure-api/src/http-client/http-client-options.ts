import { type SecureApiError } from '../errors/secure-api.error.js';
import {
  booleanOption as checkBoolean,
  isRecord,
  knownKeys as checkKnownKeys,
  OptionsError,
} from '../option-checks.js';

/** Retries of {@link SecureHttpClientOptions.retry}. */
export interface HttpClientRetryOptions {
  /**
   * Attempts in all, the first one included; `1` turns retries off. Only idempotent methods
   * (GET, HEAD, OPTIONS, PUT, DELETE), and requests sent with an `idempotencyKey`, are retried.
   * @default 3
   */
  attempts?: number;
  /**
   * Scale of the exponential backoff with decorrelated jitter (cockatiel's
   * `ExponentialBackoff`): the first delay is around this, each further one about twice the last.
   * @default 100
   */
  initialDelayMs?: number;
  /**
   * Longest backoff delay (a `Retry-After` is bounded by `maxRetryAfterMs` instead).
   * @default 5000
   */
  maxDelayMs?: number;
  /**
   * Longest `Retry-After` (on 429 and 503) the client waits for before a retry. A longer one
   * is not waited for: the 429/503 error is thrown at once, with its `retryAfterMs`, so that
   * the caller decides.
   * @default 30000
   */
  maxRetryAfterMs?: number;
}

/** The per-origin circuit breaker of {@link SecureHttpClientOptions.circuitBreaker}. */
export interface HttpClientCircuitBreakerOptions {
  /**
   * Consecutive failures (connect errors, timeouts, connection losses, 5xx, 429) of one origin
   * that open its circuit. Other 4xx answers are not failures: the upstream is up.
   * @default 5
   */
  consecutiveFailures?: number;
  /**
   * How long an open circuit refuses requests (with `CircuitOpenError`, without network
   * traffic) before it lets one trial request through: success closes it, failure opens it
   * again.
   * @default 30000
   */
  halfOpenAfterMs?: number;
}

/**
 * Client TLS material: a client certificate for mutual TLS and/or the CAs that verify the
 * upstream. From files (`certFile`, `keyFile`, `caFile`, reloadable) or in memory (`cert`,
 * `key`, `ca`), not both for the same item. Server certificates are always verified; there is
 * no option to turn that off.
 */
export interface HttpClientTlsOptions {
  /** PEM file of the client certificate, leaf first, then any intermediates. With `keyFile`. */
  certFile?: string;
  /** PEM file of the client certificate's private key (unencrypted). With `certFile`. */
  keyFile?: string;
  /**
   * PEM file of the CA certificates that verify upstream servers. Replaces Node.js's built-in
   * trust store for this client's connections.
   * @default Node.js's built-in CAs
   */
  caFile?: string;
  /** The client certificate, PEM, leaf first. With `key`. */
  cert?: string | Buffer;
  /** The client certificate's private key, PEM (unencrypted). With `cert`. */
  key?: string | Buffer;
  /**
   * CA certificates that verify upstream servers, PEM; replaces Node.js's built-in ones.
   * @default Node.js's built-in CAs
   */
  ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  /**
   * Watch the folders of `certFile`, `keyFile` and `caFile` and load changed files (an atomic
   * rename, a Kubernetes secret's `..data` swap). Valid new material is used by new
   * connections while open ones finish on the old; invalid material is logged and the old one
   * kept. Files only.
   * @default false
   */
  watch?: boolean;
}

/**
 * The OAuth 2.0 client credentials grant (RFC 6749 §4.4) of
 * {@link SecureHttpClientOptions.clientCredentials}: the client gets a token, caches it and
 * sends it as `Authorization: Bearer`.
 */
export interface HttpClientCredentialsOptions {
  /** The token endpoint's URL. Exactly one of `tokenEndpoint` and `issuer`. */
  tokenEndpoint?: string;
  /**
   * The authorization server's issuer identifier; its token endpoint is discovered (RFC 8414 /
   * OpenID Connect Discovery) on first use. Exactly one of `tokenEndpoint` and `issuer`.
   */
  issuer?: string;
  /** The client's identifier at the authorization server. */
  clientId: string;
  /** The client's secret. Never logged, never put in an error. */
  clientSecret: string;
  /**
   * How the client authenticates (RFC 6749 §2.3.1): HTTP Basic or form parameters.
   * @default 'client_secret_basic'
   */
  authMethod?: 'client_secret_basic' | 'client_secret_post';
  /**
   * Scopes to ask for, e.g. `['images:read']` (sent space-separated).
   * @default none: the authorization server's default
   */
  scope?: string | readonly string[];
  /** RFC 8707 `resource` indicator: the API the token is for. */
  resource?: string;
  /** `audience` parameter, for authorization servers that want one (Auth0, Okta). */
  audience?: string;
  /**
   * How long before `expires_in` runs out the token is replaced. Capped at half the token's
   * lifetime, so a short-lived token is still reused.
   * @default 60
   */
  refreshBeforeExpirySeconds?: number;
}

/** Options of `new SecureHttpClient()`. Checked once; invalid options throw at construction. */
export interface SecureHttpClientOptions {
  /**
   * Base URL that `path` requests are relative to, e.g. `'https://images.internal/v1'`
   * (`path: '/jobs'` goes to `https://images.internal/v1/jobs`; a path cannot leave `/v1`).
   * Its origin is allowed.
   */
  baseUrl?: string;
  /**
   * Origins requests may go to, e.g. `['https://api.partner.example']`; any other is refused
   * with `HttpClientUrlRefusedError` before a connection is made, so that a URL that came from
   * input cannot turn the service into a proxy (SSRF). `'*'` allows every origin.
   * @default the origin of `baseUrl`; without `baseUrl`, one of the two must be set
   */
  allowedOrigins?: readonly string[] | '*';
  /**
   * Allow plain `http:` URLs. UNSAFE outside tests and loopback: tokens and data travel in
   * clear text, and anyone on the path can change the answers.
   * @default false
   */
  allowInsecureHttp?: boolean;
  /**
   * Longest time to open a connection: TCP connect plus TLS handshake. 3.05 s, just over a
   * multiple of 3 s, the TCP SYN retransmission interval (as Python `requests` advises).
   * @default 3050
   */
  connectTimeoutMs?: number;
  /**
   * Hard deadline for each attempt, from its start (waiting for a pooled connection and
   * connecting included) to the last byte of the body. Must be longer than `connectTimeoutMs`.
   * Each retry has its own; bound the whole call with a `signal`.
   * @default 27000
   */
  responseTimeoutMs?: number;
  /**
   * Largest response body accepted; a larger one is refused with `ResponseTooLargeError`,
   * before reading when `Content-Length` announces it, or as soon as the count crosses it.
   * @default 1048576 (1 MiB)
   */
  maxResponseBytes?: number;
  /**
   * How long an idle pooled connection is kept open (a server's `Keep-Alive: timeout` hint can
   * shorten it).
   * @default 4000
   */
  keepAliveTimeoutMs?: number;
  /**
   * Most connections open at once to one origin; further requests wait for a free one (and
   * that wait counts against `responseTimeoutMs`).
   * @default 16
   */
  maxConnectionsPerOrigin?: number;
  /** Retries of idempotent requests; see {@link HttpClientRetryOptions}. */
  retry?: HttpClientRetryOptions;
  /** The per-origin circuit breaker; see {@link HttpClientCircuitBreakerOptions}. */
  circuitBreaker?: HttpClientCircuitBreakerOptions;
  /** Client certificate and CAs; see {@link HttpClientTlsOptions}. */
  tls?: HttpClientTlsOptions;
  /** Get and send an OAuth 2.0 access token; see {@link HttpClientCredentialsOptions}. */
  clientCredentials?: HttpClientCredentialsOptions;
}

/** {@link HttpClientTlsOptions} checked: exactly one source per item. */
export interface ResolvedHttpClientTls {
  readonly certFile: string | undefined;
  readonly keyFile: string | undefined;
  readonly caFile: string | undefined;
  readonly cert: Buffer | undefined;
  readonly key: Buffer | undefined;
  readonly ca: readonly Buffer[] | undefined;
  readonly watch: boolean;
}

/** {@link HttpClientCredentialsOptions} checked; `clientSecret` is not enumerable. */
export interface ResolvedClientCredentials {
  readonly tokenEndpoint: URL | undefined;
  readonly issuer: URL | undefined;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly authMethod: 'client_secret_basic' | 'client_secret_post';
  /** Space-separated, or `undefined`. */
  readonly scope: string | undefined;
  readonly resource: string | undefined;
  readonly audience: string | undefined;
  readonly refreshBeforeExpirySeconds: number;
}

/** {@link SecureHttpClientOptions} with every default applied, frozen. */
export interface ResolvedHttpClientOptions {
  readonly baseUrl: URL | undefined;
  /** Serialised origins, or `'*'`. */
  readonly allowedOrigins: ReadonlySet<string> | '*';
  readonly allowInsecureHttp: boolean;
  readonly connectTimeoutMs: number;
  readonly responseTimeoutMs: number;
  readonly maxResponseBytes: number;
  readonly keepAliveTimeoutMs: number;
  readonly maxConnectionsPerOrigin: number;
  readonly retry: Readonly<Required<HttpClientRetryOptions>>;
  readonly circuitBreaker: Readonly<Required<HttpClientCircuitBreakerOptions>>;
  readonly tls: ResolvedHttpClientTls | undefined;
  readonly clientCredentials: ResolvedClientCredentials | undefined;
}

/** Largest delay `setTimeout()` honours; a longer one fires at once. */
export const MAX_TIMER_MS = 2_147_483_647;

const ROOT = 'httpClient';

/**
 * An invalid client (or per-request) option: names the path, what is wrong and, if any, how to
 * fix it. Code `ERR_SECURE_API_INVALID_OPTIONS`.
 */
export function invalidOption(path: string, problem: string, fix?: string): SecureApiError {
  return new OptionsError(path, problem, fix, undefined, 'SecureHttpClient');
}

function knownKeys(value: Record<string, unknown>, path: string, known: readonly string[]): void {
  checkKnownKeys(value, path, known, undefined, 'SecureHttpClient');
}

function section(value: unknown, path: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (!isRecord(value)) throw invalidOption(path, 'must be an object');
  return value;
}

/**
 * `fallback` when absent, otherwise an integer in `[min, max]`; `unit` words the message,
 * e.g. `'milliseconds'`.
 */
export function integerOption(
  value: unknown,
  path: string,
  fallback: number,
  unit: string,
  { min = 1, max = MAX_TIMER_MS }: { min?: number; max?: number } = {},
): number {
  if (value === undefined) return fallback;
  const kind = min === 0 ? 'a non-negative integer' : 'a positive integer';
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw invalidOption(path, `must be ${kind} (${unit})`);
  }
  if (value > max) throw invalidOption(path, `must be at most ${max} (${unit})`);
  return value;
}

function booleanOption(value: unknown, path: string, fallback: boolean): boolean {
  return checkBoolean(value, path, fallback, 'SecureHttpClient');
}

function nonEmptyString(value: unknown, path: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw invalidOption(path, 'must be a non-empty string');
  }
  return value;
}

function optionalString(value: unknown, path: string): string | undefined {
  return value === undefined ? undefined : nonEmptyString(value, path);
}

/**
 * An absolute `https:` URL (or `http:` with `allowInsecureHttp`) without credentials or
 * fragment; `query` says whether a query string is allowed.
 */
function secureUrl(value: unknown, path: string, allowInsecureHttp: boolean, query: boolean): URL {
  const text = nonEmptyString(value, path);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalidOption(path, 'must be an absolute URL', "e.g. 'https://api.example.com'");
  }
  if (url.protocol === 'http:' && !allowInsecureHttp) {
    throw invalidOption(
      path,
      'must be an https: URL',
      'use https:, or for tests only set "httpClient.allowInsecureHttp": true',
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw invalidOption(path, `must be an https: URL (got ${url.protocol})`);
  }
  if (url.username !== '' || url.password !== '') {
    throw invalidOption(path, 'must not hold credentials', 'remove "user:password@"');
  }
  if (url.hash !== '' || text.includes('#')) throw invalidOption(path, 'must not have a fragment');
  if (!query && (url.search !== '' || text.includes('?'))) {
    throw invalidOption(path, 'must not have a query string');
  }
  return url;
}

function resolveOrigins(
  value: unknown,
  baseUrl: URL | undefined,
  allowInsecureHttp: boolean,
): ReadonlySet<string> | '*' {
  const path = `${ROOT}.allowedOrigins`;
  if (value === '*') return '*';
  if (value === undefined) {
    if (baseUrl === undefined) {
      throw invalidOption(
        path,
        'must be set when "httpClient.baseUrl" is not',
        "set baseUrl, or list the origins requests may go to (allowedOrigins: ['https://api.example.com']), or allow any with '*'",
      );
    }
    return Object.freeze(new Set([baseUrl.origin]));
  }
  if (!Array.isArray(value) || value.length === 0) {
    throw invalidOption(path, "must be a non-empty array of origins or '*'");
  }
  const origins = new Set<string>(baseUrl ? [baseUrl.origin] : []);
  value.forEach((entry: unknown, index) => {
    const entryPath = `${path}[${index}]`;
    const url = secureUrl(entry, entryPath, allowInsecureHttp, false);
    if (url.pathname !== '/' || (entry as string).replace(/\/$/, '') !== url.origin) {
      throw invalidOption(
        entryPath,
        'must be an origin: scheme, host and optional port only',
        `use '${url.origin}'`,
      );
    }
    origins.add(url.origin);
  });
  return Object.freeze(origins);
}

function pem(value: unknown, path: string): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === 'string' && value.trim() !== '') return Buffer.from(value);
  throw invalidOption(path, 'must be a PEM string or Buffer');
}

function resolveTls(value: unknown): ResolvedHttpClientTls | undefined {
  const path = `${ROOT}.tls`;
  if (value === undefined) return undefined;
  const tls = section(value, path);
  knownKeys(tls, path, ['certFile', 'keyFile', 'caFile', 'cert', 'key', 'ca', 'watch']);
  for (const [file, memory] of [
    ['certFile', 'cert'],
    ['keyFile', 'key'],
    ['caFile', 'ca'],
  ] as const) {
    if (tls[file] !== undefined && tls[memory] !== undefined) {
      throw invalidOption(
        `${path}.${memory}`,
        `cannot be set with "${path}.${file}"`,
        'set one of them',
      );
    }
  }
  const certFile = optionalString(tls['certFile'], `${path}.certFile`);
  const keyFile = optionalString(tls['keyFile'], `${path}.keyFile`);
  const caFile = optionalString(tls['caFile'], `${path}.caFile`);
  const cert = tls['cert'] === undefined ? undefined : pem(tls['cert'], `${path}.cert`);
  const key = tls['key'] === undefined ? undefined : pem(tls['key'], `${path}.key`);
  let ca: Buffer[] | undefined;
  if (tls['ca'] !== undefined) {
    const list: unknown[] = Array.isArray(tls['ca']) ? (tls['ca'] as unknown[]) : [tls['ca']];
    if (list.length === 0) throw invalidOption(`${path}.ca`, 'must not be an empty array');
    ca = list.map((item, index) => pem(item, `${path}.ca[${index}]`));
  }
  const hasCert = certFile !== undefined || cert !== undefined;
  const hasKey = keyFile !== undefined || key !== undefined;
  if (hasCert && !hasKey) {
    throw invalidOption(
      `${path}.${certFile === undefined ? 'key' : 'keyFile'}`,
      'must be set with the client certificate',
    );
  }
  if (hasKey && !hasCert) {
    throw invalidOption(
      `${path}.${keyFile === undefined ? 'cert' : 'certFile'}`,
      'must be set with the private key',
    );
  }
  if (cert !== undefined && keyFile !== undefined) {
    throw invalidOption(
      `${path}.keyFile`,
      `cannot go with "${path}.cert"`,
      'use certFile and keyFile',
    );
  }
  if (certFile !== undefined && key !== undefined) {
    throw invalidOption(
      `${path}.key`,
      `cannot go with "${path}.certFile"`,
      'use certFile and keyFile',
    );
  }
  if (!hasCert && caFile === undefined && ca === undefined) {
    throw invalidOption(
      path,
      'sets neither a client certificate nor CAs',
      'remove it, or set them',
    );
  }
  const watch = booleanOption(tls['watch'], `${path}.watch`, false);
  if (watch && certFile === undefined && caFile === undefined) {
    throw invalidOption(`${path}.watch`, 'needs files to watch', 'use certFile/keyFile/caFile');
  }
  return Object.freeze({
    certFile,
    keyFile,
    caFile,
    cert,
    key,
    ca: ca && Object.freeze(ca),
    watch,
  });
}

const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

function resolveScope(value: unknown, path: string): string | undefined {
  if (value === undefined) return undefined;
  const list: unknown[] = typeof value === 'string' ? value.split(' ') : (value as unknown[]);
  if (!Array.isArray(list) || list.length === 0) {
    throw invalidOption(path, 'must be a scope string or a non-empty array of scopes');
  }
  list.forEach((scope, index) => {
    if (typeof scope !== 'string' || !SCOPE_TOKEN.test(scope)) {
      throw invalidOption(
        typeof value === 'string' ? path : `${path}[${index}]`,
        'must be made of RFC 6749 §3.3 scope tokens (printable ASCII, no space, quote or backslash), separated by single spaces',
      );
    }
  });
  return [...new Set(list as string[])].join(' ');
}

/** RFC 8707 §2: an absolute URI without fragment, of any scheme. */
function resolveResource(value: unknown, path: string): string | undefined {
  if (value === undefined) return undefined;
  const text = nonEmptyString(value, path);
  if (!URL.canParse(text) || text.includes('#')) {
    throw invalidOption(path, 'must be an absolute URI without fragment (RFC 8707)');
  }
  return text;
}

function resolveCredentials(
  value: unknown,
  allowInsecureHttp: boolean,
): ResolvedClientCredentials | undefined {
  const path = `${ROOT}.clientCredentials`;
  if (value === undefined) return undefined;
  const grant = section(value, path);
  knownKeys(grant, path, [
    'tokenEndpoint',
    'issuer',
    'clientId',
    'clientSecret',
    'authMethod',
    'scope',
    'resource',
    'audience',
    'refreshBeforeExpirySeconds',
  ]);
  if ((grant['tokenEndpoint'] === undefined) === (grant['issuer'] === undefined)) {
    throw invalidOption(path, 'must set exactly one of "tokenEndpoint" and "issuer"');
  }
  const tokenEndpoint =
    grant['tokenEndpoint'] === undefined
      ? undefined
      : secureUrl(grant['tokenEndpoint'], `${path}.tokenEndpoint`, allowInsecureHttp, true);
  const issuer =
    grant['issuer'] === undefined
      ? undefined
      : secureUrl(grant['issuer'], `${path}.issuer`, allowInsecureHttp, false);
  const authMethod = grant['authMethod'] ?? 'client_secret_basic';
  if (authMethod !== 'client_secret_basic' && authMethod !== 'client_secret_post') {
    throw invalidOption(
      `${path}.authMethod`,
      "must be 'client_secret_basic' or 'client_secret_post'",
    );
  }
  const resolved: ResolvedClientCredentials = {
    tokenEndpoint,
    issuer,
    clientId: nonEmptyString(grant['clientId'], `${path}.clientId`),
    clientSecret: '',
    authMethod,
    scope: resolveScope(grant['scope'], `${path}.scope`),
    resource: resolveResource(grant['resource'], `${path}.resource`),
    audience: optionalString(grant['audience'], `${path}.audience`),
    refreshBeforeExpirySeconds: integerOption(
      grant['refreshBeforeExpirySeconds'],
      `${path}.refreshBeforeExpirySeconds`,
      60,
      'seconds',
      { min: 0, max: 86_400 },
    ),
  };
  // Not enumerable, so that logging the options (or the client) cannot print it.
  Object.defineProperty(resolved, 'clientSecret', {
    value: nonEmptyString(grant['clientSecret'], `${path}.clientSecret`),
    enumerable: false,
  });
  return Object.freeze(resolved);
}

/**
 * Checks the options and applies the defaults, once.
 *
 * @throws SecureApiError `ERR_SECURE_API_INVALID_OPTIONS` naming the option, e.g.
 *   `SecureHttpClient: "httpClient.connectTimeoutMs" must be a positive integer (milliseconds).`
 */
export function resolveHttpClientOptions(
  options: SecureHttpClientOptions,
): ResolvedHttpClientOptions {
  const root = section(options, ROOT);
  knownKeys(root, ROOT, [
    'baseUrl',
    'allowedOrigins',
    'allowInsecureHttp',
    'connectTimeoutMs',
    'responseTimeoutMs',
    'maxResponseBytes',
    'keepAliveTimeoutMs',
    'maxConnectionsPerOrigin',
    'retry',
    'circuitBreaker',
    'tls',
    'clientCredentials',
  ]);
  const allowInsecureHttp = booleanOption(
    root['allowInsecureHttp'],
    `${ROOT}.allowInsecureHttp`,
    false,
  );
  let baseUrl: URL | undefined;
  if (root['baseUrl'] !== undefined) {
    baseUrl = secureUrl(root['baseUrl'], `${ROOT}.baseUrl`, allowInsecureHttp, false);
    // '/v1/' and '/v1' mean the same prefix; paths are appended to it.
    baseUrl.pathname = baseUrl.pathname.replace(/\/+$/, '');
  }
  const ms = 'milliseconds';
  const connectTimeoutMs = integerOption(
    root['connectTimeoutMs'],
    `${ROOT}.connectTimeoutMs`,
    3050,
    ms,
  );
  const responseTimeoutMs = integerOption(
    root['responseTimeoutMs'],
    `${ROOT}.responseTimeoutMs`,
    27_000,
    ms,
  );
  if (connectTimeoutMs >= responseTimeoutMs) {
    throw invalidOption(
      `${ROOT}.connectTimeoutMs`,
      `must be less than "${ROOT}.responseTimeoutMs" (${responseTimeoutMs}), which includes connecting`,
      'lower connectTimeoutMs or raise responseTimeoutMs',
    );
  }
  const retry = section(root['retry'], `${ROOT}.retry`);
  knownKeys(retry, `${ROOT}.retry`, [
    'attempts',
    'initialDelayMs',
    'maxDelayMs',
    'maxRetryAfterMs',
  ]);
  const breaker = section(root['circuitBreaker'], `${ROOT}.circuitBreaker`);
  knownKeys(breaker, `${ROOT}.circuitBreaker`, ['consecutiveFailures', 'halfOpenAfterMs']);

  return Object.freeze({
    baseUrl,
    allowedOrigins: resolveOrigins(root['allowedOrigins'], baseUrl, allowInsecureHttp),
    allowInsecureHttp,
    connectTimeoutMs,
    responseTimeoutMs,
    maxResponseBytes: integerOption(
      root['maxResponseBytes'],
      `${ROOT}.maxResponseBytes`,
      1024 * 1024,
      'bytes',
      { max: Number.MAX_SAFE_INTEGER },
    ),
    keepAliveTimeoutMs: integerOption(
      root['keepAliveTimeoutMs'],
      `${ROOT}.keepAliveTimeoutMs`,
      4000,
      ms,
    ),
    maxConnectionsPerOrigin: integerOption(
      root['maxConnectionsPerOrigin'],
      `${ROOT}.maxConnectionsPerOrigin`,
      16,
      'connections',
      { max: 65_535 },
    ),
    retry: Object.freeze({
      attempts: integerOption(retry['attempts'], `${ROOT}.retry.attempts`, 3, 'attempts', {
        max: 10,
      }),
      initialDelayMs: integerOption(
        retry['initialDelayMs'],
        `${ROOT}.retry.initialDelayMs`,
        100,
        ms,
      ),
      maxDelayMs: integerOption(retry['maxDelayMs'], `${ROOT}.retry.maxDelayMs`, 5000, ms),
      maxRetryAfterMs: integerOption(
        retry['maxRetryAfterMs'],
        `${ROOT}.retry.maxRetryAfterMs`,
        30_000,
        ms,
        { min: 0 },
      ),
    }),
    circuitBreaker: Object.freeze({
      consecutiveFailures: integerOption(
        breaker['consecutiveFailures'],
        `${ROOT}.circuitBreaker.consecutiveFailures`,
        5,
        'failures',
        { max: 1000 },
      ),
      halfOpenAfterMs: integerOption(
        breaker['halfOpenAfterMs'],
        `${ROOT}.circuitBreaker.halfOpenAfterMs`,
        30_000,
        ms,
      ),
    }),
    tls: resolveTls(root['tls']),
    clientCredentials: resolveCredentials(root['clientCredentials'], allowInsecureHttp),
  });
}
