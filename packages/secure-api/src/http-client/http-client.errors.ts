import { SecureApiError } from '../errors/secure-api.error.js';
import { SecureApiErrorCode } from '../errors/secure-api-error-code.js';

/**
 * Where an outbound request was going: what every {@link HttpClientError} carries and its
 * message names. Never the query string, the headers or the body: they hold tokens, API keys
 * and personal data, and errors end up in logs.
 */
export interface OutboundTarget {
  /** The method, upper case, e.g. `'GET'`. */
  readonly method: string;
  /** Scheme, host and port as the WHATWG URL prints them, e.g. `'https://api.example.com'`. */
  readonly origin: string;
  /** The path without query string or fragment, e.g. `'/v1/images/42'`. */
  readonly path: string;
}

/** Upstream response bytes an {@link UpstreamHttpError} keeps, at most. */
export const ERROR_BODY_BYTES = 16 * 1024;

/**
 * Base class of the errors of `SecureHttpClient`. Its message reads
 * `GET https://api.example.com/v1/images: <what happened>`.
 *
 * @example
 * try {
 *   await client.get('/v1/images');
 * } catch (error) {
 *   if (error instanceof HttpClientError && error.code === SecureApiErrorCode.CIRCUIT_OPEN) {
 *     // degrade
 *   }
 * }
 */
export class HttpClientError extends SecureApiError {
  /** The request's method. */
  readonly method: string;
  /** The request's origin. */
  readonly origin: string;
  /** The request's path, without query string. */
  readonly path: string;
  /** The upstream's status code, when it answered; `undefined` otherwise. */
  readonly status: number | undefined;
  /** Always one of the module's own codes. */
  declare readonly code: SecureApiErrorCode;

  constructor(
    code: SecureApiErrorCode,
    target: OutboundTarget,
    problem: string,
    options: { status?: number; cause?: unknown } = {},
  ) {
    super(code, `${target.method} ${target.origin}${target.path}: ${problem}`, {
      cause: options.cause,
    });
    this.method = target.method;
    this.origin = target.origin;
    this.path = target.path;
    this.status = options.status;
  }
}

/** Which of the client's two timeouts ran out. */
export type HttpClientTimeoutPhase = 'connect' | 'response';

/**
 * A timeout ran out: `'connect'` (`connectTimeoutMs`: TCP connect plus TLS handshake; the
 * request was not sent) or `'response'` (`responseTimeoutMs`: headers and whole body, from the
 * attempt's start; the upstream may have acted on the request). Code
 * `ERR_SECURE_API_HTTP_CLIENT_CONNECT_TIMEOUT` or `ERR_SECURE_API_HTTP_CLIENT_RESPONSE_TIMEOUT`.
 */
export class HttpClientTimeoutError extends HttpClientError {
  /** Which timeout ran out. */
  readonly phase: HttpClientTimeoutPhase;
  /** The timeout that ran out, in milliseconds. */
  readonly timeoutMs: number;

  constructor(
    target: OutboundTarget,
    phase: HttpClientTimeoutPhase,
    timeoutMs: number,
    cause?: unknown,
  ) {
    super(
      phase === 'connect'
        ? SecureApiErrorCode.HTTP_CLIENT_CONNECT_TIMEOUT
        : SecureApiErrorCode.HTTP_CLIENT_RESPONSE_TIMEOUT,
      target,
      phase === 'connect'
        ? `no connection within ${timeoutMs} ms (connectTimeoutMs)`
        : `no complete response within ${timeoutMs} ms (responseTimeoutMs)`,
      { cause },
    );
    this.phase = phase;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * No connection: refused, name not resolved, TLS handshake or server certificate verification
 * failed. The request was not sent. Code `ERR_SECURE_API_HTTP_CLIENT_CONNECT_FAILED`.
 */
export class HttpClientConnectError extends HttpClientError {
  constructor(target: OutboundTarget, reason: string, cause?: unknown) {
    super(SecureApiErrorCode.HTTP_CLIENT_CONNECT_FAILED, target, `could not connect (${reason})`, {
      cause,
    });
  }
}

/**
 * The connection broke after it was established: reset, closed by the upstream, or a response
 * that is not HTTP. The upstream may have acted on the request. A TLS 1.3 server that refuses
 * the client certificate shows up here too: the client's side of the handshake is complete
 * before the server checks the certificate. Code `ERR_SECURE_API_HTTP_CLIENT_NETWORK_ERROR`.
 */
export class HttpClientNetworkError extends HttpClientError {
  constructor(target: OutboundTarget, reason: string, cause?: unknown) {
    super(
      SecureApiErrorCode.HTTP_CLIENT_NETWORK_ERROR,
      target,
      `connection lost before the response was complete (${reason})`,
      { cause },
    );
  }
}

/**
 * The request was refused before any traffic (its URL is shown without query string, and not
 * at all when it does not parse). Code `ERR_SECURE_API_HTTP_CLIENT_URL_REFUSED`.
 */
export class HttpClientUrlRefusedError extends HttpClientError {
  constructor(target: OutboundTarget, reason: string) {
    super(SecureApiErrorCode.HTTP_CLIENT_URL_REFUSED, target, `refused before sending: ${reason}`);
  }
}

/** Why a request was aborted. */
export type HttpClientAbortReason = 'signal' | 'closed';

/**
 * The caller's `signal` aborted the request (`cause` is the signal's reason), or the client
 * was closed. Code `ERR_SECURE_API_HTTP_CLIENT_ABORTED`.
 */
export class HttpClientAbortedError extends HttpClientError {
  /** `'signal'`: the caller's signal; `'closed'`: `close()` was called. */
  readonly reason: HttpClientAbortReason;

  constructor(target: OutboundTarget, reason: HttpClientAbortReason, cause?: unknown) {
    super(
      SecureApiErrorCode.HTTP_CLIENT_ABORTED,
      target,
      reason === 'signal' ? 'aborted by the caller' : 'the client is closed',
      { cause },
    );
    this.reason = reason;
  }
}

/** Details of an {@link UpstreamHttpError}. */
export interface UpstreamResponseDetails {
  readonly status: number;
  /** The status line's reason phrase, as sent (often empty over HTTP/2). */
  readonly statusText?: string;
  /** The delay `Retry-After` asked for (429 and 503 only), in milliseconds. */
  readonly retryAfterMs?: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The first {@link ERROR_BODY_BYTES} of the body. */
  readonly body: Buffer;
}

/**
 * The upstream answered 4xx or 5xx. The response headers and the start of the body are kept
 * on non-enumerable members (`responseHeaders`, `responseBody`), so that `JSON.stringify()`,
 * `util.inspect()` and log serialisers leave them out: they can echo the request.
 */
export class UpstreamHttpError extends HttpClientError {
  /** The upstream's status code. */
  declare readonly status: number;
  /** Milliseconds `Retry-After` asked for, on 429 and 503; `undefined` when absent or invalid. */
  readonly retryAfterMs: number | undefined;
  /** The response headers (non-enumerable). */
  declare readonly responseHeaders: Readonly<Record<string, string | string[] | undefined>>;
  /** The first 16 KiB of the response body (non-enumerable). */
  declare readonly responseBody: Buffer;

  constructor(code: SecureApiErrorCode, target: OutboundTarget, details: UpstreamResponseDetails) {
    const phrase = details.statusText ? ` ${printable(details.statusText, 60)}` : '';
    super(code, target, `answered ${details.status}${phrase}`, { status: details.status });
    this.retryAfterMs = details.retryAfterMs;
    Object.defineProperty(this, 'responseHeaders', { value: details.headers, enumerable: false });
    Object.defineProperty(this, 'responseBody', { value: details.body, enumerable: false });
  }

  /** The kept body as UTF-8 text. */
  bodyText(): string {
    return this.responseBody.toString('utf8');
  }
}

/** The upstream answered 4xx. Code `ERR_SECURE_API_UPSTREAM_CLIENT_ERROR`. */
export class UpstreamClientError extends UpstreamHttpError {
  constructor(target: OutboundTarget, details: UpstreamResponseDetails) {
    super(SecureApiErrorCode.UPSTREAM_CLIENT_ERROR, target, details);
  }
}

/** The upstream answered 5xx. Code `ERR_SECURE_API_UPSTREAM_SERVER_ERROR`. */
export class UpstreamServerError extends UpstreamHttpError {
  constructor(target: OutboundTarget, details: UpstreamResponseDetails) {
    super(SecureApiErrorCode.UPSTREAM_SERVER_ERROR, target, details);
  }
}

/**
 * The response body is larger than `maxResponseBytes`: announced by `Content-Length` (nothing
 * was read), or counted while streaming (reading stopped at the limit). The connection was
 * closed. Code `ERR_SECURE_API_RESPONSE_TOO_LARGE`.
 */
export class ResponseTooLargeError extends HttpClientError {
  /** The limit that was crossed, in bytes. */
  readonly limitBytes: number;
  /** The `Content-Length` the upstream announced, when it did. */
  readonly declaredBytes: number | undefined;

  constructor(target: OutboundTarget, status: number, limitBytes: number, declaredBytes?: number) {
    super(
      SecureApiErrorCode.RESPONSE_TOO_LARGE,
      target,
      declaredBytes === undefined
        ? `answered ${status} with a body larger than ${limitBytes} bytes (maxResponseBytes)`
        : `answered ${status} announcing ${declaredBytes} bytes, more than ${limitBytes} (maxResponseBytes)`,
      { status },
    );
    this.limitBytes = limitBytes;
    this.declaredBytes = declaredBytes;
  }
}

/**
 * The circuit breaker of the origin is open; the request was not sent. Code
 * `ERR_SECURE_API_CIRCUIT_OPEN`.
 */
export class CircuitOpenError extends HttpClientError {
  /** Milliseconds until the breaker lets one trial request through (0: it may now). */
  readonly retryAfterMs: number;

  constructor(target: OutboundTarget, retryAfterMs: number) {
    super(
      SecureApiErrorCode.CIRCUIT_OPEN,
      target,
      `not sent: the circuit breaker of ${target.origin} is open (next trial in ${retryAfterMs} ms)`,
    );
    this.retryAfterMs = retryAfterMs;
  }
}

/** Details of a {@link TokenRequestFailedError}. */
export interface TokenFailureDetails {
  /** The token endpoint's status code, when it answered. */
  readonly status?: number;
  /** The RFC 6749 §5.2 `error` code, when the token endpoint sent one. */
  readonly oauthError?: string;
  /** What went wrong, in words that hold no secret. */
  readonly reason: string;
  /** An error of this client (never one holding a response body). */
  readonly cause?: unknown;
}

/**
 * The client credentials token request failed. The message names the token endpoint, the
 * status and the OAuth `error` code; never the client secret, nor a token, nor the endpoint's
 * `error_description`. Code `ERR_SECURE_API_TOKEN_REQUEST_FAILED`.
 */
export class TokenRequestFailedError extends HttpClientError {
  /** The RFC 6749 §5.2 `error` code (`'invalid_client'`, `'invalid_scope'`…), when sent. */
  readonly oauthError: string | undefined;

  constructor(target: OutboundTarget, details: TokenFailureDetails) {
    super(
      SecureApiErrorCode.TOKEN_REQUEST_FAILED,
      target,
      `token request failed: ${details.reason}`,
      {
        status: details.status,
        cause: details.cause,
      },
    );
    this.oauthError = details.oauthError;
  }
}

/** `value` with control characters replaced and cut to `max` characters, for messages. */
export function printable(value: string, max: number): string {
  // eslint-disable-next-line no-control-regex -- replacing control characters is the point
  const clean = value.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}
