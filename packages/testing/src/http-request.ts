import {
  request as requestHttp,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type RequestOptions,
} from 'node:http';
import { request as requestHttps } from 'node:https';

/** Options of {@link httpRequest}. */
export interface HttpRequestOptions {
  /**
   * Any method, including ones `fetch()` refuses (`TRACE`, `CONNECT`…).
   * @default 'GET'
   */
  method?: string;
  /**
   * Object form (an array value is sent as one header line per element), or raw
   * `[name, value]` pairs, sent in order as separate lines, duplicates included.
   */
  headers?: Record<string, string | string[]> | ReadonlyArray<readonly [string, string]>;
  /** Request body, sent with a `Content-Length`. */
  body?: string | Buffer;
  /**
   * Time for the whole exchange, body included; after it the request is destroyed and the
   * promise rejects with `code: 'ETIMEDOUT'`.
   * @default 5000
   */
  timeoutMs?: number;
  /** TLS settings for `https:` URLs, passed to `https.request()`. Refused for `http:` URLs. */
  tls?: {
    ca?: string | Buffer | Array<string | Buffer>;
    cert?: string | Buffer;
    key?: string | Buffer;
    servername?: string;
  };
}

/** The response of {@link httpRequest}, fully read. */
export interface HttpResponse {
  /** The status code. */
  readonly status: number;
  /** Header names lower-cased, as Node.js parses them. */
  readonly headers: IncomingHttpHeaders;
  /** Names and values as received, alternating, duplicates kept. */
  readonly rawHeaders: readonly string[];
  /** The body decoded as UTF-8. */
  readonly text: string;
  /**
   * The body parsed as JSON.
   * @throws SyntaxError quoting the start of the body when it is not JSON.
   */
  json<T = unknown>(): T;
}

/**
 * Sends one request over `node:http` (or `node:https` for `https:` URLs) with `agent: false`
 * and never follows redirects. `fetch()` would merge duplicate headers and refuse some
 * methods, which attack tests need to send.
 *
 * @example
 * const res = await httpRequest(`${url}/images`, {
 *   headers: [['authorization', `Bearer ${a}`], ['authorization', `Bearer ${b}`]],
 * });
 * expect(res.status).toBe(400);
 */
export function httpRequest(url: string, options: HttpRequestOptions = {}): Promise<HttpResponse> {
  const { method = 'GET', headers, body, timeoutMs = 5000, tls } = options;
  return new Promise<HttpResponse>((resolve, reject) => {
    const target = new URL(url);
    const secure = target.protocol === 'https:';
    if (!secure && target.protocol !== 'http:') {
      throw new TypeError(`httpRequest: only http: and https: URLs are supported (got ${url})`);
    }
    if (tls && !secure) {
      throw new TypeError(`httpRequest: "tls" applies to https: URLs only (got ${url})`);
    }
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new TypeError(`httpRequest: "timeoutMs" must be a positive number (got ${timeoutMs})`);
    }
    const requestOptions: RequestOptions = {
      method,
      headers: toNodeHeaders(headers, target, body, method),
      agent: false,
      ...(secure ? tls : undefined),
    };
    let settled = false;
    const settle = (outcome: () => void): void => {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        outcome();
      }
    };
    const req = (secure ? requestHttps : requestHttp)(target, requestOptions, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', (error) => settle(() => reject(error)));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        const text = Buffer.concat(chunks).toString('utf8');
        const response: HttpResponse = Object.freeze({
          status,
          headers: res.headers,
          rawHeaders: Object.freeze([...res.rawHeaders]),
          text,
          json<T = unknown>(): T {
            try {
              return JSON.parse(text) as T;
            } catch (cause) {
              throw new SyntaxError(
                `httpRequest: the ${status} response to ${method} ${url} is not JSON: ${JSON.stringify(text.slice(0, 200))}`,
                { cause },
              );
            }
          },
        });
        settle(() => resolve(response));
      });
    });
    const timer = setTimeout(() => {
      settle(() =>
        reject(
          Object.assign(
            new Error(
              `httpRequest: no complete response to ${method} ${url} within ${timeoutMs} ms`,
            ),
            { code: 'ETIMEDOUT' },
          ),
        ),
      );
      req.destroy();
    }, timeoutMs);
    req.on('error', (error) => settle(() => reject(error)));
    req.end(body);
  });
}

// Methods whose requests carry no content unless they say so (RFC 9110 §8.6: no Content-Length).
const BODILESS_METHODS = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);

function toNodeHeaders(
  headers: HttpRequestOptions['headers'],
  target: URL,
  body: string | Buffer | undefined,
  method: string,
): OutgoingHttpHeaders | string[] {
  const pairs: [string, string | string[]][] = Array.isArray(headers)
    ? (headers as ReadonlyArray<readonly [string, string]>).map(([name, value]) => [name, value])
    : Object.entries((headers ?? {}) as Record<string, string | string[]>);
  const has = (name: string): boolean =>
    pairs.some(([candidate]) => candidate.toLowerCase() === name);
  // Node.js sets Content-Length by itself only for object headers and only for methods such as
  // POST; a GET or DELETE body would otherwise go out unframed.
  if (body !== undefined && !has('content-length') && !has('transfer-encoding')) {
    pairs.push(['content-length', String(Buffer.byteLength(body))]);
  }
  if (!Array.isArray(headers)) {
    return Object.fromEntries(pairs);
  }
  // The rawHeaders layout (name, value…) keeps order and duplicates, but Node.js then adds no
  // Host, which HTTP/1.1 requires (RFC 9112 §3.2: first), and frames a body-less PUT or POST as
  // chunked, which servers may refuse before any application code runs.
  if (!has('host')) {
    pairs.unshift(['host', target.host]);
  }
  if (
    body === undefined &&
    !BODILESS_METHODS.has(method.toUpperCase()) &&
    !has('content-length') &&
    !has('transfer-encoding')
  ) {
    pairs.push(['content-length', '0']);
  }
  return pairs.flatMap(([name, value]) => [name, String(value)]);
}
