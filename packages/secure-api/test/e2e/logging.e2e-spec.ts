import { connect } from 'node:net';
import { type INestApplication } from '@nestjs/common';
import { Logger } from 'nestjs-pino';
import { PinoLogger } from 'nestjs-pino';
import { hashApiKey } from '@secure-api/nestjs';
import {
  ADAPTERS,
  type BootedApp,
  bootApp,
  createLocalIssuer,
  httpRequest,
  type HttpResponse,
  type LocalIssuer,
} from '@secure-api/testing';
import {
  type LogLine,
  LoggingFixture,
  LogLines,
  WORKER_KEY,
} from './fixtures/logging-app.fixture.js';
import { UUID } from './fixtures/problem.fixture.js';

// nestjs-pino keeps one root logger per process, built from the first app's options: every app
// of this file writes to this one capture.
const logs = new LogLines();

const CARD = '4111 1111 1111 1111';
const CANARIES = {
  cookie: 'CANARY-COOKIE-7f3a',
  apiKey: 'CANARY-APIKEY-91bc',
  queryToken: 'CANARY-QUERY-TOKEN-55e1',
  queryCode: 'CANARY-QUERY-CODE-0d2f',
  password: 'CANARY-PASSWORD-c4d8',
  refresh: 'CANARY-REFRESH-a1b2',
  malformed: 'CANARY-MALFORMED-e9f0',
  message: 'CANARY-IN-MESSAGE',
  cause: 'CANARY-IN-CAUSE',
};

const useNestjsPino = (app: INestApplication): void => {
  app.useLogger(app.get(Logger));
};

describe.each(ADAPTERS)('request logging on %s', (adapter) => {
  let issuer: LocalIssuer;
  let booted: BootedApp;
  let writer: string;
  let reader: string;
  let admin: string;

  beforeAll(async () => {
    issuer = await createLocalIssuer();
    writer = issuer.mint({ scope: 'profile.write', subject: 'alice' });
    reader = issuer.mint({ scope: 'profile.read', subject: 'bob' });
    admin = issuer.mint({ scope: 'logging.admin', subject: 'oncall' });
    booted = await bootApp(
      LoggingFixture.with({
        auth: { issuer: issuer.url, audience: issuer.audience, jwksUri: issuer.jwksUri },
        logging: { destination: logs, runtimeControl: true },
      }),
      { adapter, configure: useNestjsPino },
    );
  });

  afterAll(async () => {
    await booted?.close();
    await issuer?.close();
  });

  beforeEach(() => logs.clear());

  const send = (
    path: string,
    options: { method?: string; token?: string; body?: string; headers?: Record<string, string> },
  ): Promise<HttpResponse> =>
    httpRequest(`${booted.url}${path}`, {
      method: options.method ?? 'GET',
      headers: {
        ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...options.headers,
      },
      ...(options.body === undefined ? {} : { body: options.body }),
    });

  const setLevel = async (level: string): Promise<void> => {
    const response = await send('/admin/log-level', {
      method: 'PUT',
      token: admin,
      body: JSON.stringify({ level, ttlSeconds: 60 }),
    });
    expect(response.status).toBe(200);
  };

  /** Every request the "no secret leaves" test sends; each answers with the status given. */
  const sendEverySecret = async (): Promise<{ signup: HttpResponse }> => {
    const secretHeaders = {
      cookie: `session=${CANARIES.cookie}`,
      'x-api-key': CANARIES.apiKey,
    };
    const signup = await send('/signup', {
      method: 'POST',
      token: writer,
      headers: secretHeaders,
      body: JSON.stringify({
        user: 'alice',
        password: CANARIES.password,
        card: { number: CARD },
        sessions: [{ refresh_token: CANARIES.refresh }],
      }),
    });
    const unrouted = await send(
      `/nowhere?access_token=${CANARIES.queryToken}&code=${CANARIES.queryCode}`,
      { headers: secretHeaders },
    );
    const routedQuery = await send(`/items/abc?access_token=${CANARIES.queryToken}`, {
      token: reader,
    });
    const malformed = await send('/signup', {
      method: 'POST',
      token: writer,
      body: `{"password":"${CANARIES.malformed}`,
    });
    const failure = await send('/fail', { token: reader });
    expect([signup, unrouted, routedQuery, malformed, failure].map((r) => r.status)).toEqual([
      201, 404, 400, 400, 500,
    ]);
    // Every line of these requests is written, completion lines included, before anything is
    // checked.
    await Promise.all(
      [signup, unrouted, routedQuery, malformed, failure].map((r) =>
        logs.completionOf(r.headers['x-request-id'] as string),
      ),
    );
    return { signup };
  };

  const expectNothingLeaked = (): void => {
    const text = logs.text();
    for (const canary of Object.values(CANARIES)) expect(text).not.toContain(canary);
    for (const token of [writer, reader, admin]) expect(text).not.toContain(token);
    expect(text).not.toContain(CARD);
    expect(text).not.toContain(CARD.replaceAll(' ', ''));
  };

  it.each(['info', 'debug'])('writes no secret at %s level', async (level) => {
    await setLevel(level);
    logs.clear();
    const { signup } = await sendEverySecret();
    expectNothingLeaked();

    const requestId = signup.headers['x-request-id'] as string;
    expect(requestId).toMatch(UUID);
    expect(await logs.completionOf(requestId)).toMatchObject({
      level: 'info',
      requestId,
      principal: { sub: 'alice', client_id: 'client-abc', authMethod: 'bearer' },
      ip: '127.0.0.1',
      action: { handler: 'LoggingController.signup', method: 'POST', route: '/signup' },
      status: 201,
      durationMs: expect.any(Number) as unknown,
    });
    // The handler's own line, through Nest's Logger, carries the request's id and principal.
    expect(logs.lines().find((line) => line.msg === 'signing up alice')).toMatchObject({
      requestId,
      principal: { sub: 'alice' },
      context: 'LoggingController',
    });
    if (level === 'debug') {
      // The interceptor logs the body at debug: masked, the card as its last four digits.
      const called = logs
        .lines()
        .find((line) => line.msg === 'handler called' && line.requestId === requestId);
      expect(called).toMatchObject({
        body: {
          user: 'alice',
          password: '[REDACTED]',
          card: { number: '************1111' },
          sessions: [{ refresh_token: '[REDACTED]' }],
        },
      });
    } else {
      expect(logs.lines().filter((line) => line.msg === 'handler called')).toEqual([]);
    }
    await setLevel('info');
  });

  it('logs an unrouted request with its path, sensitive query values masked', async () => {
    const response = await send(`/nowhere?access_token=${CANARIES.queryToken}&page=2`, {});
    const line = await logs.completionOf(response.headers['x-request-id'] as string);
    expect(line).toMatchObject({ level: 'warn', status: 404, action: { method: 'GET' } });
    expect(line?.path).toBe('/nowhere?access_token=[REDACTED]&page=2');
  });

  it('logs a 500 with the error and its cause chain, masked, and no secret in the response', async () => {
    const response = await send('/fail', { token: reader });
    expect(response.status).toBe(500);
    const requestId = response.headers['x-request-id'] as string;
    const error = logs
      .lines()
      .find((line) => line.msg === 'Unhandled error while serving a request');
    expect(error).toMatchObject({ level: 'error', requestId, principal: { sub: 'bob' } });
    const err = error?.err as
      { type?: string; message?: string; stack?: string; cause?: { message?: string } } | undefined;
    expect(err?.type).toBe('Error');
    expect(err?.message).toBe('upstream refused password=[REDACTED]');
    expect(err?.cause?.message).toBe('while calling with [REDACTED]');
    // Line breaks in logged strings are written as visible escapes, the stack's included.
    expect(err?.stack).toMatch(/^Error: upstream refused password=\[REDACTED\]\\x0a {4}at /);
    expect(logs.text()).not.toContain('CANARY');
    expect(response.text).not.toContain('CANARY');
    expect(await logs.completionOf(requestId)).toMatchObject({ level: 'error', status: 500 });
  });

  it('logs security events with their reason and the request id, never the token', async () => {
    const denied = await send('/signup', { method: 'POST', token: reader, body: '{}' });
    const refused = await send('/items/abc', { token: `${reader.slice(0, -4)}AAAA` });
    const invalid = await send('/items/ABC!', { token: reader });
    expect([denied.status, refused.status, invalid.status]).toEqual([403, 401, 400]);
    const events = logs.lines().filter((line) => typeof line.event === 'string');
    expect(events).toEqual([
      expect.objectContaining({
        event: 'authz.denied',
        reason: 'insufficient-scope',
        missingScopes: ['profile.write'],
        requestId: denied.headers['x-request-id'],
        level: 'warn',
      }),
      expect.objectContaining({
        event: 'auth.failure',
        reason: 'signature_invalid',
        requestId: refused.headers['x-request-id'],
      }),
      expect.objectContaining({
        event: 'validation.rejected',
        code: 'ERR_SECURE_API_VALIDATION_FAILED',
        pointers: ['/id'],
        requestId: invalid.headers['x-request-id'],
        principal: { sub: 'bob', client_id: 'client-abc', authMethod: 'bearer' },
      }),
    ]);
    expect(logs.text()).not.toContain(reader.split('.')[2] as string);
  });

  it('binds the principal, masked, once: in the completion line and in what the handler logs', async () => {
    // A subject the masker must not let through: a Luhn-valid card number.
    const carded = issuer.mint({ scope: 'profile.read', subject: '4111111111111111' });
    await setLevel('debug');
    try {
      logs.clear();
      const first = await send('/items/abc', { token: carded });
      // The same token again: the verified-token cache hands over the same principal object.
      const second = await send('/items/def', { token: carded });
      expect([first.status, second.status]).toEqual([200, 200]);
      for (const [response, id] of [
        [first, 'abc'],
        [second, 'def'],
      ] as const) {
        const requestId = response.headers['x-request-id'] as string;
        const principal = {
          sub: '************1111',
          client_id: 'client-abc',
          authMethod: 'bearer',
        };
        expect(await logs.completionOf(requestId)).toMatchObject({ requestId, principal });
        expect(logs.lines().find((line) => line.msg === `item ${id} read`)).toMatchObject({
          requestId,
          principal,
        });
        const completion = logs
          .text()
          .split('\n')
          .filter((line) => line.includes(requestId) && line.includes('request completed'));
        expect(completion).toHaveLength(1);
        expect(completion[0]?.split('"principal":')).toHaveLength(2);
      }
      expect(logs.text()).not.toContain('4111111111111111');
      expect(logs.text()).not.toContain(carded);
    } finally {
      await setLevel('info');
    }
  });

  it("keeps the app's own assign()ed fields and the principal when the app assigned first", async () => {
    await setLevel('debug');
    try {
      logs.clear();
      const response = await send('/items/ghi', { token: reader, headers: { 'x-tenant': 'acme' } });
      expect(response.status).toBe(200);
      const requestId = response.headers['x-request-id'] as string;
      const principal = { sub: 'bob', client_id: 'client-abc', authMethod: 'bearer' };
      // The handler logs through the context's logger: the app's field and the principal.
      expect(logs.lines().find((line) => line.msg === 'item ghi read')).toMatchObject({
        requestId,
        tenant: 'acme',
        principal,
      });
      const completion = logs
        .text()
        .split('\n')
        .filter((line) => line.includes(requestId) && line.includes('request completed'));
      expect(completion).toHaveLength(1);
      expect(JSON.parse(completion[0] as string)).toMatchObject({ requestId, principal });
      expect(completion[0]?.split('"principal":')).toHaveLength(2);
    } finally {
      await setLevel('info');
    }
  });

  describe('runtime level routes', () => {
    it('refuses GET and PUT without a token (401) and without logging.admin (403)', async () => {
      const body = JSON.stringify({ level: 'debug', ttlSeconds: 60 });
      const responses = await Promise.all([
        send('/admin/log-level', {}),
        send('/admin/log-level', { method: 'PUT', body }),
        send('/admin/log-level', { token: reader }),
        send('/admin/log-level', { method: 'PUT', token: reader, body }),
      ]);
      expect(responses.map((r) => r.status)).toEqual([401, 401, 403, 403]);
      for (const response of responses) {
        expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      }
      expect(PinoLogger.root.level).toBe('info');
    });

    it('reports the level, the previous one and when it reverts, and refuses a TTL of 0', async () => {
      const before = Date.now();
      const set = await send('/admin/log-level', {
        method: 'PUT',
        token: admin,
        body: JSON.stringify({ level: 'debug', ttlSeconds: 120 }),
      });
      expect(set.status).toBe(200);
      const result = set.json<{ level: string; previousLevel: string; revertsAt: string }>();
      expect(result).toMatchObject({ level: 'debug', previousLevel: 'info' });
      const revertsAt = Date.parse(result.revertsAt);
      expect(revertsAt).toBeGreaterThanOrEqual(before + 120_000);
      expect(revertsAt).toBeLessThanOrEqual(Date.now() + 120_000);
      const read = await send('/admin/log-level', { token: admin });
      expect(read.json()).toMatchObject({ level: 'debug', defaultLevel: 'info' });
      const zero = await send('/admin/log-level', {
        method: 'PUT',
        token: admin,
        body: JSON.stringify({ level: 'info', ttlSeconds: 0 }),
      });
      expect(zero.status).toBe(400);
      expect(zero.json()).toMatchObject({ code: 'ERR_SECURE_API_VALIDATION_FAILED' });
      await setLevel('info');
      expect(PinoLogger.root.level).toBe('info');
    });
  });

  it("logs requests the module's own middleware answers: a refused method, a refused body", async () => {
    const trace = await send('/open', { method: 'TRACE' });
    const text = await send('/signup', {
      method: 'POST',
      token: writer,
      headers: { 'content-type': 'text/plain' },
      body: 'hello',
    });
    expect([trace.status, text.status]).toEqual([405, 415]);
    expect(await logs.completionOf(trace.headers['x-request-id'] as string)).toMatchObject({
      level: 'warn',
      status: 405,
      action: { method: 'TRACE' },
      path: '/open',
    });
    expect(await logs.completionOf(text.headers['x-request-id'] as string)).toMatchObject({
      level: 'warn',
      status: 415,
    });
  });

  it('reverts a raised level by itself when its TTL runs out', async () => {
    // Only the timers a test controls: the servers and the client keep Node's own.
    jest.useFakeTimers({
      doNotFake: [
        'nextTick',
        'setImmediate',
        'setInterval',
        'Date',
        'hrtime',
        'performance',
        'queueMicrotask',
      ],
    });
    try {
      const raised = await send('/admin/log-level', {
        method: 'PUT',
        token: admin,
        body: JSON.stringify({ level: 'debug', ttlSeconds: 90 }),
      });
      expect(raised.status).toBe(200);
      await send('/items/abc', { token: reader });
      expect(logs.lines().filter((line) => line.msg === 'worker step')).toHaveLength(1);

      jest.advanceTimersByTime(89_999);
      expect(PinoLogger.root.level).toBe('debug');
      jest.advanceTimersByTime(1);
      expect(PinoLogger.root.level).toBe('info');
      logs.clear();
      await send('/items/abc', { token: reader });
      expect(logs.lines().filter((line) => line.msg === 'worker step')).toEqual([]);
    } finally {
      jest.useRealTimers();
    }
  });

  describe('request id', () => {
    it.each([
      ['a well-formed id is used', 'trace-01.ab_CD-9', 'trace-01.ab_CD-9'],
      ['an id with a space is replaced', 'bad id', undefined],
      ['an id over 128 characters is replaced', 'a'.repeat(129), undefined],
      ['an id with a quote is replaced', 'x"y', undefined],
    ])('%s', async (_name, sent, used) => {
      const response = await send('/open', { headers: { 'x-request-id': sent } });
      const id = response.headers['x-request-id'] as string;
      if (used === undefined) expect(id).toMatch(UUID);
      else expect(id).toBe(used);
      expect(await logs.completionOf(id)).toMatchObject({ requestId: id, status: 200 });
    });
  });

  describe('log injection', () => {
    it('keeps one well-formed JSON line per request whatever the path, user agent and request id hold', async () => {
      const response = await send('/open/%0d%0a%7B%22level%22:%22fatal%22%7D%1b[31m', {
        headers: {
          // NEL (U+0085) and the bytes of U+2028, as a latin1 header value carries them.
          'user-agent': `curl \u00c2\u0085{"level":"fatal"} \u00e2\u0080\u00a8x ${'y'.repeat(600)}`,
          'x-request-id': 'id\u00c2\u0085forged',
        },
      });
      const id = response.headers['x-request-id'] as string;
      expect(id).toMatch(UUID);
      await logs.completionOf(id);
      const lines = logs.raw
        .join('')
        .split('\n')
        .filter((line) => line !== '');
      for (const line of lines) expect(() => JSON.parse(line) as unknown).not.toThrow();
      const completions = logs.lines().filter((line: LogLine) => line.requestId === id);
      expect(completions).toHaveLength(1);
      const [line] = completions;
      expect(line?.path).toBe('/open/%0d%0a%7B%22level%22:%22fatal%22%7D%1b[31m');
      const userAgent = line?.userAgent as string;
      expect(userAgent).not.toMatch(/[\u0080-\u009f\u2028\u2029]/);
      expect(userAgent.length).toBeLessThanOrEqual(300);
      expect(logs.text()).not.toMatch(/[\u0080-\u009f\u2028\u2029]/);
    });
  });

  it('refuses ESC in raw header values before anything is logged', async () => {
    const url = new URL(booted.url);
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname);
      let answer = '';
      socket.setEncoding('latin1');
      socket.on('data', (chunk: string) => (answer += chunk));
      socket.on('end', () => resolve(answer));
      socket.on('error', reject);
      socket.end(
        'GET /open HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
          'User-Agent: evil\x1b[31mred\x1b[0m\r\nX-Request-Id: id\x1b[2J\r\n' +
          'Connection: close\r\n\r\n',
      );
    });
    // Node's parser refuses a control character in a header value before any middleware runs;
    // the module answers with its problem+json.
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(raw).toContain('ERR_SECURE_API_BAD_HTTP_REQUEST');
    const lines = logs
      .text()
      .split('\n')
      .filter((line) => line !== '');
    for (const line of lines) expect(() => JSON.parse(line) as unknown).not.toThrow();
    // Neither the byte nor its JSON escape: what would colour a terminal after decoding.
    expect(logs.text()).not.toContain('\x1b');
    expect(logs.text()).not.toMatch(/\\u001b/i);
    expect(logs.text()).not.toContain('evil');
  });

  it('counts the lines of a child logger made at boot once the level is raised', async () => {
    const reading = () => send('/items/abc', { token: reader });
    await reading();
    expect(logs.lines().filter((line) => line.msg === 'worker step')).toEqual([]);
    await setLevel('debug');
    await reading();
    const steps = logs.lines().filter((line) => line.msg === 'worker step');
    expect(steps).toEqual([
      expect.objectContaining({ level: 'debug', component: 'worker', apiKey: '[REDACTED]' }),
    ]);
    expect(logs.text()).not.toContain(WORKER_KEY);
    await setLevel('info');
    expect(PinoLogger.root.level).toBe('info');
  });

  describe('with rate limits and API keys', () => {
    const apiKey = 'bench-key-for-the-feed-0123456789';
    let limited: BootedApp;

    beforeAll(async () => {
      limited = await bootApp(
        LoggingFixture.with({
          auth: { issuer: issuer.url, audience: issuer.audience, jwksUri: issuer.jwksUri },
          logging: { destination: logs, runtimeControl: true },
          throttle: {
            tiers: [
              { name: 'ip', by: 'ip', limit: 2, ttl: 60_000 },
              { name: 'feed', by: 'principal', limit: 100, ttl: 60_000 },
            ],
            apiKeys: [{ id: 'partner-a', sha256: hashApiKey(apiKey) }],
          },
        }),
        { adapter, configure: useNestjsPino },
      );
    });

    afterAll(async () => {
      await limited?.close();
    });

    it('logs the API key as the principal, a refused key and a rate-limit hit as events', async () => {
      const open = (key: string) =>
        httpRequest(`${limited.url}/open`, { headers: { 'x-api-key': key } });
      const known = await open(apiKey);
      const unknown = await open('CANARY-UNKNOWN-KEY-5d1e');
      const refused = await open(apiKey);
      expect([known.status, unknown.status, refused.status]).toEqual([200, 401, 429]);
      expect(await logs.completionOf(known.headers['x-request-id'] as string)).toMatchObject({
        principal: { api_key_id: 'partner-a', authMethod: 'api-key' },
        status: 200,
      });
      const events = logs.lines().filter((line) => typeof line.event === 'string');
      expect(events).toEqual([
        expect.objectContaining({
          event: 'auth.failure',
          reason: 'api-key-unknown',
          requestId: unknown.headers['x-request-id'],
        }),
        expect.objectContaining({
          event: 'rate_limit.hit',
          tier: 'ip',
          requestId: refused.headers['x-request-id'],
        }),
      ]);
      expect(logs.text()).not.toContain('CANARY-UNKNOWN-KEY');
      expect(logs.text()).not.toContain(apiKey);
    });
  });
});
