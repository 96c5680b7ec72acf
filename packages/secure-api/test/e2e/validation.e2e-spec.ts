import { type FieldError, SecureApiErrorCode } from '@secure-api/nestjs';
import {
  ADAPTERS,
  bootApp,
  type BootedApp,
  createLocalIssuer,
  httpRequest,
  type HttpResponse,
  type LocalIssuer,
} from '@secure-api/testing';
import { expectProblem } from './fixtures/problem.fixture.js';
import { VALIDATION_WRITE_SCOPE, ValidationFixture } from './fixtures/validation-app.fixture.js';

/** Put in submitted values; no rejection may send it back. */
const MARKER = 'submitted-marker-5d0c';
const UUID = '0b7c4f5e-3a51-4d7e-9c36-2f1a8b9d6e40';

const VALID = {
  name: 'sunset',
  quality: 80,
  fit: 'cover',
  public: true,
  size: { width: 640, height: 480 },
  tags: ['beach'],
  labels: [{ name: 'holiday' }],
};

/** A JSON body: the valid one with `overrides` merged over it. */
function body(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({ ...VALID, ...overrides });
}

function expectRejected(response: HttpResponse, status: number, code: string): void {
  expectProblem(response, status, code, {
    secrets: [MARKER],
    withErrors: code === SecureApiErrorCode.VALIDATION_FAILED,
  });
}

/** The `errors` member, in a stable order (class-validator's order of constraints is not). */
function errorsOf(response: HttpResponse): FieldError[] {
  const { errors } = response.json<{ errors?: FieldError[] }>();
  return [...(errors ?? [])].sort((a, b) =>
    `${a.in}${a.pointer}${a.detail}`.localeCompare(`${b.in}${b.pointer}${b.detail}`),
  );
}

function sorted(errors: readonly FieldError[]): FieldError[] {
  return [...errors].sort((a, b) =>
    `${a.in}${a.pointer}${a.detail}`.localeCompare(`${b.in}${b.pointer}${b.detail}`),
  );
}

const inBody = (pointer: string, ...details: string[]): FieldError[] =>
  details.map((detail) => ({ in: 'body', pointer, detail }));
const inQuery = (pointer: string, ...details: string[]): FieldError[] =>
  details.map((detail) => ({ in: 'query', pointer, detail }));

const NOT_INT = [
  'must be an integer number',
  'must not be greater than 100',
  'must not be less than 1',
];

interface BodyCase {
  readonly name: string;
  readonly body: string;
  readonly contentType?: string;
  readonly path?: string;
  /** Status, code and errors: the same on both adapters. */
  readonly expected: Expected;
}

interface Expected {
  readonly status: number;
  readonly code: string;
  readonly errors?: readonly FieldError[];
}

const VALIDATION_FAILED = SecureApiErrorCode.VALIDATION_FAILED;
const MALFORMED = { status: 400, code: SecureApiErrorCode.MALFORMED_BODY } as const;
const UNSUPPORTED = { status: 415, code: SecureApiErrorCode.UNSUPPORTED_MEDIA_TYPE } as const;

/** Every required member of CreateThumbnailDto, missing: what a body that was not parsed gives. */
const NOTHING_PARSED: readonly FieldError[] = [
  ...inBody('/name', 'must be a string', 'must be longer than or equal to 1 characters'),
  ...inBody('/quality', ...NOT_INT),
  ...inBody('/fit', 'must be one of the following values: cover, contain'),
  ...inBody('/size', 'must be an object'),
  ...inBody(
    '/tags',
    'must be an array',
    'must contain no more than 5 elements',
    'each value must be a string',
    'each value must be shorter than or equal to 20 characters',
  ),
];

const BODY_CASES: readonly BodyCase[] = [
  {
    name: 'an unknown member',
    body: body({ isAdmin: MARKER }),
    expected: {
      status: 400,
      code: VALIDATION_FAILED,
      errors: inBody('/isAdmin', 'is not allowed'),
    },
  },
  {
    name: 'an unknown member whose name needs escaping',
    body: body({ 'a/b~c': MARKER }),
    expected: {
      status: 400,
      code: VALIDATION_FAILED,
      errors: inBody('/a~1b~0c', 'is not allowed'),
    },
  },
  {
    name: 'an unknown member with a long name, not quoted back',
    body: body({ [`${MARKER}${'x'.repeat(64)}`]: 1 }),
    expected: {
      status: 400,
      code: VALIDATION_FAILED,
      errors: inBody('', 'has a member that is not allowed'),
    },
  },
  {
    name: 'an unknown member of an array item',
    body: body({ labels: [{ name: 'ok', extra: MARKER }] }),
    expected: {
      status: 400,
      code: VALIDATION_FAILED,
      errors: inBody('/labels/0/extra', 'is not allowed'),
    },
  },
  {
    name: 'a number for a string and a string for an object',
    body: body({ name: 42, size: MARKER }),
    expected: {
      status: 400,
      code: VALIDATION_FAILED,
      errors: [
        ...inBody(
          '/name',
          'must be a string',
          'must be longer than or equal to 1 and shorter than or equal to 64 characters',
        ),
        ...inBody('/size', 'must be an object', 'must be either object or array'),
      ],
    },
  },
  {
    name: 'a string longer than its limit',
    body: body({ name: MARKER.repeat(5) }),
    expected: {
      status: 400,
      code: VALIDATION_FAILED,
      errors: inBody('/name', 'must be shorter than or equal to 64 characters'),
    },
  },
  {
    name: 'a value outside the enum',
    body: body({ fit: MARKER }),
    expected: {
      status: 400,
      code: VALIDATION_FAILED,
      errors: inBody('/fit', 'must be one of the following values: cover, contain'),
    },
  },
  {
    name: '"false" for a boolean',
    body: body({ public: 'false' }),
    expected: {
      status: 400,
      code: VALIDATION_FAILED,
      errors: inBody('/public', 'must be a boolean value'),
    },
  },
  {
    name: '"12" for an int (no implicit conversion)',
    body: body({ quality: '12' }),
    expected: { status: 400, code: VALIDATION_FAILED, errors: inBody('/quality', ...NOT_INT) },
  },
  {
    name: '"0x10" for an int',
    body: body({ quality: '0x10' }),
    expected: { status: 400, code: VALIDATION_FAILED, errors: inBody('/quality', ...NOT_INT) },
  },
  {
    name: '"NaN" for an int',
    body: body({ quality: 'NaN' }),
    expected: { status: 400, code: VALIDATION_FAILED, errors: inBody('/quality', ...NOT_INT) },
  },
  {
    name: '"Infinity" for an int',
    body: body({ quality: 'Infinity' }),
    expected: { status: 400, code: VALIDATION_FAILED, errors: inBody('/quality', ...NOT_INT) },
  },
  {
    name: 'a huge exponent, which JSON.parse reads as Infinity',
    body: body({ quality: 0 }).replace('"quality":0', '"quality":1e400'),
    expected: {
      status: 400,
      code: VALIDATION_FAILED,
      errors: inBody('/quality', 'must be an integer number', 'must not be greater than 100'),
    },
  },
  {
    name: 'an int above its maximum in a nested object',
    body: body({ size: { width: 4097, height: 1 } }),
    expected: {
      status: 400,
      code: VALIDATION_FAILED,
      errors: inBody('/size/width', 'must not be greater than 4096'),
    },
  },
  {
    name: 'an array item of the wrong type and one too long',
    body: body({ tags: [7, `${MARKER}-longer-than-twenty`] }),
    expected: {
      status: 400,
      code: VALIDATION_FAILED,
      errors: inBody(
        '/tags',
        'each value must be a string',
        'each value must be shorter than or equal to 20 characters',
      ),
    },
  },
  {
    name: 'an array over its maximum size',
    body: body({ tags: ['a', 'b', 'c', 'd', 'e', 'f'] }),
    expected: {
      status: 400,
      code: VALIDATION_FAILED,
      errors: inBody('/tags', 'must contain no more than 5 elements'),
    },
  },
  {
    name: 'an invalid member of an array item',
    body: body({ labels: [{ name: 'ok' }, { name: '' }] }),
    expected: {
      status: 400,
      code: VALIDATION_FAILED,
      errors: inBody('/labels/1/name', 'must be longer than or equal to 1 characters'),
    },
  },
  {
    name: 'an array where the DTO expects an object',
    body: JSON.stringify([MARKER]),
    expected: { status: 400, code: VALIDATION_FAILED, errors: inBody('', 'must be an object') },
  },
  {
    name: 'a nested object under @ValidateNested() without @Type()',
    path: '/validation/untyped',
    body: JSON.stringify({ name: 'ok', size: { width: MARKER } }),
    expected: {
      status: 400,
      code: VALIDATION_FAILED,
      errors: inBody('/size', 'is not a value this route can validate'),
    },
  },
  { name: 'malformed JSON', body: `{"name":"${MARKER}`, expected: MALFORMED },
  {
    name: 'a hexadecimal JSON number',
    body: body({ quality: 0 }).replace(':0', ':0x10'),
    expected: MALFORMED,
  },
  {
    name: 'a 2 MB body',
    body: body({ description: `${MARKER}${'x'.repeat(2 * 1024 * 1024)}` }),
    expected: { status: 413, code: SecureApiErrorCode.BODY_TOO_LARGE },
  },
  {
    // No body is no body, whatever the Content-Type says: the DTO reports what is missing.
    name: 'an empty JSON body',
    body: '',
    expected: { status: 400, code: VALIDATION_FAILED, errors: NOTHING_PARSED },
  },
  {
    name: 'a text/plain body on a JSON route',
    body: MARKER,
    contentType: 'text/plain',
    expected: UNSUPPORTED,
  },
  {
    name: 'an application/xml body',
    body: `<name>${MARKER}</name>`,
    contentType: 'application/xml',
    expected: UNSUPPORTED,
  },
];

const FORBIDDEN_MEMBER = { status: 400, code: SecureApiErrorCode.BODY_FORBIDDEN_MEMBER } as const;

/**
 * Prototype-pollution payloads: the JSON text, since an object literal cannot hold them. The
 * parser refuses them on both adapters, before the pipe, so no object ever holds such a member.
 */
const PROTOTYPE_CASES: readonly BodyCase[] = [
  {
    name: '__proto__ at the top level',
    body: body().replace('{', `{"__proto__":{"polluted":"${MARKER}"},`),
    expected: FORBIDDEN_MEMBER,
  },
  {
    name: '__proto__ inside an array item',
    body: body().replace(
      '{"name":"holiday"}',
      `{"name":"holiday","__proto__":{"polluted":"${MARKER}"}}`,
    ),
    expected: FORBIDDEN_MEMBER,
  },
  {
    name: 'constructor.prototype',
    body: body().replace('{', `{"constructor":{"prototype":{"polluted":"${MARKER}"}},`),
    expected: FORBIDDEN_MEMBER,
  },
  {
    name: 'constructor.prototype nested in an array of an object',
    body: body().replace(
      '{"name":"holiday"}',
      `{"name":"holiday","x":[{"constructor":{"prototype":{"polluted":"${MARKER}"}}}]}`,
    ),
    expected: FORBIDDEN_MEMBER,
  },
];

describe.each(ADAPTERS)('validation on %s', (adapter) => {
  let issuer: LocalIssuer;
  let booted: BootedApp;

  beforeAll(async () => {
    issuer = await createLocalIssuer();
    booted = await bootApp(
      ValidationFixture.with({ auth: { issuer: issuer.url, audience: issuer.audience } }),
      { adapter },
    );
  });

  afterAll(async () => {
    await booted?.close();
    await issuer?.close();
  });

  const post = (
    path: string,
    payload: string,
    contentType = 'application/json',
  ): Promise<HttpResponse> =>
    httpRequest(`${booted.url}${path}`, {
      method: 'POST',
      body: payload,
      headers: { 'content-type': contentType },
    });

  const get = (path: string): Promise<HttpResponse> => httpRequest(`${booted.url}${path}`);

  it('hands the handler a DTO instance with the values as sent', async () => {
    const response = await post('/validation/thumbnails', body());
    expect(response.status).toBe(200);
    expect(response.json()).toEqual({
      value: VALID,
      instance: true,
      sizeInstance: true,
      types: {
        name: 'string',
        description: 'undefined',
        quality: 'number',
        fit: 'string',
        public: 'boolean',
        size: 'object',
        tags: 'object',
        labels: 'object',
      },
    });
  });

  it.each(BODY_CASES)('refuses $name', async (scenario) => {
    const { expected } = scenario;
    const response = await post(
      scenario.path ?? '/validation/thumbnails',
      scenario.body,
      scenario.contentType,
    );
    expectRejected(response, expected.status, expected.code);
    expect(errorsOf(response)).toEqual(sorted(expected.errors ?? []));
  });

  it.each(PROTOTYPE_CASES)('refuses $name and pollutes nothing', async (scenario) => {
    const { expected } = scenario;
    const response = await post('/validation/thumbnails', scenario.body);
    expectRejected(response, expected.status, expected.code);
    expect(errorsOf(response)).toEqual(sorted(expected.errors ?? []));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('lists at most 20 errors and says so', async () => {
    const extra = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`m${i}`, MARKER]));
    const response = await post('/validation/thumbnails', body(extra));
    expectRejected(response, 400, VALIDATION_FAILED);
    expect(errorsOf(response)).toHaveLength(20);
    expect(response.json()).toMatchObject({
      detail: expect.stringContaining('first 20') as unknown,
    });
  });

  it('converts a query member only where the DTO asks with @Type()', async () => {
    const response = await get('/validation/thumbnails?limit=12&fit=cover');
    expect(response.status).toBe(200);
    expect(response.json()).toEqual({
      value: { limit: 12, fit: 'cover' },
      instance: true,
      types: { limit: 'number', fit: 'string', sort: 'undefined' },
    });
  });

  it('pins that @Type(() => Number) reads "0x10" as 16, as Number() does', async () => {
    const response = await get('/validation/thumbnails?limit=0x10');
    expect(response.status).toBe(200);
    expect(response.json()).toMatchObject({ value: { limit: 16 } });
  });

  it.each([
    ['a repeated number', 'limit=1&limit=2', inQuery('/limit', ...NOT_INT)],
    [
      'a repeated enum value',
      'fit=cover&fit=contain',
      inQuery('/fit', 'must be one of the following values: cover, contain'),
    ],
    ['"NaN"', 'limit=NaN', inQuery('/limit', ...NOT_INT)],
    [
      '"Infinity"',
      'limit=Infinity',
      inQuery('/limit', 'must be an integer number', 'must not be greater than 100'),
    ],
    [
      'a huge exponent',
      'limit=1e400',
      inQuery('/limit', 'must be an integer number', 'must not be greater than 100'),
    ],
    ['an unknown parameter', `q=${MARKER}`, inQuery('/q', 'is not allowed')],
    ['__proto__', `__proto__=${MARKER}`, inQuery('/__proto__', 'is not allowed')],
    [
      'a string over its limit',
      `sort=${MARKER.repeat(2)}`,
      inQuery('/sort', 'must be shorter than or equal to 32 characters'),
    ],
  ])('refuses %s in the query string', async (_name, query, errors) => {
    const response = await get(`/validation/thumbnails?${query}`);
    expectRejected(response, 400, VALIDATION_FAILED);
    expect(errorsOf(response)).toEqual(sorted(errors));
  });

  it('accepts a UUID route parameter and refuses anything else at /id in the path', async () => {
    const ok = await get(`/validation/thumbnails/${UUID}`);
    expect(ok.status).toBe(200);
    expect(ok.json()).toMatchObject({ value: { id: UUID }, instance: true });

    const response = await get(`/validation/thumbnails/${MARKER}`);
    expectRejected(response, 400, VALIDATION_FAILED);
    expect(errorsOf(response)).toEqual([{ in: 'path', pointer: '/id', detail: 'must be a UUID' }]);
  });

  it('passes primitive parameters as received, never through +value', async () => {
    const response = await get('/validation/plain/0x10?page=0x10');
    expect(response.status).toBe(200);
    expect(response.json()).toEqual({ name: '0x10', page: '0x10' });
  });

  it.each([
    ['ParseIntPipe', `/validation/int/${MARKER}`],
    ['ParseUUIDPipe', `/validation/uuid/${MARKER}`],
  ])("keeps the generic 400 of Nest's %s", async (_name, path) => {
    const response = await get(path);
    expectRejected(response, 400, SecureApiErrorCode.HTTP_ERROR);
    expect(response.json()).toMatchObject({ detail: 'The request is not valid.' });
    expect(response.json()).not.toHaveProperty('errors');
  });

  it('authenticates before it validates', async () => {
    const invalid = body({ isAdmin: MARKER });
    const anonymous = await post('/validation/private/thumbnails', invalid);
    expectRejected(anonymous, 401, SecureApiErrorCode.TOKEN_MISSING);

    const headers = {
      'content-type': 'application/json',
      authorization: `Bearer ${issuer.mint({ scope: VALIDATION_WRITE_SCOPE })}`,
    };
    const refused = await httpRequest(`${booted.url}/validation/private/thumbnails`, {
      method: 'POST',
      body: invalid,
      headers,
    });
    expectRejected(refused, 400, VALIDATION_FAILED);
    expect(errorsOf(refused)).toEqual(inBody('/isAdmin', 'is not allowed'));

    const accepted = await httpRequest(`${booted.url}/validation/private/thumbnails`, {
      method: 'POST',
      body: body(),
      headers,
    });
    expect(accepted.status).toBe(200);
    expect(accepted.json()).toMatchObject({ value: VALID, instance: true });
  });
});

describe.each(ADAPTERS)('validation: false on %s', (adapter) => {
  let issuer: LocalIssuer;
  let booted: BootedApp;

  beforeAll(async () => {
    issuer = await createLocalIssuer();
    booted = await bootApp(
      ValidationFixture.with({
        auth: { issuer: issuer.url, audience: issuer.audience },
        validation: false,
      }),
      { adapter },
    );
  });

  afterAll(async () => {
    await booted?.close();
    await issuer?.close();
  });

  it('installs no pipe: the handler gets the parsed body as it came', async () => {
    const response = await httpRequest(`${booted.url}/validation/thumbnails`, {
      method: 'POST',
      body: body({ isAdmin: 'yes' }),
      headers: { 'content-type': 'application/json' },
    });
    expect(response.status).toBe(200);
    expect(response.json()).toMatchObject({ value: { isAdmin: 'yes' }, instance: false });
  });

  it('still maps the adapter body errors', async () => {
    const response = await httpRequest(`${booted.url}/validation/thumbnails`, {
      method: 'POST',
      body: `{"name":"${MARKER}`,
      headers: { 'content-type': 'application/json' },
    });
    expectRejected(response, 400, SecureApiErrorCode.MALFORMED_BODY);
  });
});
