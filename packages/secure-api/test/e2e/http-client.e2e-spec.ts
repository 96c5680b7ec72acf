import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { type ServerResponse } from 'node:http';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { Logger } from '@nestjs/common';
import {
  createLocalIssuer,
  createLogCapture,
  createTestPki,
  fakeDateOnly,
  type LocalIssuer,
  type LogCapture,
  type TestCertificate,
  type TestPki,
} from '@secure-api/testing';
import { SecureApiErrorCode } from '../../src/errors/secure-api-error-code.js';
import {
  CircuitOpenError,
  HttpClientAbortedError,
  HttpClientConnectError,
  HttpClientError,
  HttpClientTimeoutError,
  HttpClientUrlRefusedError,
  ResponseTooLargeError,
  TokenRequestFailedError,
  UpstreamClientError,
  UpstreamServerError,
} from '../../src/http-client/http-client.errors.js';
import { type SecureHttpClientOptions } from '../../src/http-client/http-client-options.js';
import {
  type HttpClientRetryEvent,
  SecureHttpClient,
} from '../../src/http-client/secure-http-client.js';
import {
  sendJson,
  startBlackhole,
  startUpstream,
  type Upstream,
} from './fixtures/http-client-upstream.js';

/** Timers faked for retry delays; the event loop (I/O, setImmediate, microtasks) stays real. */
const FAKE_TIMERS = {
  doNotFake: [
    'nextTick',
    'setImmediate',
    'clearImmediate',
    'queueMicrotask',
    'hrtime',
    'performance',
  ] as Array<
    'nextTick' | 'setImmediate' | 'clearImmediate' | 'queueMicrotask' | 'hrtime' | 'performance'
  >,
};

/** Fast retries, so that a suite with many of them stays within seconds. */
const FAST_RETRY = { initialDelayMs: 1, maxDelayMs: 5 };

const clients: SecureHttpClient[] = [];

/** A client closed after the test; plain http allowed unless the options say otherwise. */
function newClient(options: SecureHttpClientOptions): SecureHttpClient {
  const client = new SecureHttpClient({
    allowInsecureHttp: true,
    ...options,
    retry: { ...FAST_RETRY, ...options.retry },
  });
  clients.push(client);
  return client;
}

/** The error the request failed with; fails the test when it succeeded or threw something else. */
async function failure(request: Promise<unknown>): Promise<HttpClientError> {
  try {
    await request;
  } catch (error) {
    if (error instanceof HttpClientError) return error;
    throw error;
  }
  throw new Error('expected the request to fail');
}

/** Every `retry` event the client emits, in order. */
function retries(client: SecureHttpClient): HttpClientRetryEvent[] {
  const events: HttpClientRetryEvent[] = [];
  client.on('retry', (event) => events.push(event));
  return events;
}

/** A port nothing listens on (it was just released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

afterEach(async () => {
  jest.useRealTimers();
  Logger.overrideLogger(false);
  await Promise.all(clients.splice(0).map((client) => client.close()));
});

describe('SecureHttpClient over plain HTTP', () => {
  let upstream: Upstream;

  beforeEach(async () => {
    upstream = await startUpstream();
  });

  afterEach(async () => {
    await upstream.close();
  });

  it('sends the request, and keeps connections alive for the next ones', async () => {
    upstream.handle((seen, res) =>
      sendJson(res, 200, {
        method: seen.method,
        url: seen.url,
        type: seen.headers['content-type'],
        body: seen.body,
      }),
    );
    const client = newClient({ baseUrl: `${upstream.origin}/v1` });

    const first = await client.get('/items', {
      query: { page: 2, tag: ['a', 'b'], skip: undefined },
    });
    const second = await client.post('/items', { json: { name: 'cat' } });

    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toBe('application/json');
    expect(first.json()).toEqual({ method: 'GET', url: '/v1/items?page=2&tag=a&tag=b', body: '' });
    expect(second.json()).toEqual({
      method: 'POST',
      url: '/v1/items',
      type: 'application/json',
      body: '{"name":"cat"}',
    });
    for (let i = 0; i < 8; i += 1) await client.get('/items');
    // undici ends a body before it marks its connection idle, so a request sent at once after
    // the previous one may open a second connection; then both are reused.
    expect(upstream.connections).toBeLessThanOrEqual(2);
  });

  it('gives an empty body for HEAD and 204', async () => {
    upstream.handle((seen, res) => {
      if (seen.method === 'HEAD') {
        res.writeHead(200, { 'content-length': '5000' }).end();
      } else {
        res.writeHead(204).end();
      }
    });
    const client = newClient({ baseUrl: upstream.origin, maxResponseBytes: 10 });

    const head = await client.request({ method: 'HEAD', path: '/file' });
    const deleted = await client.delete('/file');

    expect([head.status, head.headers['content-length'], head.body.length]).toEqual([
      200,
      '5000',
      0,
    ]);
    expect([deleted.status, deleted.text()]).toEqual([204, '']);
  });

  it('returns a redirect as it is, without following it', async () => {
    upstream.handle((_seen, res) => {
      res.writeHead(302, { location: 'https://elsewhere.example/' }).end();
    });
    const client = newClient({ baseUrl: upstream.origin });

    const res = await client.get('/moved');

    expect([res.status, res.headers['location'], res.body.length]).toEqual([
      302,
      'https://elsewhere.example/',
      0,
    ]);
    expect(upstream.hits).toBe(1);
  });

  it('refuses an origin outside allowedOrigins before connecting (SSRF)', async () => {
    const client = newClient({ baseUrl: upstream.origin });

    const error = await failure(client.get('http://127.0.0.2:9/internal?token=x'));

    expect(error).toBeInstanceOf(HttpClientUrlRefusedError);
    expect(error.code).toBe(SecureApiErrorCode.HTTP_CLIENT_URL_REFUSED);
    expect(error.message).toBe(
      'GET http://127.0.0.2:9/internal: refused before sending: the origin http://127.0.0.2:9 is not in "httpClient.allowedOrigins"',
    );
    const escape = await failure(
      new SecureHttpClient({ baseUrl: `${upstream.origin}/v1`, allowInsecureHttp: true }).get(
        '/%2e%2e/admin',
      ),
    );
    expect(escape.message).toContain('"path" leaves the base path /v1');
    expect(upstream.connections).toBe(0);
  });

  it('aborts on the caller signal, and refuses requests once closed', async () => {
    const controller = new AbortController();
    upstream.handle(() => controller.abort(new Error('caller gave up')));
    const client = newClient({ baseUrl: upstream.origin });

    const error = await failure(client.get('/stall', { signal: controller.signal }));

    expect(error).toBeInstanceOf(HttpClientAbortedError);
    expect(error).toMatchObject({ code: SecureApiErrorCode.HTTP_CLIENT_ABORTED, reason: 'signal' });
    expect((error.cause as Error).message).toBe('caller gave up');
    await client.close();
    expect(await failure(client.get('/after'))).toMatchObject({
      code: SecureApiErrorCode.HTTP_CLIENT_ABORTED,
      reason: 'closed',
    });
    expect(upstream.hits).toBe(1);
  });

  describe('timeouts', () => {
    it('gives up connecting to a blackholed port after connectTimeoutMs, on time', async () => {
      const hole = await startBlackhole();
      try {
        const client = newClient({
          allowedOrigins: [hole.origin],
          connectTimeoutMs: 200,
          responseTimeoutMs: 2000,
          retry: { attempts: 1 },
        });
        const startedAt = performance.now();

        const error = await failure(client.get(`${hole.origin}/x`));

        const elapsed = performance.now() - startedAt;
        expect(error).toBeInstanceOf(HttpClientTimeoutError);
        expect(error).toMatchObject({
          code: SecureApiErrorCode.HTTP_CLIENT_CONNECT_TIMEOUT,
          phase: 'connect',
          timeoutMs: 200,
          method: 'GET',
          origin: hole.origin,
          path: '/x',
          status: undefined,
        });
        expect(error.message).toBe(
          `GET ${hole.origin}/x: no connection within 200 ms (connectTimeoutMs)`,
        );
        // undici's own connect timer ticks every 500 ms and would fire after about a second.
        expect(elapsed).toBeGreaterThanOrEqual(195);
        expect(elapsed).toBeLessThan(700);
        // TCP connected; the TLS handshake is what never ended.
        expect(hole.accepted).toBe(1);
      } finally {
        await hole.close();
      }
    });

    it.each([
      [
        'sends headers and stalls the body',
        (res: ServerResponse) => {
          res.writeHead(200, { 'content-length': '100' });
          res.write('partial');
        },
      ],
      ['never sends headers', () => undefined],
    ])('gives up on a server that %s after responseTimeoutMs', async (_name, stall) => {
      upstream.handle((_seen, res) => stall(res));
      const client = newClient({
        baseUrl: upstream.origin,
        connectTimeoutMs: 100,
        responseTimeoutMs: 300,
        retry: { attempts: 1 },
      });
      const startedAt = performance.now();

      const error = await failure(client.get('/slow?secret=1'));

      const elapsed = performance.now() - startedAt;
      expect(error).toBeInstanceOf(HttpClientTimeoutError);
      expect(error).toMatchObject({
        code: SecureApiErrorCode.HTTP_CLIENT_RESPONSE_TIMEOUT,
        phase: 'response',
        timeoutMs: 300,
      });
      expect(error.message).toBe(
        `GET ${upstream.origin}/slow: no complete response within 300 ms (responseTimeoutMs)`,
      );
      expect(elapsed).toBeGreaterThanOrEqual(295);
      expect(elapsed).toBeLessThan(900);
    });
  });

  describe('retries', () => {
    it('retries a GET after 503, 503 and returns the 200', async () => {
      upstream.handle((_seen, res, hit) =>
        hit < 3 ? sendJson(res, 503, { hit }) : sendJson(res, 200, { hit }),
      );
      const client = newClient({ baseUrl: upstream.origin });
      const events = retries(client);

      const res = await client.get('/flaky');

      expect(res.json()).toEqual({ hit: 3 });
      expect(upstream.hits).toBe(3);
      expect(
        events.map(({ attempt, status, code, path: p }) => ({ attempt, status, code, path: p })),
      ).toEqual([
        { attempt: 2, status: 503, code: SecureApiErrorCode.UPSTREAM_SERVER_ERROR, path: '/flaky' },
        { attempt: 3, status: 503, code: SecureApiErrorCode.UPSTREAM_SERVER_ERROR, path: '/flaky' },
      ]);
      for (const { delayMs } of events) expect(delayMs).toBeLessThanOrEqual(FAST_RETRY.maxDelayMs);
      // The 503 bodies were read, so the connection stayed usable.
      expect(upstream.connections).toBe(1);
    });

    it('gives up after the attempts, with the last error', async () => {
      upstream.handle((_seen, res) => sendJson(res, 502, {}));
      const client = newClient({ baseUrl: upstream.origin, retry: { attempts: 2 } });

      const error = await failure(client.get('/down'));

      expect(error).toBeInstanceOf(UpstreamServerError);
      expect(error).toMatchObject({ status: 502, code: SecureApiErrorCode.UPSTREAM_SERVER_ERROR });
      expect(upstream.hits).toBe(2);
    });

    it('does not retry a POST, but does one with an idempotency key', async () => {
      upstream.handle((_seen, res, hit) => sendJson(res, hit < 3 ? 503 : 201, {}));
      const client = newClient({ baseUrl: upstream.origin });

      const error = await failure(client.post('/jobs', { json: { a: 1 } }));
      expect(error).toMatchObject({ status: 503, method: 'POST' });
      expect(upstream.hits).toBe(1);

      const res = await client.post('/jobs', { json: { a: 1 }, idempotencyKey: 'job-42' });
      expect(res.status).toBe(201);
      expect(upstream.hits).toBe(3);
      expect(
        upstream.requests.slice(1).map((seen) => [seen.headers['idempotency-key'], seen.body]),
      ).toEqual([
        ['job-42', '{"a":1}'],
        ['job-42', '{"a":1}'],
      ]);
    });

    it('retries a PUT (idempotent), not a PATCH', async () => {
      upstream.handle((seen, res) =>
        sendJson(res, upstream.hits % 2 === 1 ? 503 : 200, { method: seen.method }),
      );
      const client = newClient({ baseUrl: upstream.origin });

      expect((await client.put('/tags', { body: 'cat' })).json()).toEqual({ method: 'PUT' });
      expect(await failure(client.patch('/tags', { body: 'dog' }))).toMatchObject({
        status: 503,
        method: 'PATCH',
      });
      expect(upstream.requests.map((seen) => `${seen.method} ${seen.body}`)).toEqual([
        'PUT cat',
        'PUT cat',
        'PATCH dog',
      ]);
    });

    it('does not retry a 400', async () => {
      upstream.handle((_seen, res) => sendJson(res, 400, { error: 'bad' }));
      const client = newClient({ baseUrl: upstream.origin });

      const error = await failure(client.get('/bad'));

      expect(error).toBeInstanceOf(UpstreamClientError);
      expect(error).toMatchObject({ status: 400, code: SecureApiErrorCode.UPSTREAM_CLIENT_ERROR });
      expect(error.message).toBe(`GET ${upstream.origin}/bad: answered 400 Bad Request`);
      expect(upstream.hits).toBe(1);
    });

    it('retries a refused connection, then reports it as a connect failure', async () => {
      const origin = `http://127.0.0.1:${await closedPort()}`;
      const client = newClient({ allowedOrigins: [origin] });
      const events = retries(client);

      const error = await failure(client.get(`${origin}/x`));

      expect(error).toBeInstanceOf(HttpClientConnectError);
      expect(error).toMatchObject({ code: SecureApiErrorCode.HTTP_CLIENT_CONNECT_FAILED });
      expect(error.message).toBe(`GET ${origin}/x: could not connect (ECONNREFUSED)`);
      expect(events.map((event) => event.attempt)).toEqual([2, 3]);
    });

    it('waits out "Retry-After: 1" before retrying (fake timers)', async () => {
      let limited = 0;
      upstream.handle((seen, res) => {
        if (seen.url === '/limited' && ++limited === 1) {
          sendJson(res, 429, {}, { 'retry-after': '1' });
        } else {
          sendJson(res, 200, { ok: true });
        }
      });
      const client = newClient({ baseUrl: upstream.origin });
      // A first request before faking: undici's fast-timer clock (a 500 ms tick it starts on
      // first use) then runs on a real timer, and later tests are not left with a fake one.
      await client.get('/warm-up');
      jest.useFakeTimers(FAKE_TIMERS);
      const retried = once(client, 'retry') as Promise<[HttpClientRetryEvent]>;

      const response = client.get('/limited');
      const [event] = await retried;
      expect(event).toMatchObject({ attempt: 2, delayMs: 1000, status: 429 });
      await jest.advanceTimersByTimeAsync(999);
      expect(limited).toBe(1);
      await jest.advanceTimersByTimeAsync(1);

      expect((await response).status).toBe(200);
      expect(limited).toBe(2);
    });

    it('takes an HTTP-date Retry-After on 503, and gives up at once above maxRetryAfterMs', async () => {
      upstream.handle((seen, res) =>
        seen.url === '/date'
          ? sendJson(res, 503, {}, { 'retry-after': 'Tue, 01 Jan 2030 12:00:03 GMT' })
          : sendJson(res, 503, {}, { 'retry-after': '120' }),
      );
      const client = newClient({
        baseUrl: upstream.origin,
        retry: { attempts: 2, maxRetryAfterMs: 3000 },
      });
      await failure(client.get('/warm-up'));
      jest.useFakeTimers(FAKE_TIMERS);
      jest.setSystemTime(Date.UTC(2030, 0, 1, 12, 0, 0, 250));
      const events = retries(client);

      const late = failure(client.get('/date'));
      await once(client, 'retry');
      await jest.advanceTimersByTimeAsync(2750);
      expect(events.map((event) => event.delayMs)).toEqual([2750]);
      // The second answer names the same date, which has now come.
      expect(await late).toMatchObject({ status: 503, retryAfterMs: 0 });

      const capped = await failure(client.get('/long'));
      expect(capped).toMatchObject({ status: 503, retryAfterMs: 120_000 });
      expect(events).toHaveLength(1);
      expect(upstream.requests.filter((seen) => seen.url === '/long')).toHaveLength(1);
    });
  });

  describe('circuit breaker', () => {
    const BREAKER = { consecutiveFailures: 3, halfOpenAfterMs: 30_000 };

    it('opens after consecutive failures, refuses without traffic, half-opens later and closes', async () => {
      jest.useFakeTimers(fakeDateOnly());
      const start = Date.now();
      upstream.handle((_seen, res) => sendJson(res, 500, {}));
      const client = newClient({
        baseUrl: upstream.origin,
        retry: { attempts: 1 },
        circuitBreaker: BREAKER,
      });
      const opened: unknown[] = [];
      client.on('circuitOpen', (event) => opened.push(event));

      for (let i = 0; i < 3; i += 1) {
        expect(await failure(client.get('/x'))).toBeInstanceOf(UpstreamServerError);
      }
      expect(opened).toEqual([{ origin: upstream.origin, halfOpenAfterMs: 30_000 }]);
      expect(client.circuitState(upstream.origin)).toBe('open');

      jest.setSystemTime(start + 29_000);
      const refused = await failure(client.get('/x'));
      expect(refused).toBeInstanceOf(CircuitOpenError);
      expect(refused).toMatchObject({ code: SecureApiErrorCode.CIRCUIT_OPEN, retryAfterMs: 1000 });
      expect(refused.message).toBe(
        `GET ${upstream.origin}/x: not sent: the circuit breaker of ${upstream.origin} is open (next trial in 1000 ms)`,
      );
      expect(upstream.hits).toBe(3);

      jest.setSystemTime(start + 30_001);
      upstream.handle((_seen, res) => sendJson(res, 200, { ok: true }));
      const halfOpen = once(client, 'circuitHalfOpen');
      const closed = once(client, 'circuitClose');
      expect((await client.get('/x')).status).toBe(200);
      await Promise.all([halfOpen, closed]);
      expect(client.circuitState(upstream.origin)).toBe('closed');
      expect(upstream.hits).toBe(4);
    });

    it('opens again when the trial request fails', async () => {
      jest.useFakeTimers(fakeDateOnly());
      const start = Date.now();
      upstream.handle((_seen, res) => sendJson(res, 503, {}));
      const client = newClient({
        baseUrl: upstream.origin,
        retry: { attempts: 1 },
        circuitBreaker: BREAKER,
      });
      for (let i = 0; i < 3; i += 1) await failure(client.get('/x'));

      jest.setSystemTime(start + 30_001);
      expect(await failure(client.get('/x'))).toBeInstanceOf(UpstreamServerError);

      expect(client.circuitState(upstream.origin)).toBe('open');
      expect(await failure(client.get('/x'))).toBeInstanceOf(CircuitOpenError);
      expect(upstream.hits).toBe(4);
    });

    it('does not count 4xx other than 429 as failures', async () => {
      upstream.handle((seen, res) => sendJson(res, seen.url === '/missing' ? 404 : 429, {}));
      const client = newClient({
        baseUrl: upstream.origin,
        retry: { attempts: 1 },
        circuitBreaker: BREAKER,
      });

      for (let i = 0; i < 5; i += 1) {
        expect(await failure(client.get('/missing'))).toMatchObject({ status: 404 });
      }
      expect(client.circuitState(upstream.origin)).toBe('closed');
      for (let i = 0; i < 3; i += 1) {
        expect(await failure(client.get('/limited'))).toMatchObject({ status: 429 });
      }
      expect(client.circuitState(upstream.origin)).toBe('open');
    });

    it('stops retrying when the circuit opens: the error is the open circuit', async () => {
      upstream.handle((_seen, res) => sendJson(res, 503, {}));
      const client = newClient({
        baseUrl: upstream.origin,
        retry: { attempts: 3 },
        circuitBreaker: { consecutiveFailures: 2 },
      });

      const error = await failure(client.get('/x'));

      expect(error).toBeInstanceOf(CircuitOpenError);
      expect(upstream.hits).toBe(2);
    });
  });

  describe('response size', () => {
    it('refuses a body whose Content-Length is over maxResponseBytes, unread', async () => {
      upstream.handle((_seen, res) => {
        res.writeHead(200, { 'content-length': '2000' });
        res.end('x'.repeat(2000));
      });
      const client = newClient({ baseUrl: upstream.origin, maxResponseBytes: 1000 });

      const error = await failure(client.get('/big'));

      expect(error).toBeInstanceOf(ResponseTooLargeError);
      expect(error).toMatchObject({
        code: SecureApiErrorCode.RESPONSE_TOO_LARGE,
        status: 200,
        limitBytes: 1000,
        declaredBytes: 2000,
      });
      expect(error.message).toBe(
        `GET ${upstream.origin}/big: answered 200 announcing 2000 bytes, more than 1000 (maxResponseBytes)`,
      );
    });

    it('stops reading a chunked body as soon as it crosses the limit', async () => {
      let closedEarly: Promise<boolean> = Promise.resolve(false);
      upstream.handle((_seen, res) => {
        closedEarly = new Promise((resolve) => res.on('close', () => resolve(!res.writableEnded)));
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.write('a'.repeat(600));
        setTimeout(() => res.write('b'.repeat(600)), 20);
        // ...and never ends: only stopping at the limit ends this request before the timeout.
      });
      const client = newClient({
        baseUrl: upstream.origin,
        maxResponseBytes: 1000,
        responseTimeoutMs: 5000,
      });
      const startedAt = performance.now();

      const error = await failure(client.get('/stream'));

      expect(error).toMatchObject({
        code: SecureApiErrorCode.RESPONSE_TOO_LARGE,
        declaredBytes: undefined,
      });
      expect(error.message).toBe(
        `GET ${upstream.origin}/stream: answered 200 with a body larger than 1000 bytes (maxResponseBytes)`,
      );
      expect(performance.now() - startedAt).toBeLessThan(1000);
      // The client closed the connection: the server saw it go before the response ended.
      expect(await closedEarly).toBe(true);
    });

    it('takes a larger limit per request', async () => {
      upstream.handle((_seen, res) => res.end('y'.repeat(1500)));
      const client = newClient({ baseUrl: upstream.origin, maxResponseBytes: 1000 });

      expect((await client.get('/big', { maxResponseBytes: 2000 })).body.length).toBe(1500);
    });
  });
});

describe('SecureHttpClient with OAuth 2.0 client credentials', () => {
  const SECRET = 'client-secret-7f3a9c';
  let issuer: LocalIssuer;
  let upstream: Upstream;

  /** The bearer tokens the upstream received, in order. */
  const bearers = (): string[] =>
    upstream.requests.map((seen) => String(seen.headers.authorization).replace(/^Bearer /, ''));

  beforeEach(async () => {
    issuer = await createLocalIssuer({
      algorithms: ['RS256'],
      clients: [
        { clientId: 'thumbnailer', clientSecret: SECRET, scopes: ['images:read', 'images:write'] },
      ],
    });
    upstream = await startUpstream();
  });

  afterEach(async () => {
    await Promise.all([issuer.close(), upstream.close()]);
  });

  function credentialsClient(
    overrides: Partial<NonNullable<SecureHttpClientOptions['clientCredentials']>> = {},
    options: SecureHttpClientOptions = {},
  ): SecureHttpClient {
    return newClient({
      baseUrl: upstream.origin,
      ...options,
      clientCredentials: {
        tokenEndpoint: issuer.tokenEndpoint,
        clientId: 'thumbnailer',
        clientSecret: SECRET,
        scope: ['images:read'],
        ...overrides,
      },
    });
  }

  it('fetches one token for many concurrent requests, sends it as Bearer and reuses it', async () => {
    const client = credentialsClient();

    const responses = await Promise.all(Array.from({ length: 10 }, () => client.get('/images')));
    await client.get('/images');

    expect(responses.every((res) => res.status === 200)).toBe(true);
    expect(issuer.tokenRequests).toBe(1);
    expect(issuer.tokenRequestLog).toEqual([
      expect.objectContaining({
        clientId: 'thumbnailer',
        authMethod: 'client_secret_basic',
        grantType: 'client_credentials',
        scope: 'images:read',
        status: 200,
      }),
    ]);
    const tokens = new Set(bearers());
    expect(tokens.size).toBe(1);
    const [token = ''] = tokens;
    expect(upstream.requests[0]?.headers.authorization).toBe(`Bearer ${token}`);
    const payload = JSON.parse(
      Buffer.from(token.split('.')[1] ?? '', 'base64url').toString(),
    ) as Record<string, unknown>;
    expect(payload).toMatchObject({ sub: 'thumbnailer', scope: 'images:read', iss: issuer.url });
  });

  it('replaces the token refreshBeforeExpirySeconds before exp (fake clock)', async () => {
    jest.useFakeTimers(fakeDateOnly());
    const start = Date.now();
    const client = credentialsClient({ refreshBeforeExpirySeconds: 60 });

    await client.get('/a');
    jest.setSystemTime(start + 239_000);
    await client.get('/b');
    expect(issuer.tokenRequests).toBe(1);

    jest.setSystemTime(start + 241_000);
    await client.get('/c');
    expect(issuer.tokenRequests).toBe(2);
    const [first, second, third] = bearers();
    expect(second).toBe(first);
    expect(third).not.toBe(first);
  });

  it('keeps a short-lived token for half its lifetime', async () => {
    jest.useFakeTimers(fakeDateOnly());
    const start = Date.now();
    issuer.setTokenExpiresIn(30);
    const client = credentialsClient({ refreshBeforeExpirySeconds: 60 });

    await client.get('/a');
    jest.setSystemTime(start + 14_000);
    await client.get('/b');
    jest.setSystemTime(start + 16_000);
    await client.get('/c');

    expect(issuer.tokenRequests).toBe(2);
  });

  it('sends client_secret_post, and discovers the token endpoint from the issuer', async () => {
    const client = credentialsClient({
      tokenEndpoint: undefined,
      issuer: issuer.url,
      authMethod: 'client_secret_post',
    });

    await client.get('/a');
    await client.get('/b');

    expect(issuer.discoveryRequests).toBe(1);
    expect(issuer.tokenRequestLog).toEqual([
      expect.objectContaining({ authMethod: 'client_secret_post', status: 200 }),
    ]);
  });

  it('drops a token the upstream refuses with 401 and retries once with a new one', async () => {
    upstream.handle((_seen, res, hit) => sendJson(res, hit === 1 ? 401 : 200, {}));
    const client = credentialsClient();

    expect((await client.post('/jobs', { json: {} })).status).toBe(200);
    expect(issuer.tokenRequests).toBe(2);
    const [refused, fresh] = bearers();
    expect(fresh).not.toBe(refused);

    upstream.handle((_seen, res) => sendJson(res, 401, {}));
    const error = await failure(client.get('/jobs'));
    expect(error).toMatchObject({ status: 401, code: SecureApiErrorCode.UPSTREAM_CLIENT_ERROR });
    // One new token and one more attempt, not a loop.
    expect([issuer.tokenRequests, upstream.hits]).toEqual([3, 4]);
  });

  it('fails with TokenRequestFailedError, without the secret, when the client is refused', async () => {
    const client = credentialsClient({ clientSecret: 'wrong-secret-4242' });

    const error = await failure(client.get('/images'));

    expect(error).toBeInstanceOf(TokenRequestFailedError);
    expect(error).toMatchObject({
      code: SecureApiErrorCode.TOKEN_REQUEST_FAILED,
      status: 401,
      oauthError: 'invalid_client',
      method: 'POST',
      origin: new URL(issuer.url).origin,
      path: '/token',
    });
    expect(error.message).toBe(
      `POST ${new URL(issuer.url).origin}/token: token request failed: the authorization server answered 401 invalid_client`,
    );
    expect(`${error.message} ${JSON.stringify(error)} ${inspect(error)}`).not.toContain(
      'wrong-secret',
    );
    expect(upstream.hits).toBe(0);
  });

  it('reports an unreachable token endpoint with the network error as cause', async () => {
    const client = credentialsClient({
      tokenEndpoint: `http://127.0.0.1:${await closedPort()}/token`,
    });

    const error = await failure(client.get('/images'));

    expect(error).toBeInstanceOf(TokenRequestFailedError);
    expect(error.message).toContain(
      `token request failed: the authorization server could not be reached (${SecureApiErrorCode.HTTP_CLIENT_CONNECT_FAILED})`,
    );
    expect(error.cause).toBeInstanceOf(HttpClientConnectError);
    expect(upstream.hits).toBe(0);
  });

  it('keeps the token, the secret and the query string out of errors and logs', async () => {
    const logs: LogCapture = createLogCapture();
    Logger.overrideLogger(logs);
    // The upstream echoes what it got, as some error pages do.
    upstream.handle((seen, res) =>
      sendJson(res, 403, { auth: seen.headers.authorization, url: seen.url }),
    );
    const client = credentialsClient();

    const error = await failure(client.get('/private', { query: { api_key: 'query-secret-9e1' } }));

    const [token = ''] = bearers();
    expect(token.length).toBeGreaterThan(20);
    expect(error).toBeInstanceOf(UpstreamClientError);
    expect(error).toMatchObject({
      status: 403,
      origin: upstream.origin,
      path: '/private',
      method: 'GET',
    });
    expect(error.message).toBe(`GET ${upstream.origin}/private: answered 403 Forbidden`);
    const seenAnywhere = [error.message, JSON.stringify(error), inspect(error), logs.text()].join(
      '\n',
    );
    for (const secret of [token, SECRET, 'query-secret-9e1', 'api_key']) {
      expect(seenAnywhere).not.toContain(secret);
    }
    // Kept for the caller, but on non-enumerable members.
    expect((error as UpstreamClientError).bodyText()).toContain(token);
    expect(logs.find('outbound request').map((entry) => entry.fields)).toEqual(
      expect.arrayContaining([
        {
          method: 'POST',
          origin: new URL(issuer.url).origin,
          path: '/token',
          status: 200,
          durationMs: expect.any(Number),
          attempt: 1,
        },
        {
          method: 'GET',
          origin: upstream.origin,
          path: '/private',
          status: 403,
          durationMs: expect.any(Number),
          attempt: 1,
          error: SecureApiErrorCode.UPSTREAM_CLIENT_ERROR,
        },
      ]),
    );
  });
});

describe('SecureHttpClient with mutual TLS', () => {
  let pki: TestPki;
  let uploader: TestCertificate;
  let thumbnailer: TestCertificate;
  let upstream: Upstream;
  let dir: string;

  beforeAll(async () => {
    pki = await createTestPki();
    [uploader, thumbnailer] = await Promise.all([
      pki.client('spiffe://example.org/sa/uploader'),
      pki.client('spiffe://example.org/sa/thumbnailer'),
    ]);
  });

  beforeEach(async () => {
    upstream = await startUpstream({
      cert: pki.server.cert,
      key: pki.server.key,
      ca: pki.ca.cert,
      requestCert: true,
      rejectUnauthorized: true,
    });
    dir = await mkdtemp(path.join(tmpdir(), 'http-client-tls-'));
  });

  afterEach(async () => {
    await upstream.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('presents the client certificate and verifies the server with the given CA', async () => {
    const client = newClient({
      baseUrl: upstream.origin,
      allowInsecureHttp: false,
      tls: { cert: uploader.cert, key: uploader.key, ca: pki.ca.cert },
    });

    const res = await client.get('/whoami');

    expect(res.status).toBe(200);
    expect(upstream.requests[0]?.peerSan).toBe('URI:spiffe://example.org/sa/uploader');
    expect(client.tlsStatus()?.certificateFingerprint).toBe(
      new X509Certificate(uploader.cert).fingerprint256,
    );
  });

  it('is refused by a server that requires a client certificate when it has none', async () => {
    const client = newClient({
      baseUrl: upstream.origin,
      tls: { ca: pki.ca.cert },
      retry: { attempts: 1 },
    });

    const error = await failure(client.get('/whoami'));

    // TLS 1.3: the client's handshake is done before the server checks for a certificate, so
    // the refusal (an alert, or the closed socket) arrives as the request is under way.
    expect([
      SecureApiErrorCode.HTTP_CLIENT_NETWORK_ERROR,
      SecureApiErrorCode.HTTP_CLIENT_CONNECT_FAILED,
    ]).toContain(error.code);
    expect(upstream.hits).toBe(0);
  });

  it('refuses a server whose certificate it cannot verify', async () => {
    const client = newClient({
      baseUrl: upstream.origin,
      tls: { cert: uploader.cert, key: uploader.key },
      retry: { attempts: 1 },
    });

    const error = await failure(client.get('/whoami'));

    expect(error).toBeInstanceOf(HttpClientConnectError);
    expect(error.message).toMatch(
      /could not connect \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|SELF_SIGNED_CERT_IN_CHAIN)\)$/,
    );
    expect(upstream.hits).toBe(0);
  });

  /** Writes a Kubernetes-style secret volume: files behind `..data`, swapped atomically. */
  async function publish(version: string, cert: string, key: string): Promise<void> {
    const folder = path.join(dir, `..${version}`);
    await mkdir(folder);
    await Promise.all([
      writeFile(path.join(folder, 'tls.crt'), cert),
      writeFile(path.join(folder, 'tls.key'), key, { mode: 0o600 }),
      writeFile(path.join(folder, 'ca.crt'), pki.ca.cert),
    ]);
    await symlink(`..${version}`, path.join(dir, '..data_tmp'));
    await rename(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
  }

  it('rotates the client certificate when the secret volume changes, and keeps it on a bad change', async () => {
    await publish('v1', uploader.cert, uploader.key);
    for (const name of ['tls.crt', 'tls.key', 'ca.crt']) {
      await symlink(path.join('..data', name), path.join(dir, name));
    }
    const client = newClient({
      baseUrl: upstream.origin,
      tls: {
        certFile: path.join(dir, 'tls.crt'),
        keyFile: path.join(dir, 'tls.key'),
        caFile: path.join(dir, 'ca.crt'),
        watch: true,
      },
    });
    await client.get('/before');

    const reloaded = once(client, 'tlsReloaded');
    await publish('v2', thumbnailer.cert, thumbnailer.key);
    await reloaded;
    await client.get('/after');

    const [before, after] = upstream.requests;
    expect(before?.peerSan).toBe('URI:spiffe://example.org/sa/uploader');
    expect(after?.peerSan).toBe('URI:spiffe://example.org/sa/thumbnailer');
    expect(after?.remotePort).not.toBe(before?.remotePort);
    expect(client.tlsStatus()?.certificateFingerprint).toBe(
      new X509Certificate(thumbnailer.cert).fingerprint256,
    );

    const failed = once(client, 'tlsReloadFailed') as Promise<[Error]>;
    await publish('v3', uploader.cert, thumbnailer.key);
    const [error] = await failed;
    expect(error).toMatchObject({ code: SecureApiErrorCode.TLS_CONFIG_INVALID });
    expect(error.message).toBe(
      `SecureHttpClient: the client key "${path.join(dir, 'tls.key')}" does not match the client certificate "${path.join(dir, 'tls.crt')}".`,
    );
    await client.get('/still');
    expect(upstream.requests[2]?.peerSan).toBe('URI:spiffe://example.org/sa/thumbnailer');
    await expect(client.reloadTls()).rejects.toMatchObject({
      code: SecureApiErrorCode.TLS_CONFIG_INVALID,
    });
  });
});
