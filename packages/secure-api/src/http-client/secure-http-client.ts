import { EventEmitter } from 'node:events';
import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import { type RetryPolicy } from 'cockatiel';
import { type CustomFetch, type CustomFetchOptions } from 'openid-client';
import { Agent, type Dispatcher } from 'undici';
import { SecureApiError } from '../errors/secure-api.error.js';
import { type SecureApiErrorCode } from '../errors/secure-api-error-code.js';
import { TlsFileWatcher } from '../tls/tls-file.watcher.js';
import { ClientCredentialsTokenSource } from './client-credentials.js';
import {
  type ClientTlsMaterial,
  type ClientTlsStatus,
  connectionOptions,
  loadClientTls,
  sameMaterial,
  tlsStatusOf,
} from './client-tls.js';
import { createConnector } from './connect-timeout.connector.js';
import {
  CircuitOpenError,
  ERROR_BODY_BYTES,
  HttpClientAbortedError,
  HttpClientConnectError,
  HttpClientError,
  HttpClientNetworkError,
  HttpClientTimeoutError,
  HttpClientUrlRefusedError,
  ResponseTooLargeError,
  UpstreamClientError,
  UpstreamHttpError,
  UpstreamServerError,
} from './http-client.errors.js';
import {
  integerOption,
  invalidOption,
  type ResolvedHttpClientOptions,
  resolveHttpClientOptions,
  type SecureHttpClientOptions,
} from './http-client-options.js';
import { createRetryPolicy } from './http-retry.policy.js';
import { type CircuitStateName, OriginBreakerRegistry } from './origin-breaker.registry.js';
import {
  type QueryParameters,
  type RequestTarget,
  resolveRequestTarget,
} from './request-target.js';
import { declaredLength, discardBody, readBody } from './response-body.reader.js';
import { parseRetryAfter } from './retry-after.js';
import { classifyTransportError } from './transport-error.classifier.js';

/** One outbound request of {@link SecureHttpClient.request}. */
export interface HttpClientRequest {
  /**
   * Any token method but `CONNECT`, `TRACE` and `TRACK`, case-insensitive.
   * @default 'GET'
   */
  method?: string;
  /** Absolute URL; its origin must be allowed. Exactly one of `url` and `path`. */
  url?: string;
  /** Path under `baseUrl`, starting with `/`; may hold a query string. Exactly one of `url` and `path`. */
  path?: string;
  /** Request headers. Names are case-insensitive; an array sends the header once per value. */
  headers?: Readonly<Record<string, string | readonly string[]>>;
  /** Query parameters appended to the URL; `undefined` and `null` values are left out. */
  query?: QueryParameters;
  /** The body, sent with a `Content-Length`. Not with `json`. Streams are not accepted: a retry must send the body again. */
  body?: string | Buffer | Uint8Array;
  /** Sent as JSON (`Content-Type: application/json` unless set). Not with `body`. */
  json?: unknown;
  /** Aborts the request, backoff waits included, with `HttpClientAbortedError`. */
  signal?: AbortSignal;
  /**
   * Sent as `Idempotency-Key` (draft-ietf-httpapi-idempotency-key-header), and makes a `POST`
   * or `PATCH` retryable like an idempotent method: the upstream must honour the key.
   */
  idempotencyKey?: string;
  /**
   * This request's body limit.
   * @default the client's `maxResponseBytes`
   */
  maxResponseBytes?: number;
  /**
   * This request's per-attempt deadline; more than the client's `connectTimeoutMs`.
   * @default the client's `responseTimeoutMs`
   */
  responseTimeoutMs?: number;
}

/** Options of the shortcut methods ({@link SecureHttpClient.get} and the like). */
export type HttpClientRequestOptions = Omit<HttpClientRequest, 'method' | 'url' | 'path'>;

/** A response with status below 400 (4xx and 5xx throw), its body read in full. */
export interface HttpClientResponse {
  /** The status code: 2xx, or 3xx (redirects are not followed). */
  readonly status: number;
  /** Header names lower-cased; a repeated header is an array. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The body; empty for `HEAD`, 204 and 304. */
  readonly body: Buffer;
  /**
   * The body parsed as JSON.
   * @throws SyntaxError when it is not JSON
   */
  json<T = unknown>(): T;
  /** The body decoded as UTF-8. */
  text(): string;
}

/** Payload of the `retry` event: an attempt failed and another one follows after `delayMs`. */
export interface HttpClientRetryEvent {
  readonly method: string;
  readonly origin: string;
  readonly path: string;
  /** Number of the attempt about to start (2 for the first retry). */
  readonly attempt: number;
  /** The delay before it: the backoff's, or the upstream's `Retry-After`. */
  readonly delayMs: number;
  /** Code of the failure (`ERR_SECURE_API_UPSTREAM_SERVER_ERROR`…). */
  readonly code: SecureApiErrorCode | undefined;
  /** The upstream's status, when it answered. */
  readonly status: number | undefined;
}

/** Payload of the circuit events. */
export interface HttpClientCircuitEvent {
  readonly origin: string;
}

/**
 * Events of {@link SecureHttpClient}, for metrics and tests (`events.once(client, 'tlsReloaded')`).
 */
export interface SecureHttpClientEvents {
  /** An attempt failed and will be retried. */
  retry: [HttpClientRetryEvent];
  /** An origin's circuit opened: requests to it are refused for `halfOpenAfterMs`. */
  circuitOpen: [HttpClientCircuitEvent & { readonly halfOpenAfterMs: number }];
  /** An open circuit lets a trial request through. */
  circuitHalfOpen: [HttpClientCircuitEvent];
  /** A trial request succeeded: the circuit is closed again. */
  circuitClose: [HttpClientCircuitEvent];
  /** New TLS material is in use for new connections. */
  tlsReloaded: [ClientTlsStatus];
  /** Changed TLS files were refused (the error names the file); the old material stays. */
  tlsReloadFailed: [Error];
}

interface Exchange {
  readonly target: RequestTarget;
  readonly headers: Record<string, string | string[]>;
  readonly body: Buffer | undefined;
  readonly signal: AbortSignal | undefined;
  readonly maxResponseBytes: number;
  readonly responseTimeoutMs: number;
  attempt: number;
  tokenRetried: boolean;
}

// RFC 9110 §9.2.2. TRACE is idempotent too, but refused (cross-site tracing).
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
const REFUSED_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK']);
const RETRY_STATUSES = new Set([429, 502, 503, 504]);
const RETRY_AFTER_STATUSES = new Set([429, 503]);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Framing and hop-by-hop headers undici writes itself (RFC 9110 §7.6.1). */
const MANAGED_HEADERS = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'proxy-connection',
  'upgrade',
  'te',
  'trailer',
]);
const NO_BODY = Buffer.alloc(0);

const DEADLINE = Symbol('responseTimeoutMs');

/**
 * The resilient outbound HTTP client: for calling other services and third-party APIs.
 *
 * - One undici `Agent` with a keep-alive pool per origin (HTTP/1.1), optional mTLS client
 *   certificate (`tls`), reloaded when its files change (`tls.watch`) without dropping requests.
 * - Timeouts that always apply: `connectTimeoutMs` (3.05 s) for TCP + TLS, `responseTimeoutMs`
 *   (27 s) as a hard deadline per attempt; a body limit (`maxResponseBytes`, 1 MiB).
 * - Redirects are not followed: a 3xx is returned as it is.
 * - Retries (cockatiel) of idempotent methods only, on connect errors, timeouts, lost
 *   connections, 429, 502, 503 and 504, with exponential backoff and jitter, honouring
 *   `Retry-After` on 429/503 up to `retry.maxRetryAfterMs`.
 * - A circuit breaker (cockatiel) per origin.
 * - Typed errors (`HttpClientError` and subclasses) whose messages never hold the query
 *   string, headers or bodies; 4xx and 5xx throw.
 * - OAuth 2.0 client credentials (`clientCredentials`, openid-client): the token is cached,
 *   shared by concurrent requests, replaced before `exp`, and sent as `Authorization: Bearer`;
 *   a 401 drops it and the request is sent once more with a new one.
 *
 * Logs (Nest `Logger`, context `SecureHttpClient`): one debug line per attempt with method,
 * origin, path without query, status, duration and attempt; a warning when a circuit opens.
 * Never headers, bodies, tokens or secrets.
 *
 * @example
 * const images = new SecureHttpClient({
 *   baseUrl: 'https://images.internal/v1',
 *   clientCredentials: {
 *     tokenEndpoint: 'https://auth.internal/oauth2/token',
 *     clientId: 'thumbnailer',
 *     clientSecret: process.env.CLIENT_SECRET ?? '',
 *     scope: ['images:read'],
 *   },
 * });
 * const job = (await images.get('/jobs/42')).json<{ state: string }>();
 * await images.close();
 */
export class SecureHttpClient
  extends EventEmitter<SecureHttpClientEvents>
  implements OnApplicationShutdown
{
  readonly #options: ResolvedHttpClientOptions;
  readonly #logger = new Logger('SecureHttpClient');
  readonly #breakers: OriginBreakerRegistry;
  readonly #retry: RetryPolicy | undefined;
  readonly #tokens: ClientCredentialsTokenSource | undefined;
  readonly #retiring = new Set<Promise<void>>();
  #dispatcher: Agent;
  #tls: ClientTlsMaterial | undefined;
  #tlsStatus: ClientTlsStatus | undefined;
  #watcher: TlsFileWatcher | undefined;
  #closing: Promise<void> | undefined;

  /**
   * Checks the options, reads the TLS files and starts watching them (`tls.watch`). No
   * connection is made until the first request.
   *
   * @throws SecureApiError `ERR_SECURE_API_INVALID_OPTIONS` (naming the option) or
   *   `ERR_SECURE_API_TLS_CONFIG_INVALID` (naming the file)
   */
  constructor(options: SecureHttpClientOptions) {
    super();
    this.#options = resolveHttpClientOptions(options);
    const { tls, retry, circuitBreaker, clientCredentials } = this.#options;
    if (tls) {
      this.#tls = loadClientTls(tls);
      this.#tlsStatus = tlsStatusOf(this.#tls, new Date());
    }
    this.#dispatcher = this.#createAgent(this.#tls);
    this.#breakers = new OriginBreakerRegistry(circuitBreaker, (error) => isBreakerFailure(error), {
      opened: (origin, halfOpenAfterMs) => {
        this.#logger.warn({ msg: 'circuit breaker opened', origin, halfOpenAfterMs });
        this.emit('circuitOpen', { origin, halfOpenAfterMs });
      },
      halfOpened: (origin) => {
        this.#logger.debug({ msg: 'circuit breaker half-open: trial request', origin });
        this.emit('circuitHalfOpen', { origin });
      },
      closed: (origin) => {
        this.#logger.log({ msg: 'circuit breaker closed', origin });
        this.emit('circuitClose', { origin });
      },
    });
    if (retry.attempts > 1) {
      const policy = createRetryPolicy(retry, {
        shouldRetry: (error) => this.#shouldRetry(error),
        retryAfterMs: (error) =>
          error instanceof UpstreamHttpError ? error.retryAfterMs : undefined,
      });
      policy.onRetry((event) =>
        this.#onRetry('error' in event ? event.error : undefined, event.delay, event.attempt + 1),
      );
      this.#retry = policy;
    }
    if (clientCredentials) {
      this.#tokens = new ClientCredentialsTokenSource(clientCredentials, {
        fetch: this.#oauthFetch,
        allowInsecureHttp: this.#options.allowInsecureHttp,
        timeoutMs: this.#options.responseTimeoutMs,
        logger: this.#logger,
      });
    }
    if (tls?.watch) {
      const files = [tls.certFile, tls.keyFile, tls.caFile].filter(
        (file): file is string => file !== undefined,
      );
      this.#watcher = new TlsFileWatcher(files, () => {
        // reloadTls() logs and emits a failure itself; the old material stays in use.
        this.reloadTls().catch(() => undefined);
      });
      this.#watcher.start();
    }
  }

  /**
   * Sends a request, with retries (idempotent methods), the origin's circuit breaker and, when
   * configured, a bearer token.
   *
   * @returns the response, for a status below 400
   * @throws HttpClientUrlRefusedError before any traffic, for a URL that is not allowed
   * @throws UpstreamClientError | UpstreamServerError for 4xx | 5xx (after retries)
   * @throws HttpClientTimeoutError | HttpClientConnectError | HttpClientNetworkError
   * @throws ResponseTooLargeError | CircuitOpenError | TokenRequestFailedError |
   *   HttpClientAbortedError
   * @throws TypeError for a malformed request (method, headers, body)
   *
   * @example
   * const res = await client.request({
   *   method: 'PUT',
   *   path: '/images/42/tags',
   *   json: { tags: ['cat'] },
   *   signal: AbortSignal.timeout(10_000),
   * });
   */
  async request(request: HttpClientRequest): Promise<HttpClientResponse> {
    const method = normalizeMethod(request.method);
    const target = resolveRequestTarget(method, request, this.#options);
    if (this.#closing) throw new HttpClientAbortedError(target, 'closed');
    if (request.signal?.aborted) {
      throw new HttpClientAbortedError(target, 'signal', request.signal.reason);
    }
    const exchange: Exchange = {
      target,
      ...this.#prepare(request),
      signal: request.signal,
      maxResponseBytes: integerOption(
        request.maxResponseBytes,
        'request.maxResponseBytes',
        this.#options.maxResponseBytes,
        'bytes',
        { max: Number.MAX_SAFE_INTEGER },
      ),
      responseTimeoutMs: this.#responseTimeout(request.responseTimeoutMs),
      attempt: 0,
      tokenRetried: false,
    };
    const retryable = IDEMPOTENT.has(method) || request.idempotencyKey !== undefined;
    const run = (): Promise<HttpClientResponse> => this.#attempt(exchange);
    const result = this.#retry && retryable ? this.#retry.execute(run, request.signal) : run();
    return abortable(
      result,
      request.signal,
      () => new HttpClientAbortedError(target, 'signal', request.signal?.reason),
    );
  }

  /**
   * `GET`. A `target` starting with `/` is a path under `baseUrl`, anything else an absolute URL.
   * @example
   * const { items } = (await client.get('/items', { query: { page: 2 } })).json<{ items: Item[] }>();
   */
  get(target: string, options: HttpClientRequestOptions = {}): Promise<HttpClientResponse> {
    return this.request({ ...options, ...splitTarget(target), method: 'GET' });
  }

  /**
   * `POST`: not retried unless `idempotencyKey` is given.
   * @example
   * await client.post('/jobs', { json: { image: 42 }, idempotencyKey: randomUUID() });
   */
  post(target: string, options: HttpClientRequestOptions = {}): Promise<HttpClientResponse> {
    return this.request({ ...options, ...splitTarget(target), method: 'POST' });
  }

  /**
   * `PUT`.
   * @example
   * await client.put('/images/42/tags', { json: ['cat'] });
   */
  put(target: string, options: HttpClientRequestOptions = {}): Promise<HttpClientResponse> {
    return this.request({ ...options, ...splitTarget(target), method: 'PUT' });
  }

  /**
   * `PATCH`: not retried unless `idempotencyKey` is given.
   * @example
   * await client.patch('/images/42', { json: { title: 'Cat' } });
   */
  patch(target: string, options: HttpClientRequestOptions = {}): Promise<HttpClientResponse> {
    return this.request({ ...options, ...splitTarget(target), method: 'PATCH' });
  }

  /**
   * `DELETE`.
   * @example
   * await client.delete('/images/42');
   */
  delete(target: string, options: HttpClientRequestOptions = {}): Promise<HttpClientResponse> {
    return this.request({ ...options, ...splitTarget(target), method: 'DELETE' });
  }

  /**
   * The state of an origin's circuit breaker.
   * @param origin an origin or any URL of it
   * @example
   * if (client.circuitState('https://images.internal') === 'open') return fallback();
   */
  circuitState(origin: string): CircuitStateName {
    return this.#breakers.state(URL.parse(origin)?.origin ?? origin);
  }

  /** The TLS material in use (client certificate fingerprint and expiry); `undefined` without `tls`. */
  tlsStatus(): ClientTlsStatus | undefined {
    return this.#tlsStatus;
  }

  /**
   * Reads the TLS files again (what `tls.watch` does on a change). Valid, changed material goes
   * to a new dispatcher used by new requests; the old one closes once its requests are done.
   *
   * @returns `true` when new material is in use, `false` when nothing changed (or no `tls`)
   * @throws SecureApiError `ERR_SECURE_API_TLS_CONFIG_INVALID` naming the file; the old
   *   material stays in use, and the failure is logged and emitted as `tlsReloadFailed`
   * @example
   * const reloaded = once(client, 'tlsReloaded');
   * await rotateCertificates();
   * await reloaded;
   */
  reloadTls(): Promise<boolean> {
    try {
      return Promise.resolve(this.#reload());
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /**
   * Stops watching the TLS files and closes every pool: requests under way finish, new ones are
   * refused with `HttpClientAbortedError`. A request waiting out a retry delay fails when the
   * delay ends. Safe to call twice.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#watcher?.stop();
      await Promise.all([this.#dispatcher.close(), ...this.#retiring]);
    })();
    return this.#closing;
  }

  /** Closes the client when the Nest application shuts down. */
  onApplicationShutdown(): Promise<void> {
    return this.close();
  }

  async #attempt(exchange: Exchange): Promise<HttpClientResponse> {
    exchange.attempt += 1;
    const { target } = exchange;
    if (this.#closing) throw new HttpClientAbortedError(target, 'closed');
    if (exchange.signal?.aborted) {
      throw new HttpClientAbortedError(target, 'signal', exchange.signal.reason);
    }
    const tokens = this.#tokens;
    const token = tokens ? await tokens.token() : undefined;
    const refused = (retryAfterMs: number): Error => new CircuitOpenError(target, retryAfterMs);
    try {
      return await this.#breakers.execute(
        target.origin,
        () => this.#exchange(exchange, token, true),
        refused,
      );
    } catch (error) {
      if (
        !tokens ||
        token === undefined ||
        exchange.tokenRetried ||
        !(error instanceof UpstreamClientError) ||
        error.status !== 401
      ) {
        throw error;
      }
      // The token may have been revoked or rotated before its exp: once, with a new one.
      exchange.tokenRetried = true;
      tokens.invalidate(token);
      const fresh = await tokens.token();
      return this.#breakers.execute(
        target.origin,
        () => this.#exchange(exchange, fresh, true),
        refused,
      );
    }
  }

  /** One request on the wire, under the attempt's deadline. */
  async #exchange(
    exchange: Exchange,
    token: string | undefined,
    throwOnStatus: boolean,
  ): Promise<HttpClientResponse> {
    const { target, responseTimeoutMs } = exchange;
    const controller = new AbortController();
    const deadline = setTimeout(() => controller.abort(DEADLINE), responseTimeoutMs);
    const onAbort = (): void => controller.abort(exchange.signal?.reason);
    exchange.signal?.addEventListener('abort', onAbort, { once: true });
    const startedAt = performance.now();
    let status: number | undefined;
    let failure: string | undefined;
    try {
      const response = await this.#dispatcher.request({
        origin: target.origin,
        path: target.pathAndQuery,
        method: target.method,
        headers: token
          ? { ...exchange.headers, authorization: `Bearer ${token}` }
          : exchange.headers,
        body: exchange.body ?? null,
        signal: controller.signal,
        headersTimeout: responseTimeoutMs,
        bodyTimeout: responseTimeoutMs,
      });
      status = response.statusCode;
      return await this.#read(response, exchange, throwOnStatus);
    } catch (error) {
      const typed = this.#translate(error, controller.signal, exchange);
      failure = typed instanceof SecureApiError ? typed.code : typed.name;
      throw typed;
    } finally {
      clearTimeout(deadline);
      exchange.signal?.removeEventListener('abort', onAbort);
      this.#logger.debug({
        msg: 'outbound request',
        method: target.method,
        origin: target.origin,
        path: target.path,
        status,
        durationMs: Math.round(performance.now() - startedAt),
        attempt: exchange.attempt,
        ...(failure === undefined ? {} : { error: failure }),
      });
    }
  }

  async #read(
    response: Dispatcher.ResponseData,
    exchange: Exchange,
    throwOnStatus: boolean,
  ): Promise<HttpClientResponse> {
    const { target, maxResponseBytes: limit } = exchange;
    const { statusCode: status, headers, body } = response;
    const empty = target.method === 'HEAD' || status === 204 || status === 304;
    if (throwOnStatus && status >= 400) {
      const kept = empty ? NO_BODY : (await readBody(body, ERROR_BODY_BYTES)).data;
      const details = {
        status,
        statusText: response.statusText,
        retryAfterMs: RETRY_AFTER_STATUSES.has(status)
          ? parseRetryAfter(headers['retry-after'], Date.now())
          : undefined,
        headers,
        body: kept,
      };
      throw status < 500
        ? new UpstreamClientError(target, details)
        : new UpstreamServerError(target, details);
    }
    const declared = declaredLength(headers['content-length']);
    if (!empty && declared !== undefined && declared > limit) {
      discardBody(body);
      throw new ResponseTooLargeError(target, status, limit, declared);
    }
    const read = await readBody(body, limit);
    if (read.truncated) throw new ResponseTooLargeError(target, status, limit);
    return createResponse(status, headers, read.data);
  }

  #translate(error: unknown, signal: AbortSignal, exchange: Exchange): Error {
    const { target } = exchange;
    if (error instanceof HttpClientError) return error;
    if (signal.aborted) {
      return signal.reason === DEADLINE
        ? new HttpClientTimeoutError(target, 'response', exchange.responseTimeoutMs)
        : new HttpClientAbortedError(target, 'signal', exchange.signal?.reason);
    }
    return classifyTransportError(error, target, {
      connectTimeoutMs: this.#options.connectTimeoutMs,
      responseTimeoutMs: exchange.responseTimeoutMs,
    });
  }

  #shouldRetry(error: unknown): boolean {
    if (
      error instanceof HttpClientTimeoutError ||
      error instanceof HttpClientConnectError ||
      error instanceof HttpClientNetworkError
    ) {
      return true;
    }
    if (!(error instanceof UpstreamHttpError) || !RETRY_STATUSES.has(error.status)) return false;
    // Waiting longer than the cap would hold the caller (and a connection slot) hostage:
    // the error goes to the caller, who sees retryAfterMs.
    return (error.retryAfterMs ?? 0) <= this.#options.retry.maxRetryAfterMs;
  }

  #onRetry(error: unknown, delayMs: number, attempt: number): void {
    const known = error instanceof HttpClientError ? error : undefined;
    const payload: HttpClientRetryEvent = {
      method: known?.method ?? '',
      origin: known?.origin ?? '',
      path: known?.path ?? '',
      attempt,
      delayMs,
      code: known?.code,
      status: known?.status,
    };
    this.#logger.debug({ msg: 'outbound request retried', ...payload });
    this.emit('retry', payload);
  }

  #prepare(request: HttpClientRequest): Pick<Exchange, 'headers' | 'body'> {
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(request.headers ?? {})) {
      const lower = name.toLowerCase();
      if (!TOKEN.test(name)) throw new TypeError(`SecureHttpClient: invalid header name "${name}"`);
      if (MANAGED_HEADERS.has(lower)) {
        throw new TypeError(`SecureHttpClient: the "${lower}" header is set by the client`);
      }
      if (lower === 'authorization' && this.#tokens) {
        throw new TypeError(
          'SecureHttpClient: "authorization" is set from "httpClient.clientCredentials"; do not pass it',
        );
      }
      if (lower in headers)
        throw new TypeError(`SecureHttpClient: the "${lower}" header is given twice`);
      const values: readonly unknown[] = Array.isArray(value) ? value : [value];
      if (!values.every((item) => typeof item === 'string')) {
        throw new TypeError(`SecureHttpClient: the "${lower}" header must be a string or strings`);
      }
      headers[lower] = Array.isArray(value) ? [...(value as string[])] : (value as string);
    }
    if (request.idempotencyKey !== undefined) {
      const key = request.idempotencyKey;
      if (typeof key !== 'string' || !/^[\x21-\x7e]{1,255}$/.test(key)) {
        throw new TypeError(
          'SecureHttpClient: "idempotencyKey" must be 1 to 255 visible ASCII characters',
        );
      }
      if ('idempotency-key' in headers) {
        throw new TypeError(
          'SecureHttpClient: give "idempotencyKey" or an Idempotency-Key header, not both',
        );
      }
      headers['idempotency-key'] = key;
    }
    if (request.json !== undefined) {
      if (request.body !== undefined) {
        throw new TypeError('SecureHttpClient: give "body" or "json", not both');
      }
      headers['content-type'] ??= 'application/json';
      return { headers, body: Buffer.from(JSON.stringify(request.json)) };
    }
    const { body } = request;
    if (body === undefined) return { headers, body: undefined };
    if (typeof body === 'string') return { headers, body: Buffer.from(body) };
    if (body instanceof Uint8Array) {
      return { headers, body: Buffer.from(body.buffer, body.byteOffset, body.byteLength) };
    }
    throw new TypeError(
      'SecureHttpClient: "body" must be a string, Buffer or Uint8Array (a retry sends it again, so streams are not accepted)',
    );
  }

  #responseTimeout(value: number | undefined): number {
    const timeout = integerOption(
      value,
      'request.responseTimeoutMs',
      this.#options.responseTimeoutMs,
      'milliseconds',
    );
    if (timeout <= this.#options.connectTimeoutMs) {
      throw invalidOption(
        'request.responseTimeoutMs',
        `must be more than "httpClient.connectTimeoutMs" (${this.#options.connectTimeoutMs}), which it includes`,
      );
    }
    return timeout;
  }

  /** openid-client's fetch: one attempt through this client's dispatcher, status not thrown. */
  readonly #oauthFetch: CustomFetch = async (url: string, init: CustomFetchOptions) => {
    const method = normalizeMethod(init.method);
    const parsed = new URL(url);
    const target: RequestTarget = {
      method,
      origin: parsed.origin,
      path: parsed.pathname,
      pathAndQuery: `${parsed.pathname}${parsed.search}`,
    };
    if (
      parsed.protocol !== 'https:' &&
      !(parsed.protocol === 'http:' && this.#options.allowInsecureHttp)
    ) {
      throw new HttpClientUrlRefusedError(target, `the authorization server URL must be https:`);
    }
    if (this.#closing) throw new HttpClientAbortedError(target, 'closed');
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(init.headers)) headers[name.toLowerCase()] = value;
    const response = await this.#exchange(
      {
        target,
        headers,
        body: oauthBody(init.body),
        signal: init.signal,
        maxResponseBytes: this.#options.maxResponseBytes,
        responseTimeoutMs: this.#options.responseTimeoutMs,
        attempt: 1,
        tokenRetried: true,
      },
      undefined,
      false,
    );
    const fetchHeaders = new Headers();
    for (const [name, value] of Object.entries(response.headers)) {
      for (const item of Array.isArray(value) ? value : value === undefined ? [] : [value]) {
        fetchHeaders.append(name, item);
      }
    }
    const nullBody = [101, 204, 205, 304].includes(response.status);
    return new Response(nullBody ? null : response.body, {
      status: response.status,
      headers: fetchHeaders,
    });
  };

  /** Synchronous, so two reloads cannot interleave. */
  #reload(): boolean {
    const tls = this.#options.tls;
    if (!tls || this.#closing) return false;
    let material: ClientTlsMaterial;
    try {
      material = loadClientTls(tls);
    } catch (error) {
      this.#logger.error({
        msg: 'client TLS reload failed; the current certificate stays in use',
        error: error instanceof Error ? error.message : String(error),
      });
      this.emit('tlsReloadFailed', error instanceof Error ? error : new Error(String(error)));
      throw error;
    }
    if (sameMaterial(this.#tls, material)) return false;
    const previous = this.#dispatcher;
    this.#tls = material;
    this.#dispatcher = this.#createAgent(material);
    const status = tlsStatusOf(material, new Date());
    this.#tlsStatus = status;
    // Open connections finish their requests on the old material; close() waits for them.
    const retired = previous.close().catch(() => undefined);
    this.#retiring.add(retired);
    void retired.finally(() => this.#retiring.delete(retired));
    this.#logger.log({
      msg: 'client TLS material reloaded',
      certificateFingerprint: status.certificateFingerprint,
      certificateExpiresAt: status.certificateExpiresAt?.toISOString(),
    });
    this.emit('tlsReloaded', status);
    return true;
  }

  #createAgent(material: ClientTlsMaterial | undefined): Agent {
    const options = this.#options;
    return new Agent({
      connect: createConnector(connectionOptions(material), options.connectTimeoutMs),
      connections: options.maxConnectionsPerOrigin,
      keepAliveTimeout: options.keepAliveTimeoutMs,
      // Inactivity timers, as a backstop: the attempt's deadline fires first.
      headersTimeout: options.responseTimeoutMs,
      bodyTimeout: options.responseTimeoutMs,
      allowH2: false,
    });
  }
}

function normalizeMethod(method: unknown): string {
  if (method === undefined) return 'GET';
  if (typeof method !== 'string' || !TOKEN.test(method)) {
    throw new TypeError('SecureHttpClient: "method" must be an HTTP method token');
  }
  const upper = method.toUpperCase();
  if (REFUSED_METHODS.has(upper)) {
    throw new TypeError(`SecureHttpClient: the ${upper} method is not supported`);
  }
  return upper;
}

function splitTarget(target: string): { url: string } | { path: string } {
  return target.startsWith('/') ? { path: target } : { url: target };
}

function isBreakerFailure(error: unknown): boolean {
  return (
    error instanceof HttpClientTimeoutError ||
    error instanceof HttpClientConnectError ||
    error instanceof HttpClientNetworkError ||
    error instanceof UpstreamServerError ||
    (error instanceof UpstreamClientError && error.status === 429)
  );
}

function oauthBody(body: CustomFetchOptions['body']): Buffer | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return Buffer.from(body);
  if (body instanceof URLSearchParams) return Buffer.from(body.toString());
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  throw new TypeError('SecureHttpClient: openid-client sent a body kind this client does not send');
}

function createResponse(
  status: number,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  body: Buffer,
): HttpClientResponse {
  return Object.freeze({
    status,
    headers,
    body,
    json<T = unknown>(): T {
      return JSON.parse(body.toString('utf8')) as T;
    },
    text(): string {
      return body.toString('utf8');
    },
  });
}

/** `result`, or a rejection as soon as `signal` aborts (a retry delay cannot be cut short). */
function abortable<T>(
  result: Promise<T>,
  signal: AbortSignal | undefined,
  aborted: () => Error,
): Promise<T> {
  if (signal === undefined) return result;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(aborted());
    signal.addEventListener('abort', onAbort, { once: true });
    void result.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
