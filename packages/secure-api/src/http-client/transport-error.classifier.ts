import {
  HttpClientConnectError,
  HttpClientNetworkError,
  HttpClientTimeoutError,
  type OutboundTarget,
} from './http-client.errors.js';

/** The timeouts a transport error is reported with. */
export interface TransportTimeouts {
  readonly connectTimeoutMs: number;
  readonly responseTimeoutMs: number;
}

/** Codes of failures to open a connection: nothing was sent. */
const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EADDRNOTAVAIL',
  'EPROTO',
]);

// OpenSSL and Node.js TLS failures: handshake, server certificate verification, a refused
// client certificate (an alert from the server).
const TLS_CODE =
  /^(ERR_TLS_|ERR_SSL_|ERR_OSSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH|INVALID_CA|INVALID_PURPOSE)/;

/** Codes of a connection that broke once established, or of a response that is not HTTP. */
const NETWORK_CODES = new Set([
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
  'UND_ERR_INFO',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_HEADERS_OVERFLOW',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
]);

function codeOf(error: unknown): { code: string; syscall: string | undefined } {
  const inner = error instanceof AggregateError ? (error.errors[0] as unknown) : undefined;
  const pick = (value: unknown, member: 'code' | 'syscall'): string | undefined => {
    const found =
      typeof value === 'object' && value !== null
        ? (value as Record<string, unknown>)[member]
        : undefined;
    return typeof found === 'string' ? found : undefined;
  };
  return {
    code: pick(error, 'code') ?? pick(inner, 'code') ?? '',
    syscall: pick(error, 'syscall') ?? pick(inner, 'syscall'),
  };
}

/**
 * Turns an undici or socket error into the client's typed error: connect timeout, connect
 * failure, or connection lost. Anything else (an invalid header value, a bug) is returned as it
 * is: it is neither retried nor counted by the circuit breaker.
 */
export function classifyTransportError(
  error: unknown,
  target: OutboundTarget,
  timeouts: TransportTimeouts,
): Error {
  const { code, syscall } = codeOf(error);
  if (code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new HttpClientTimeoutError(target, 'connect', timeouts.connectTimeoutMs, error);
  }
  // undici's own inactivity timers, armed at responseTimeoutMs as a backstop of the deadline.
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new HttpClientTimeoutError(target, 'response', timeouts.responseTimeoutMs, error);
  }
  if (
    CONNECT_CODES.has(code) ||
    TLS_CODE.test(code) ||
    syscall === 'connect' ||
    syscall === 'getaddrinfo'
  ) {
    return new HttpClientConnectError(target, code || 'unknown', error);
  }
  if (NETWORK_CODES.has(code) || code.startsWith('HPE_')) {
    return new HttpClientNetworkError(target, code, error);
  }
  return error instanceof Error ? error : new Error(String(error));
}
