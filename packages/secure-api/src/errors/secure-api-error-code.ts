/**
 * Stable error codes. Every error this package raises carries one; HTTP errors carry the same
 * code into the `code` member of their `application/problem+json` body, so clients and log
 * queries can match on it without parsing messages.
 *
 * Codes are part of the public contract: they are never renamed, only added.
 */
export const SecureApiErrorCode = {
  /** A module option is missing or invalid; raised at bootstrap. */
  INVALID_OPTIONS: 'ERR_SECURE_API_INVALID_OPTIONS',
  /** A route declares neither `@Scopes()` nor `@Public()` (route audit, or the runtime guard). */
  ROUTE_NOT_DECLARED: 'ERR_SECURE_API_ROUTE_NOT_DECLARED',

  /** 400: the request carries credentials in an unsupported or ambiguous way (RFC 6750 `invalid_request`). */
  INVALID_REQUEST: 'ERR_SECURE_API_INVALID_REQUEST',
  /** 401: no bearer token was sent to a protected route. */
  TOKEN_MISSING: 'ERR_SECURE_API_TOKEN_MISSING',
  /** 401: the bearer token failed verification (RFC 6750 `invalid_token`). */
  TOKEN_INVALID: 'ERR_SECURE_API_TOKEN_INVALID',
  /** 401: the bearer token is well formed and signed but expired (RFC 6750 `invalid_token`). */
  TOKEN_EXPIRED: 'ERR_SECURE_API_TOKEN_EXPIRED',
  /** 403: the token lacks a scope the route requires (RFC 6750 `insufficient_scope`). */
  INSUFFICIENT_SCOPE: 'ERR_SECURE_API_INSUFFICIENT_SCOPE',

  /** An HTTP error raised by the framework or the application without a more specific code. */
  HTTP_ERROR: 'ERR_SECURE_API_HTTP_ERROR',
  /**
   * 400: the request carries a method-override header (`X-HTTP-Method-Override`,
   * `X-HTTP-Method`, `X-Method-Override`). Refused rather than ignored: a proxy or framework
   * that honours one would run another method than the one the guards, logs and rate limits saw.
   */
  METHOD_OVERRIDE: 'ERR_SECURE_API_METHOD_OVERRIDE',
  /**
   * 405: the method is `TRACE` or `TRACK`, which echo the request (cookies, `Authorization`)
   * back in the body: cross-site tracing.
   */
  METHOD_NOT_ALLOWED: 'ERR_SECURE_API_METHOD_NOT_ALLOWED',
  /**
   * 400: the body, query string or route parameters do not match the route's DTO. The
   * problem's `errors` member lists each failure as `{ in, pointer, detail }`.
   */
  VALIDATION_FAILED: 'ERR_SECURE_API_VALIDATION_FAILED',
  /** 400: the body is not well-formed JSON (or is empty while declared as JSON). */
  MALFORMED_BODY: 'ERR_SECURE_API_MALFORMED_BODY',
  /** 413: the body is larger than `body.limit` (after decompression), or a form has more than `body.parameterLimit` fields. */
  BODY_TOO_LARGE: 'ERR_SECURE_API_BODY_TOO_LARGE',
  /**
   * 415: the request has a body whose `Content-Type` is missing or not one the module parses
   * (JSON, `application/*+json`, urlencoded) or passes through, or whose charset or
   * `Content-Encoding` it does not support.
   */
  UNSUPPORTED_MEDIA_TYPE: 'ERR_SECURE_API_UNSUPPORTED_MEDIA_TYPE',
  /**
   * 400: the JSON body has a `__proto__` member, or a `constructor` member holding a
   * `prototype`, at any depth. The parser refuses them rather than creating them, so no object
   * downstream can be used to reach `Object.prototype`.
   */
  BODY_FORBIDDEN_MEMBER: 'ERR_SECURE_API_BODY_FORBIDDEN_MEMBER',
  /** 400: the JSON body nests objects and arrays deeper than `body.maxDepth`. */
  BODY_TOO_DEEP: 'ERR_SECURE_API_BODY_TOO_DEEP',
  /**
   * 408: the request's headers or body did not arrive within `timeouts.headersMs` /
   * `timeouts.requestMs` (a slowloris client holding connections open); the connection is
   * closed.
   */
  REQUEST_TIMEOUT: 'ERR_SECURE_API_REQUEST_TIMEOUT',
  /** 400 / 431: the HTTP parser refused the request (malformed, or headers too large). */
  BAD_HTTP_REQUEST: 'ERR_SECURE_API_BAD_HTTP_REQUEST',
  /**
   * 429: a rate-limit tier refused the request (`reason` in the log names it); `Retry-After`
   * says when to retry, and `RateLimit-Policy` / `RateLimit` describe the limits.
   */
  RATE_LIMITED: 'ERR_SECURE_API_RATE_LIMITED',
  /**
   * 503: the shared rate-limit store (Redis) did not answer and `onStoreError` is
   * `'fail-closed'`; the request is refused rather than let through unlimited.
   */
  RATE_LIMIT_STORE_UNAVAILABLE: 'ERR_SECURE_API_RATE_LIMIT_STORE_UNAVAILABLE',
  /**
   * 401: the `X-Api-Key` of a request to a `@Public()` route is unknown, malformed or sent
   * twice. Keys identify callers for rate limiting only; they never grant a scope.
   */
  API_KEY_INVALID: 'ERR_SECURE_API_API_KEY_INVALID',
  /** 404: no route matches. */
  NOT_FOUND: 'ERR_SECURE_API_NOT_FOUND',
  /** 500: an unexpected error; its details go only to the log. */
  INTERNAL: 'ERR_SECURE_API_INTERNAL',

  /**
   * 503: no key set has been loaded, so no token can be verified (the issuer is unreachable or
   * serves no usable key). The fetch error itself goes only to the log.
   */
  JWKS_UNAVAILABLE: 'ERR_SECURE_API_JWKS_UNAVAILABLE',

  /**
   * 403: the request's TLS client certificate is missing, or its identity (SPIFFE ID or DNS
   * name) is not in `tls.allowedPeers` or the route's `@AllowPeers()`.
   */
  PEER_NOT_ALLOWED: 'ERR_SECURE_API_PEER_NOT_ALLOWED',
  /**
   * At boot or on rotation: a TLS file is missing or unreadable, the key does not match the
   * certificate, or the certificate or CRL has expired. The message names the file.
   */
  TLS_CONFIG_INVALID: 'ERR_SECURE_API_TLS_CONFIG_INVALID',

  /**
   * Outbound (`SecureHttpClient`): no connection (TCP connect plus TLS handshake) within
   * `connectTimeoutMs`. The request was not sent.
   */
  HTTP_CLIENT_CONNECT_TIMEOUT: 'ERR_SECURE_API_HTTP_CLIENT_CONNECT_TIMEOUT',
  /**
   * Outbound: the response (headers and whole body) was not complete within `responseTimeoutMs`
   * of the attempt's start. The upstream may have processed the request.
   */
  HTTP_CLIENT_RESPONSE_TIMEOUT: 'ERR_SECURE_API_HTTP_CLIENT_RESPONSE_TIMEOUT',
  /**
   * Outbound: the connection could not be established (refused, DNS failure, TLS handshake or
   * server certificate verification failed). The request was not sent.
   */
  HTTP_CLIENT_CONNECT_FAILED: 'ERR_SECURE_API_HTTP_CLIENT_CONNECT_FAILED',
  /**
   * Outbound: the connection broke after it was established (reset, closed by the upstream, or
   * an unparsable response). The upstream may have processed the request.
   */
  HTTP_CLIENT_NETWORK_ERROR: 'ERR_SECURE_API_HTTP_CLIENT_NETWORK_ERROR',
  /**
   * Outbound: the URL was refused before any traffic: its origin is not in `allowedOrigins`, it
   * is not `https:` (without `allowInsecureHttp`), it carries credentials, or a `path` escapes
   * `baseUrl`.
   */
  HTTP_CLIENT_URL_REFUSED: 'ERR_SECURE_API_HTTP_CLIENT_URL_REFUSED',
  /** Outbound: the caller's `signal` aborted the request, or the client was closed. */
  HTTP_CLIENT_ABORTED: 'ERR_SECURE_API_HTTP_CLIENT_ABORTED',
  /** Outbound: the upstream answered 4xx; `status` says which, `retryAfterMs` any `Retry-After`. */
  UPSTREAM_CLIENT_ERROR: 'ERR_SECURE_API_UPSTREAM_CLIENT_ERROR',
  /** Outbound: the upstream answered 5xx; `status` says which, `retryAfterMs` any `Retry-After`. */
  UPSTREAM_SERVER_ERROR: 'ERR_SECURE_API_UPSTREAM_SERVER_ERROR',
  /**
   * Outbound: the circuit breaker of the upstream's origin is open after consecutive failures;
   * the request was not sent. `retryAfterMs` says when the breaker lets a trial request through.
   */
  CIRCUIT_OPEN: 'ERR_SECURE_API_CIRCUIT_OPEN',
  /**
   * Outbound: the response body is larger than `maxResponseBytes` (announced by
   * `Content-Length`, or counted while streaming); the connection was closed.
   */
  RESPONSE_TOO_LARGE: 'ERR_SECURE_API_RESPONSE_TOO_LARGE',
  /**
   * Outbound: the OAuth 2.0 client credentials token request failed (the token endpoint was
   * unreachable, refused the client, or answered something that is not a bearer token).
   */
  TOKEN_REQUEST_FAILED: 'ERR_SECURE_API_TOKEN_REQUEST_FAILED',
} as const;

/** One of the {@link SecureApiErrorCode} values. */
export type SecureApiErrorCode = (typeof SecureApiErrorCode)[keyof typeof SecureApiErrorCode];

/**
 * Why a request's credentials were refused. Logged (never sent to the client, which only sees
 * `ERR_SECURE_API_TOKEN_INVALID` or `ERR_SECURE_API_TOKEN_EXPIRED`), so an operator can tell
 * an expired token from a forged one without giving an attacker an oracle.
 */
export const TokenRejectionReason = {
  MISSING: 'missing',
  TOKEN_IN_QUERY: 'token_in_query',
  DUPLICATE_AUTHORIZATION: 'duplicate_authorization',
  MALFORMED_AUTHORIZATION: 'malformed_authorization',
  MALFORMED: 'malformed',
  TOO_LONG: 'too_long',
  HEADER_INVALID: 'header_invalid',
  ALG_NOT_ALLOWED: 'alg_not_allowed',
  CRIT_UNSUPPORTED: 'crit_unsupported',
  TYPE_MISMATCH: 'typ_mismatch',
  KID_REQUIRED: 'kid_required',
  KEY_NOT_FOUND: 'key_not_found',
  KEY_ALG_MISMATCH: 'key_alg_mismatch',
  KEYS_UNAVAILABLE: 'keys_unavailable',
  SIGNATURE_INVALID: 'signature_invalid',
  EXP_MISSING: 'exp_missing',
  EXPIRED: 'expired',
  NOT_YET_VALID: 'not_yet_valid',
  ISSUED_IN_FUTURE: 'iat_in_future',
  TOO_OLD: 'too_old',
  ISSUER_INVALID: 'iss_invalid',
  AUDIENCE_INVALID: 'aud_invalid',
  CLAIMS_INVALID: 'claims_invalid',
  /** The token's `cnf["x5t#S256"]` is not the thumbprint of the connection's client certificate. */
  CERTIFICATE_MISMATCH: 'cnf_mismatch',
  /** `auth.requireCertificateBoundTokens` is on and the token has no `cnf["x5t#S256"]`. */
  CERTIFICATE_BINDING_MISSING: 'cnf_missing',
  /** The token's `cnf` is malformed or names only confirmation methods the module cannot check. */
  CONFIRMATION_UNSUPPORTED: 'cnf_unsupported',
} as const;

/** One of the {@link TokenRejectionReason} values. */
export type TokenRejectionReason = (typeof TokenRejectionReason)[keyof typeof TokenRejectionReason];
