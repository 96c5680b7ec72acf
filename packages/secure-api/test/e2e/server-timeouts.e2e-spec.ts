import { type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { SecureApiErrorCode, type SecureApiModuleOptions } from '@secure-api/nestjs';
import {
  ADAPTERS,
  bootApp,
  type BootedApp,
  createLocalIssuer,
  type LocalIssuer,
} from '@secure-api/testing';
import { appsPerTest } from './fixtures/apps-per-test.fixture.js';
import { BodyFixture } from './fixtures/body-app.fixture.js';
import { STACK_FRAME } from './fixtures/problem.fixture.js';

/** Short limits, so that a slow client runs out of time within a second. */
const SHORT = { headersMs: 300, requestMs: 600, keepAliveMs: 500, checkIntervalMs: 50 };

/** Upper bound for a test's raw exchange; the server must answer well before it. */
const EXCHANGE_BOUND_MS = 4_000;

interface RawExchange {
  /** Everything the server wrote before closing. */
  readonly received: string;
  /** Milliseconds from connect to the server closing the connection. */
  readonly closedAfterMs: number;
}

/**
 * Opens a TCP connection, sends `first`, then `drip` every `dripEveryMs` (a slow client), and
 * resolves when the server closes the connection, or rejects after the bound.
 */
function slowClient(
  url: string,
  first: string,
  drip: string | undefined,
  dripEveryMs = 100,
): Promise<RawExchange> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket: Socket = connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    const bound = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the slow connection open for ${EXCHANGE_BOUND_MS} ms`));
    }, EXCHANGE_BOUND_MS);
    socket.on('connect', () => {
      socket.write(first);
      if (drip !== undefined) {
        timer = setInterval(() => {
          if (socket.writable) socket.write(drip);
        }, dripEveryMs);
      }
    });
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      clearTimeout(bound);
      resolve({
        received: Buffer.concat(chunks).toString('utf8'),
        closedAfterMs: Date.now() - started,
      });
    });
  });
}

/** The status and problem+json body of a raw HTTP/1.1 response. */
function parseRawResponse(raw: string): { status: number; headers: string; body: unknown } {
  const [head = '', body = ''] = raw.split('\r\n\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(head)?.[1]);
  return { status, headers: head.toLowerCase(), body: JSON.parse(body) as unknown };
}

function expectRawProblem(exchange: RawExchange, status: number, code: string): void {
  const response = parseRawResponse(exchange.received);
  expect(response.status).toBe(status);
  expect(response.headers).toContain('content-type: application/problem+json');
  expect(response.headers).toContain('connection: close');
  expect(response.headers).toContain('x-content-type-options: nosniff');
  expect(response.body).toEqual({
    type: expect.stringMatching(/^urn:secure-api:problem:/) as unknown,
    title: expect.any(String) as unknown,
    status,
    detail: expect.any(String) as unknown,
    code,
  });
  expect(exchange.received).not.toMatch(STACK_FRAME);
}

describe.each(ADAPTERS)('server timeouts on %s', (adapter) => {
  let issuer: LocalIssuer;
  let booted: BootedApp;

  beforeAll(async () => {
    issuer = await createLocalIssuer();
    booted = await bootApp(
      BodyFixture.with({
        auth: { issuer: issuer.url, audience: issuer.audience },
        timeouts: SHORT,
      }),
      { adapter },
    );
  });

  afterAll(async () => {
    await booted?.close();
    await issuer?.close();
  });

  it('answers 408 and closes a connection whose headers trickle in (slowloris)', async () => {
    const exchange = await slowClient(
      booted.url,
      'GET /body/echo HTTP/1.1\r\nHost: 127.0.0.1\r\n',
      'X-Slow: 1\r\n',
    );
    expectRawProblem(exchange, 408, SecureApiErrorCode.REQUEST_TIMEOUT);
    expect(exchange.closedAfterMs).toBeGreaterThanOrEqual(SHORT.headersMs);
  });

  it('answers 408 and closes a connection whose body trickles in', async () => {
    const exchange = await slowClient(
      booted.url,
      'POST /body/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"m":"',
      'x',
    );
    expect(parseRawResponse(exchange.received).status).toBe(408);
    expect(exchange.closedAfterMs).toBeGreaterThanOrEqual(SHORT.requestMs);
  });

  it('closes an idle keep-alive connection after keepAliveMs', async () => {
    const exchange = await slowClient(
      booted.url,
      'POST /body/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}',
      undefined,
    );
    expect(exchange.received).toMatch(/^HTTP\/1\.1 200 /);
    expect(exchange.closedAfterMs).toBeGreaterThanOrEqual(SHORT.keepAliveMs);
  });

  it('answers a request that is not HTTP with a 400 problem', async () => {
    const exchange = await slowClient(booted.url, 'NOT HTTP AT ALL\r\n\r\n', undefined);
    expectRawProblem(exchange, 400, SecureApiErrorCode.BAD_HTTP_REQUEST);
  });
});

describe.each(ADAPTERS)('server timeout settings on %s', (adapter) => {
  const apps = appsPerTest(adapter, (options) => BodyFixture.with(options));
  const serverWith = async (timeouts: SecureApiModuleOptions['timeouts']): Promise<Server> =>
    (await apps.boot({ timeouts })).app.getHttpServer() as Server;

  it('sets short limits by default', async () => {
    const server = await serverWith(undefined);
    expect({
      headersTimeout: server.headersTimeout,
      requestTimeout: server.requestTimeout,
      keepAliveTimeout: server.keepAliveTimeout,
    }).toEqual({ headersTimeout: 10_000, requestTimeout: 30_000, keepAliveTimeout: 5_000 });
  });

  it('leaves the server alone with timeouts: false', async () => {
    const server = await serverWith(false);
    // Fastify sets no request limit (0) and a 72 s keep-alive; Node's own default is 300 s.
    expect(server.requestTimeout).toBe(adapter === 'fastify' ? 0 : 300_000);
  });

  it.each([
    [{ headersMs: 0 }, 'timeouts.headersMs'],
    [{ headersMs: 5_000, requestMs: 1_000 }, 'timeouts.headersMs'],
    [{ checkIntervalMs: 120_000 }, 'timeouts.checkIntervalMs'],
    [{ bodyMs: 1 }, 'timeouts.bodyMs'],
  ])('refuses timeouts: %j at boot, naming %s', async (timeouts, path) => {
    await expect(serverWith(timeouts as SecureApiModuleOptions['timeouts'])).rejects.toMatchObject({
      code: SecureApiErrorCode.INVALID_OPTIONS,
      message: expect.stringContaining(`"${path}"`) as unknown,
    });
  });
});
