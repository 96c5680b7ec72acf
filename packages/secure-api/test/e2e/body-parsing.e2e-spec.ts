import { createHash } from 'node:crypto';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { SecureApiErrorCode, type SecureApiModuleOptions } from '@secure-api/nestjs';
import {
  ADAPTERS,
  bootApp,
  type BootedApp,
  createLocalIssuer,
  httpRequest,
  type HttpResponse,
  type LocalIssuer,
} from '@secure-api/testing';
import { BodyFixture, type BodySeen } from './fixtures/body-app.fixture.js';
import { appsPerTest } from './fixtures/apps-per-test.fixture.js';
import { expectProblem } from './fixtures/problem.fixture.js';

/** Put in submitted values; no refusal may send it back. */
const MARKER = 'body-marker-71c2';

const TOO_LARGE = SecureApiErrorCode.BODY_TOO_LARGE;
const TOO_DEEP = SecureApiErrorCode.BODY_TOO_DEEP;
const MALFORMED = SecureApiErrorCode.MALFORMED_BODY;
const UNSUPPORTED = SecureApiErrorCode.UNSUPPORTED_MEDIA_TYPE;
const FORBIDDEN = SecureApiErrorCode.BODY_FORBIDDEN_MEMBER;

/** `depth` arrays nested in one another, innermost holding the marker. */
function nestedArrays(depth: number): string {
  return `${'['.repeat(depth)}"${MARKER}"${']'.repeat(depth)}`;
}

/** `depth` objects nested in one another under the member `a`. */
function nestedObjects(depth: number): string {
  return `${'{"a":'.repeat(depth - 1)}{"m":"${MARKER}"}${'}'.repeat(depth - 1)}`;
}

interface Refusal {
  readonly name: string;
  readonly body: string | Buffer;
  readonly headers: Record<string, string>;
  readonly status: number;
  readonly code: string;
}

const JSON_TYPE = { 'content-type': 'application/json' };
const FORM_TYPE = { 'content-type': 'application/x-www-form-urlencoded' };

/** 10 MiB of one byte, which gzip squeezes into about 10 KiB. */
const GZIP_BOMB = gzipSync(Buffer.from(`{"m":"${'a'.repeat(10 * 1024 * 1024)}"}`));

const REFUSALS: readonly Refusal[] = [
  {
    name: '10,000 levels of nested arrays',
    body: nestedArrays(10_000),
    headers: JSON_TYPE,
    status: 400,
    code: TOO_DEEP,
  },
  {
    name: '33 levels of nested objects, one past the default',
    body: nestedObjects(33),
    headers: JSON_TYPE,
    status: 400,
    code: TOO_DEEP,
  },
  {
    name: 'a 100,000-element array (larger than 100 KiB)',
    body: JSON.stringify(Array.from({ length: 100_000 }, () => 1)),
    headers: JSON_TYPE,
    status: 413,
    code: TOO_LARGE,
  },
  {
    name: 'a 2 MB body',
    body: JSON.stringify({ m: `${MARKER}${'x'.repeat(2 * 1024 * 1024)}` }),
    headers: JSON_TYPE,
    status: 413,
    code: TOO_LARGE,
  },
  {
    name: 'a gzip body of 10 KiB that inflates to 10 MiB',
    body: GZIP_BOMB,
    headers: { ...JSON_TYPE, 'content-encoding': 'gzip' },
    status: 413,
    code: TOO_LARGE,
  },
  {
    name: 'a body that is not gzip under Content-Encoding: gzip',
    body: `{"m":"${MARKER}"}`,
    headers: { ...JSON_TYPE, 'content-encoding': 'gzip' },
    status: 400,
    code: MALFORMED,
  },
  {
    name: 'an unknown Content-Encoding',
    body: `{"m":"${MARKER}"}`,
    headers: { ...JSON_TYPE, 'content-encoding': 'compress' },
    status: 415,
    code: UNSUPPORTED,
  },
  {
    name: 'two stacked Content-Encodings',
    body: brotliCompressSync(gzipSync(`{"m":"${MARKER}"}`)),
    headers: { ...JSON_TYPE, 'content-encoding': 'gzip, br' },
    status: 415,
    code: UNSUPPORTED,
  },
  {
    name: 'a body without Content-Type',
    body: `{"m":"${MARKER}"}`,
    headers: {},
    status: 415,
    code: UNSUPPORTED,
  },
  {
    name: 'a text/plain body',
    body: MARKER,
    headers: { 'content-type': 'text/plain' },
    status: 415,
    code: UNSUPPORTED,
  },
  {
    name: 'a multipart body (not a passthrough type by default)',
    body: `--b\r\nContent-Disposition: form-data; name="m"\r\n\r\n${MARKER}\r\n--b--\r\n`,
    headers: { 'content-type': 'multipart/form-data; boundary=b' },
    status: 415,
    code: UNSUPPORTED,
  },
  {
    name: 'a JSON body in UTF-16',
    body: Buffer.from(`{"m":"${MARKER}"}`, 'utf16le'),
    headers: { 'content-type': 'application/json; charset=utf-16' },
    status: 415,
    code: UNSUPPORTED,
  },
  {
    name: 'a JSON body declared as latin1',
    body: `{"m":"${MARKER}"}`,
    headers: { 'content-type': 'application/json; charset=iso-8859-1' },
    status: 415,
    code: UNSUPPORTED,
  },
  {
    name: 'bytes that are not UTF-8',
    body: Buffer.concat([
      Buffer.from(`{"m":"${MARKER}`),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('"}'),
    ]),
    headers: JSON_TYPE,
    status: 400,
    code: MALFORMED,
  },
  {
    name: 'a malformed Content-Type',
    body: `{"m":"${MARKER}"}`,
    headers: { 'content-type': 'application/json; charset' },
    status: 415,
    code: UNSUPPORTED,
  },
  {
    name: '__proto__ in an application/*+json body',
    body: `{"a":[{"__proto__":{"polluted":"${MARKER}"}}]}`,
    headers: { 'content-type': 'application/merge-patch+json' },
    status: 400,
    code: FORBIDDEN,
  },
  {
    name: 'a form with 1,001 fields',
    body: Array.from({ length: 1001 }, (_, i) => `f${i}=${MARKER}`).join('&'),
    headers: FORM_TYPE,
    status: 413,
    code: TOO_LARGE,
  },
  {
    name: 'a form with a __proto__ field',
    body: `a=1&__proto__=${MARKER}`,
    headers: FORM_TYPE,
    status: 400,
    code: FORBIDDEN,
  },
];

function issuerOptions(issuer: LocalIssuer): SecureApiModuleOptions['auth'] {
  return { issuer: issuer.url, audience: issuer.audience };
}

describe.each(ADAPTERS)('body parsing on %s', (adapter) => {
  let issuer: LocalIssuer;
  let booted: BootedApp;

  beforeAll(async () => {
    issuer = await createLocalIssuer();
    booted = await bootApp(BodyFixture.with({ auth: issuerOptions(issuer) }), { adapter });
  });

  afterAll(async () => {
    await booted?.close();
    await issuer?.close();
  });

  const post = (
    body: string | Buffer,
    headers: Record<string, string>,
    path = '/body/echo',
  ): Promise<HttpResponse> =>
    httpRequest(`${booted.url}${path}`, { method: 'POST', body, headers });

  it.each(REFUSALS)('refuses $name', async ({ body, headers, status, code }) => {
    const response = await post(body, headers);
    expectProblem(response, status, code, { secrets: [MARKER] });
    // The rest of a refused body is not read, so the connection is not kept.
    expect(response.headers.connection).toBe('close');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([
    [
      'an array of 1,001 elements',
      JSON.stringify({ a: { list: Array.from({ length: 1001 }, () => 0) } }),
      JSON_TYPE,
      { pointer: '/a/list', detail: 'must contain no more than 1000 elements' },
    ],
    [
      'a top-level array of 1,001 elements',
      JSON.stringify(Array.from({ length: 1001 }, () => 0)),
      JSON_TYPE,
      { pointer: '', detail: 'must contain no more than 1000 elements' },
    ],
    [
      'a string of 10,001 characters in an array item',
      JSON.stringify({ items: [{ 'a/b': `${MARKER}${'x'.repeat(10_001)}` }] }),
      JSON_TYPE,
      { pointer: '/items/0/a~1b', detail: 'must be shorter than or equal to 10000 characters' },
    ],
    [
      'a member name of 10,001 characters',
      JSON.stringify({ o: { [`${MARKER}${'x'.repeat(10_001)}`]: 1 } }),
      JSON_TYPE,
      { pointer: '/o', detail: 'has a member name longer than 10000 characters' },
    ],
    [
      'a form field of 10,001 characters',
      `f=${MARKER}${'x'.repeat(10_001)}`,
      FORM_TYPE,
      { pointer: '/f', detail: 'must be shorter than or equal to 10000 characters' },
    ],
  ])('refuses %s with a pointer to it', async (_name, body, headers, error) => {
    const response = await post(body, headers);
    expectProblem(response, 400, SecureApiErrorCode.VALIDATION_FAILED, {
      secrets: [MARKER],
      withErrors: true,
    });
    expect(response.json()).toMatchObject({ errors: [{ in: 'body', ...error }] });
  });

  it('accepts an array of 1,000 elements and a string of 10,000 characters', async () => {
    const value = { list: Array.from({ length: 1000 }, () => 0), text: 'x'.repeat(10_000) };
    const response = await post(JSON.stringify(value), JSON_TYPE);
    expect(response.status).toBe(200);
    expect(response.json<BodySeen>().body).toEqual(value);
  });

  it('accepts 32 levels of nesting, the default limit', async () => {
    const response = await post(nestedObjects(32), JSON_TYPE);
    expect(response.status).toBe(200);
    let node = response.json<BodySeen>().body as Record<string, unknown>;
    for (let level = 1; level < 32; level += 1) node = node.a as Record<string, unknown>;
    expect(node).toEqual({ m: MARKER });
  });

  /** A JSON body of exactly `bytes` bytes: strings of at most 10,000 characters in an array. */
  function bodyOfSize(bytes: number): string {
    const parts: string[] = [];
    let size = '{"m":[]}'.length;
    while (size < bytes) {
      const overhead = parts.length === 0 ? 2 : 3; // quotes, and a comma after the first
      const length = Math.min(10_000, bytes - size - overhead);
      parts.push('x'.repeat(Math.max(0, length)));
      size += overhead + Math.max(0, length);
    }
    const text = `{"m":[${parts.map((part) => `"${part}"`).join(',')}]}`;
    expect(text).toHaveLength(bytes);
    return text;
  }

  it('accepts a body of exactly 100 KiB', async () => {
    const text = bodyOfSize(100 * 1024);
    const response = await post(text, JSON_TYPE);
    expect(response.status).toBe(200);
    expect(response.json<BodySeen>().body).toEqual(JSON.parse(text));
  });

  it('refuses one byte over 100 KiB', async () => {
    expectProblem(await post(bodyOfSize(100 * 1024 + 1), JSON_TYPE), 413, TOO_LARGE);
  });

  it.each([
    ['gzip', gzipSync],
    ['x-gzip', gzipSync],
    ['deflate', deflateSync],
    ['br', brotliCompressSync],
  ] as const)('inflates a %s body', async (encoding, compress) => {
    const response = await post(compress(JSON.stringify({ m: MARKER, n: [1, 2] })), {
      ...JSON_TYPE,
      'content-encoding': encoding,
    });
    expect(response.status).toBe(200);
    expect(response.json<BodySeen>().body).toEqual({ m: MARKER, n: [1, 2] });
  });

  it.each([
    ['application/json; charset=utf-8'],
    ['application/json; charset=UTF-8'],
    ['Application/JSON'],
    ['application/vnd.example+json'],
  ])('parses a JSON body sent as %s', async (contentType) => {
    const response = await post('{"m":[true,null,1.5]}', { 'content-type': contentType });
    expect(response.status).toBe(200);
    expect(response.json<BodySeen>().body).toEqual({ m: [true, null, 1.5] });
  });

  it('ignores a UTF-8 byte order mark', async () => {
    const response = await post(Buffer.from(`\uFEFF{"m":"${MARKER}"}`), JSON_TYPE);
    expect(response.status).toBe(200);
    expect(response.json<BodySeen>().body).toEqual({ m: MARKER });
  });

  it('parses a form into strings, repeated names into arrays, in a prototype-less object', async () => {
    const response = await post('a=1&b=x+y&b=%C3%A9&c=', FORM_TYPE);
    expect(response.status).toBe(200);
    expect(response.json<BodySeen>()).toEqual({
      body: { a: '1', b: ['x y', 'é'], c: '' },
      nullPrototype: true,
      rawSha256: null,
    });
  });

  it('accepts a form of exactly 1,000 fields', async () => {
    const fields = Array.from({ length: 1000 }, (_, i) => `f${i}=${i}`).join('&');
    const response = await post(fields, FORM_TYPE);
    expect(response.status).toBe(200);
    expect(Object.keys(response.json<BodySeen>().body as object)).toHaveLength(1000);
  });

  it('leaves a request without a body alone, whatever its Content-Type', async () => {
    const response = await post('', JSON_TYPE);
    expect(response.status).toBe(200);
    expect(response.json()).toEqual({ nullPrototype: false, rawSha256: null });
  });

  it('keeps no raw body unless asked to', async () => {
    const response = await post('{"m":1}', JSON_TYPE);
    expect(response.json<BodySeen>().rawSha256).toBeNull();
  });
});

describe.each(ADAPTERS)('body options on %s', (adapter) => {
  const apps = appsPerTest(adapter, (options) => BodyFixture.with(options));
  const boot = async (options: Omit<SecureApiModuleOptions, 'auth'>): Promise<string> =>
    (await apps.boot(options)).url;

  it('applies body.limit, body.maxDepth and body.parameterLimit', async () => {
    const url = await boot({
      body: { limit: 64, maxDepth: 2, parameterLimit: 2, maxArrayLength: 2, maxStringLength: 3 },
    });
    const send = (body: string, type = 'application/json') =>
      httpRequest(`${url}/body/echo`, { method: 'POST', body, headers: { 'content-type': type } });
    expect((await send('{"a":{"b":"abc"},"c":[1,2]}')).status).toBe(200);
    expectProblem(await send('{"a":[1,2,3]}'), 400, SecureApiErrorCode.VALIDATION_FAILED, {
      withErrors: true,
    });
    expectProblem(await send('{"a":"abcd"}'), 400, SecureApiErrorCode.VALIDATION_FAILED, {
      withErrors: true,
    });
    expectProblem(await send('{"a":{"b":[1]}}'), 400, TOO_DEEP);
    expectProblem(await send(JSON.stringify({ m: 'x'.repeat(64) })), 413, TOO_LARGE);
    expect((await send('a=1&b=2', 'application/x-www-form-urlencoded')).status).toBe(200);
    expectProblem(await send('a=1&b=2&c=3', 'application/x-www-form-urlencoded'), 413, TOO_LARGE);
  });

  it('refuses compressed bodies with body.inflate: false', async () => {
    const url = await boot({ body: { inflate: false } });
    const response = await httpRequest(`${url}/body/echo`, {
      method: 'POST',
      body: gzipSync('{"m":1}'),
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    });
    expectProblem(response, 415, UNSUPPORTED);
  });

  it('refuses forms with body.urlencoded: false', async () => {
    const url = await boot({ body: { urlencoded: false } });
    const response = await httpRequest(`${url}/body/echo`, {
      method: 'POST',
      body: 'a=1',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expectProblem(response, 415, UNSUPPORTED);
  });

  it('keeps the bytes as req.rawBody with body.rawBody: true', async () => {
    const url = await boot({ body: { rawBody: true } });
    const sent = gzipSync('{ "m" : 1 }');
    const response = await httpRequest(`${url}/body/echo`, {
      method: 'POST',
      body: sent,
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    });
    expect(response.status).toBe(200);
    // The inflated bytes, exactly as sent before compression (whitespace included).
    expect(response.json<BodySeen>().rawSha256).toBe(
      createHash('sha256').update('{ "m" : 1 }').digest('hex'),
    );
  });

  it('leaves a passthrough type unread for the route on Express, refuses it on Fastify', async () => {
    const url = await boot({ body: { passthrough: ['application/octet-stream'] } });
    const response = await httpRequest(`${url}/body/stream`, {
      method: 'POST',
      body: Buffer.alloc(300_000, 1),
      headers: { 'content-type': 'application/octet-stream' },
    });
    if (adapter === 'express') {
      expect(response.status).toBe(200);
      expect(response.json()).toEqual({ bytes: 300_000 });
    } else {
      // Fastify reads a media type only through a content-type parser registered for it.
      expectProblem(response, 415, UNSUPPORTED);
    }
  });

  it.each([
    [{ limit: 0 }, 'body.limit'],
    [{ limit: 128 * 1024 * 1024 }, 'body.limit'],
    [{ maxDepth: 1.5 }, 'body.maxDepth'],
    [{ passthrough: ['application/json'] }, 'body.passthrough[0]'],
    [{ passthrough: ['multipart/form-data; boundary=x'] }, 'body.passthrough[0]'],
    [{ inflate: 'yes' }, 'body.inflate'],
    [{ limits: 10 }, 'body.limits'],
  ])('refuses body: %j at boot, naming %s', async (body, path) => {
    await expect(apps.boot({ body } as Omit<SecureApiModuleOptions, 'auth'>)).rejects.toMatchObject(
      {
        code: SecureApiErrorCode.INVALID_OPTIONS,
        message: expect.stringContaining(`"${path}"`) as unknown,
      },
    );
  });
});

describe('body parsing and the framework parsers', () => {
  let issuer: LocalIssuer;

  beforeAll(async () => {
    issuer = await createLocalIssuer();
  });

  afterAll(async () => {
    await issuer?.close();
  });

  it("refuses to boot on Express when Nest's body parsers are registered", async () => {
    await expect(
      bootApp(BodyFixture.with({ auth: issuerOptions(issuer) }), {
        adapter: 'express',
        nestOptions: { bodyParser: true },
      }),
    ).rejects.toMatchObject({
      code: SecureApiErrorCode.INVALID_OPTIONS,
      message: expect.stringContaining('bodyParser: false') as unknown,
    });
  });

  it("replaces Fastify's parsers even when Nest registered its own", async () => {
    const booted = await bootApp(BodyFixture.with({ auth: issuerOptions(issuer) }), {
      adapter: 'fastify',
      nestOptions: { bodyParser: true },
    });
    try {
      const response = await httpRequest(`${booted.url}/body/echo`, {
        method: 'POST',
        body: nestedArrays(100),
        headers: JSON_TYPE,
      });
      expectProblem(response, 400, TOO_DEEP, { secrets: [MARKER] });
    } finally {
      await booted.close();
    }
  });

  it('leaves parsing to Nest with body: false (the documented unsafe opt-out)', async () => {
    const booted = await bootApp(BodyFixture.with({ auth: issuerOptions(issuer), body: false }), {
      adapter: 'express',
      nestOptions: { bodyParser: true },
    });
    try {
      const response = await httpRequest(`${booted.url}/body/echo`, {
        method: 'POST',
        body: nestedArrays(100),
        headers: JSON_TYPE,
      });
      expect(response.status).toBe(200);
    } finally {
      await booted.close();
    }
  });
});
