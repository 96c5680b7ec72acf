import { type Server } from 'node:http';
import { type Socket } from 'node:net';
import { SecureApiErrorCode } from '../errors/secure-api-error-code.js';
import { PROBLEM_JSON, problemDetails, statusTitle } from '../errors/problem-details.js';
import { isRecord, knownKeys, OptionsError, positiveInteger } from '../option-checks.js';

/**
 * Time limits of the HTTP server, against clients that open connections and send slowly
 * (slowloris) to exhaust them. Node checks them every `checkIntervalMs`, and answers a client
 * that runs out of time with `408` and closes the connection.
 */
export interface TimeoutOptions {
  /**
   * Time to receive the complete request headers, in milliseconds (`server.headersTimeout`).
   * @default 10_000
   */
  headersMs?: number;
  /**
   * Time to receive the complete request, headers and body, in milliseconds
   * (`server.requestTimeout`). Raise it for routes that take large uploads on slow links.
   * @default 30_000
   */
  requestMs?: number;
  /**
   * How long an idle keep-alive connection stays open, in milliseconds
   * (`server.keepAliveTimeout`). Keep it above the idle timeout of a load balancer in front.
   * @default 5_000
   */
  keepAliveMs?: number;
  /**
   * How often Node checks the two request timeouts (`connectionsCheckingInterval`, 30 s by
   * default in Node, which would let a slow client hold a connection up to 30 s past its limit).
   * @default 1_000
   */
  checkIntervalMs?: number;
}

/** {@link TimeoutOptions} after defaults and validation; frozen. */
export interface ResolvedTimeoutOptions {
  readonly headersMs: number;
  readonly requestMs: number;
  readonly keepAliveMs: number;
  readonly checkIntervalMs: number;
}

const TIMEOUT_DEFAULTS: ResolvedTimeoutOptions = Object.freeze({
  headersMs: 10_000,
  requestMs: 30_000,
  keepAliveMs: 5_000,
  checkIntervalMs: 1_000,
});

const HOUR_MS = 3_600_000;

/** Resolves the `timeouts` option; `false` leaves the server's own settings alone. */
export function resolveTimeoutOptions(value: unknown): ResolvedTimeoutOptions | false {
  if (value === false) return false;
  if (value === undefined) return TIMEOUT_DEFAULTS;
  if (!isRecord(value)) {
    throw new OptionsError(
      'timeouts',
      'must be an object or false',
      'leave it out for the defaults',
    );
  }
  knownKeys(value, 'timeouts', Object.keys(TIMEOUT_DEFAULTS));
  const resolved: ResolvedTimeoutOptions = {
    headersMs: positiveInteger(
      value.headersMs,
      'timeouts.headersMs',
      TIMEOUT_DEFAULTS.headersMs,
      HOUR_MS,
    ),
    requestMs: positiveInteger(
      value.requestMs,
      'timeouts.requestMs',
      TIMEOUT_DEFAULTS.requestMs,
      HOUR_MS,
    ),
    keepAliveMs: positiveInteger(
      value.keepAliveMs,
      'timeouts.keepAliveMs',
      TIMEOUT_DEFAULTS.keepAliveMs,
      HOUR_MS,
    ),
    checkIntervalMs: positiveInteger(
      value.checkIntervalMs,
      'timeouts.checkIntervalMs',
      TIMEOUT_DEFAULTS.checkIntervalMs,
      60_000,
    ),
  };
  // Node refuses this combination in createServer(): the headers are part of the request.
  if (resolved.headersMs > resolved.requestMs) {
    throw new OptionsError(
      'timeouts.headersMs',
      `must not be greater than timeouts.requestMs (${resolved.requestMs})`,
    );
  }
  return Object.freeze(resolved);
}

function rawProblem(status: 400 | 408 | 431, code: SecureApiErrorCode, detail: string): string {
  const body = JSON.stringify(problemDetails(code, status, statusTitle(status), detail));
  return [
    `HTTP/1.1 ${status} ${statusTitle(status)}`,
    `Content-Type: ${PROBLEM_JSON}`,
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Cache-Control: no-store',
    'X-Content-Type-Options: nosniff',
    'Connection: close',
    '',
    body,
  ].join('\r\n');
}

const TIMEOUT_RESPONSE = rawProblem(
  408,
  SecureApiErrorCode.REQUEST_TIMEOUT,
  'The request did not arrive in time.',
);
const TOO_LARGE_RESPONSE = rawProblem(
  431,
  SecureApiErrorCode.BAD_HTTP_REQUEST,
  'The request headers are too large.',
);
const BAD_REQUEST_RESPONSE = rawProblem(
  400,
  SecureApiErrorCode.BAD_HTTP_REQUEST,
  'The request is not valid HTTP.',
);

/**
 * Answers what Node's HTTP parser refuses before any framework sees the request (a timeout, a
 * malformed request line, oversized headers) with a problem+json like every other error,
 * instead of Node's bare status line or Fastify's own JSON, then closes the connection.
 */
function onClientError(error: Error & { code?: string }, socket: Socket): void {
  if (socket.writable && !socket.writableEnded) {
    const response =
      error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? TIMEOUT_RESPONSE
        : error.code === 'HPE_HEADER_OVERFLOW'
          ? TOO_LARGE_RESPONSE
          : error.code === 'ECONNRESET' || error.code === 'EPIPE'
            ? undefined
            : BAD_REQUEST_RESPONSE;
    if (response !== undefined) socket.end(response);
  }
  socket.destroy();
}

/**
 * Sets the time limits on the app's HTTP(S) server and its problem+json answer to refused
 * requests. Must run before `listen()`: Node starts its timeout checks when the server starts
 * listening, with the interval it has then.
 */
export function applyServerTimeouts(server: Server, options: ResolvedTimeoutOptions): void {
  server.headersTimeout = options.headersMs;
  server.requestTimeout = options.requestMs;
  server.keepAliveTimeout = options.keepAliveMs;
  // Not in @types/node as a writable member, but read by Node when the server starts listening.
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval =
    options.checkIntervalMs;
  // Fastify installs its own handler; a second one would write a second response.
  server.removeAllListeners('clientError');
  server.on('clientError', onClientError);
}
