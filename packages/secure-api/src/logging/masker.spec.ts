import { Writable } from 'node:stream';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import pino from 'pino';
import {
  DEFAULT_SENSITIVE_KEYS,
  DEFAULT_SENSITIVE_QUERY_PARAMS,
  Masker,
  REDACTED,
  maskingPinoOptions,
  type MaskingOptions,
} from './masker.js';

const masker = new Masker();

describe('Masker', () => {
  describe('sensitive keys', () => {
    it.each(DEFAULT_SENSITIVE_KEYS.filter((key) => !key.includes('card')))(
      'masks %s at the top level, nested, in arrays and whatever the value type',
      (key) => {
        const input = {
          [key]: 'hunter2',
          nested: { deeper: { [key]: { any: 'object' } } },
          list: [{ [key]: 12345 }, { [key]: ['a', 'b'] }],
          [`${key}_hint`]: 'kept',
        };
        expect(masker.mask(input)).toEqual({
          [key]: REDACTED,
          nested: { deeper: { [key]: REDACTED } },
          list: [{ [key]: REDACTED }, { [key]: REDACTED }],
          [`${key}_hint`]: 'kept',
        });
      },
    );

    it.each([
      ['Authorization'],
      ['AUTHORIZATION'],
      ['Proxy-Authorization'],
      ['Set-Cookie'],
      ['X-Api-Key'],
      ['x_api_key'],
      ['apiKey'],
      ['API_KEY'],
      ['Api-Key'],
      ['clientSecret'],
      ['accessToken'],
      ['Refresh-Token'],
      ['idToken'],
      ['privateKey'],
      ['PassWd'],
      ['SSN'],
      ['CVV'],
    ])('matches the case and separator variant %s', (key) => {
      expect(masker.mask({ [key]: 'secret-value' })).toEqual({ [key]: REDACTED });
    });

    it.each([
      ['username'],
      ['tokens'],
      ['passwordPolicy'],
      ['secretary'],
      ['keyboard'],
      ['cookies_enabled'],
      ['code'],
    ])('leaves the lookalike key %s alone', (key) => {
      expect(masker.mask({ [key]: 'plain' })).toEqual({ [key]: 'plain' });
    });

    it.each([
      ['card_number', '4111111111111111', '************1111'],
      ['cardNumber', '5500 0000 0000 0004', '************0004'],
      ['credit_card_number', '378282246310005', '************0005'],
      ['Credit-Card-Number', '6011-1111-1111-1117', '************1117'],
      ['card_number', 4111111111111111, '************1111'],
      ['card_number', '4111111111111112', REDACTED],
      ['card_number', 'not a card', REDACTED],
      ['card_number', { pan: '4111111111111111' }, REDACTED],
    ])('shows %s = %p as %p', (key, value, expected) => {
      expect(masker.mask({ [key]: value })).toEqual({ [key]: expected });
    });

    it('leaves undefined values of sensitive keys undefined', () => {
      expect(masker.mask({ password: undefined, a: 1 })).toEqual({ password: undefined, a: 1 });
    });

    it('adds custom keys and censors, also for a default key', () => {
      const custom = new Masker({
        keys: [
          'session',
          { key: 'email', censor: '[EMAIL]' },
          { key: 'phone_number', censor: (value) => `…${String(value).slice(-2)}` },
          { key: 'password', censor: '***' },
          { key: 'card_number', censor: (_value, key) => `<${key}>` },
          {
            key: 'broken',
            censor: () => {
              throw new Error('no');
            },
          },
          { key: 'evil', censor: () => 'line\nbreak' },
        ],
      });
      expect(
        custom.mask({
          session: 's1',
          Email: 'a@example.org',
          phoneNumber: '+44 20 7946 0958',
          password: 'p',
          cardNumber: '4111111111111111',
          broken: 'x',
          evil: 'x',
          token: 't',
          other: 'o',
        }),
      ).toEqual({
        session: REDACTED,
        Email: '[EMAIL]',
        phoneNumber: '…58',
        password: '***',
        cardNumber: '<cardNumber>',
        broken: REDACTED,
        evil: 'line\\x0abreak',
        token: REDACTED,
        other: 'o',
      });
      expect(new Masker().mask({ session: 's1' })).toEqual({ session: 's1' });
    });

    it('masks Map entries by their keys and masks keys that carry secrets', () => {
      const map = new Map<unknown, unknown>([
        ['token', 'abc'],
        ['plain', 'password=hunter2'],
      ]);
      expect(masker.mask({ map })).toEqual({
        map: { token: REDACTED, plain: `password=${REDACTED}` },
      });
      const objectKeys = new Map<unknown, unknown>([[{ id: 1 }, 'v']]);
      expect(masker.mask(objectKeys)).toEqual([[{ id: 1 }, 'v']]);
      expect(masker.mask({ 'x\ny': 1 })).toEqual({ 'x\\x0ay': 1 });
    });
  });

  describe('values in strings', () => {
    it.each([
      ['a Visa, contiguous', 'paid 4111111111111111 ok', 'paid ************1111 ok'],
      ['spaces', 'card 5500 0000 0000 0004.', 'card ************0004.'],
      ['an Amex (15 digits)', '378282246310005', '************0005'],
      ['dashes', 'pan=6011-1111-1111-1117', 'pan=************1117'],
      ['two cards', '4111111111111111,5500000000000004', '************1111,************0004'],
      ['inside JSON', '{"pan":"4111111111111111"}', '{"pan":"************1111"}'],
      ['after a word and a dash', 'card-4111111111111111', 'card-************1111'],
    ])('masks a Luhn-valid card number (%s)', (_name, input, expected) => {
      expect(masker.maskString(input)).toBe(expected);
    });

    it.each([
      ['an order id failing Luhn', 'order 4111111111111112 shipped'],
      ['a millisecond timestamp failing Luhn', 'at 1733054069124'],
      ['a phone number', 'call +44 20 7946 0958'],
      ['a 20-digit run containing a valid card', 'ref 41111111111111110000'],
      ['a 25-digit run', '1234567890123456789012345'],
      ['12 digits', '411111111111'],
      ['double separators', '4111  1111  1111  1111'],
      ['an ISO time', '2026-11-30T18:22:07.000Z'],
      // 29-4214-9788-26453 passes Luhn: glued to hex letters, it is part of an id, not a card.
      ['a UUID holding a Luhn-valid digit run', '8f4df915-2e29-4214-9788-26453fdbc106'],
      ['a card number glued to letters', 'tok4111111111111111x'],
    ])('leaves %s alone', (_name, input) => {
      expect(masker.maskString(input)).toBe(input);
    });

    it('masks card numbers in numbers and bigints', () => {
      expect(masker.mask({ n: 4111111111111111, b: 5500000000000004n, small: 42 })).toEqual({
        n: '************1111',
        b: '************0004',
        small: 42,
      });
      expect(masker.mask({ n: 4111111111111112 })).toEqual({ n: 4111111111111112 });
    });

    it.each([
      [
        'a signed JWT',
        'token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl done',
        `token ${REDACTED} done`,
      ],
      ['an unsigned JWT (empty signature)', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.', REDACTED],
      ['two segments', 'x=eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0', `x=${REDACTED}`],
      ['a JWE (5 segments)', '[eyJhbGciOiJkaXIifQ..aXY.Y2lwaGVy.dGFn]', `[${REDACTED}]`],
    ])('masks %s', (_name, input, expected) => {
      expect(masker.maskString(input)).toBe(expected);
    });

    it.each([
      ['a lone base64 segment', 'eyJhbGciOiJub25lIn0'],
      ['a word containing eyJ', 'heyJude.mp3'],
      ['a version string', 'v1.2.3'],
    ])('leaves %s alone', (_name, input) => {
      expect(masker.maskString(input)).toBe(input);
    });

    it.each([
      ['Bearer', 'sent Bearer abc.def-123', `sent ${REDACTED}`],
      ['bearer, lower case', 'bearer AbC123xyz', REDACTED],
      ['BASIC', 'BASIC QWxhZGRpbjpvcGVuIHNlc2FtZQ==', REDACTED],
      ['Basic with JWT-like token', 'Basic eyJhbGciOiJub25lIn0.eyJ9.', REDACTED],
    ])('masks %s credentials whole', (_name, input, expected) => {
      expect(masker.maskString(input)).toBe(expected);
    });

    it.each([
      ['prose after Basic', 'basic authentication failed'],
      ['a challenge', 'Bearer realm="api", error="invalid_token"'],
      ['the scheme alone', 'use a Bearer'],
    ])('leaves %s alone', (_name, input) => {
      expect(masker.maskString(input)).toBe(input);
    });

    it.each([
      ['name=value', 'upstream refused password=hunter2', `upstream refused password=${REDACTED}`],
      ['name: value', 'token: abc123 expired', `token: ${REDACTED} expired`],
      ['spaced =', 'secret = s3cr3t;', `secret = ${REDACTED};`],
      [
        'JSON pair',
        '{"user":"ann","password":"x\\"y","n":1}',
        `{"user":"ann","password":"${REDACTED}","n":1}`,
      ],
      ['truncated JSON body', '{"password":"canary', `{"password":"${REDACTED}`],
      ['single quotes', "{'api_key': 'k-1'}", `{'api_key': '${REDACTED}'}`],
      [
        'double-encoded JSON',
        '{\\"password\\":\\"hunter2\\"}',
        `{\\"password\\":\\"${REDACTED}\\"}`,
      ],
      [
        'camel case key',
        'apiKey=zzz, refreshToken: t1',
        `apiKey=${REDACTED}, refreshToken: ${REDACTED}`,
      ],
      ['a header line', 'X-Api-Key: abc123', `X-Api-Key: ${REDACTED}`],
      [
        'a cookie header to the end of line',
        'Cookie: sid=1; csrf=2\nnext',
        `Cookie: ${REDACTED}\\x0anext`,
      ],
      ['an authorization header', 'authorization: Bearer abc def', `authorization: ${REDACTED}`],
      ['a key with a scheme value', 'token=Bearer abc123', `token=${REDACTED}`],
      ['a query-only name with =', 'redirect code=xyz', `redirect code=${REDACTED}`],
      ['a card key', 'card_number=4111111111111111', 'card_number=************1111'],
      ['a custom-free number value', '"cvv": 123', `"cvv": ${REDACTED}`],
    ])('masks the value of %s', (_name, input, expected) => {
      expect(masker.maskString(input)).toBe(expected);
    });

    it.each([
      ['a query-only name with a colon', 'error code: 42'],
      ['an unrelated pair', 'user=ann status: ok'],
      ['a suffixed name', 'mypassword=x'],
      ['a URL scheme', 'https://example.com:8443/path'],
      ['an already masked value', `password=${REDACTED}`],
      ['an empty value', 'password='],
    ])('leaves %s alone', (_name, input) => {
      expect(masker.maskString(input)).toBe(input);
    });

    it('masks custom keys and query params in strings', () => {
      const custom = new Masker({ keys: ['session_id'], queryParams: ['ticket'] });
      expect(custom.maskString('sessionId: s1 ticket=t2 ticket: t3')).toBe(
        `sessionId: ${REDACTED} ticket=${REDACTED} ticket: t3`,
      );
    });
  });

  describe('maskUrl', () => {
    it.each([
      ['/cb?code=abc&state=1', `/cb?code=${REDACTED}&state=1`],
      [
        '/login?user=ann&password=p,q#access_token=y',
        `/login?user=ann&password=${REDACTED}#access_token=${REDACTED}`,
      ],
      [
        'https://b.s3.amazonaws.com/k?X-Amz-Credential=AK%2F1&X-Amz-Security-Token=st&X-Amz-Signature=ff&x-id=GetObject',
        `https://b.s3.amazonaws.com/k?X-Amz-Credential=${REDACTED}&X-Amz-Security-Token=${REDACTED}&X-Amz-Signature=${REDACTED}&x-id=GetObject`,
      ],
      [
        '/maps?key=AIzaSy&sig=s1&signature=s2',
        `/maps?key=${REDACTED}&sig=${REDACTED}&signature=${REDACTED}`,
      ],
      [
        '/t?id_token=a&refresh_token=b&client_secret=c',
        `/t?id_token=${REDACTED}&refresh_token=${REDACTED}&client_secret=${REDACTED}`,
      ],
      [
        '/t?api_key=a&apikey=b&token=c',
        `/t?api_key=${REDACTED}&apikey=${REDACTED}&token=${REDACTED}`,
      ],
      ['/t?access%5Ftoken=a', `/t?access%5Ftoken=${REDACTED}`],
      ['/t?cvv=1', `/t?cvv=${REDACTED}`],
      ['/users/eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.?page=1', `/users/${REDACTED}?page=1`],
    ])('masks %s', (input, expected) => {
      expect(masker.maskUrl(input)).toBe(expected);
    });

    it.each([['/orders?page=2&sort=created_at'], ['/plain/path'], ['/t?%E0%A4%A=1']])(
      'leaves %s alone',
      (input) => {
        expect(masker.maskUrl(input)).toBe(input);
      },
    );

    it('knows every default query parameter', () => {
      for (const name of DEFAULT_SENSITIVE_QUERY_PARAMS) {
        expect(masker.maskUrl(`/x?${name}=v&a=b`)).toBe(`/x?${name}=${REDACTED}&a=b`);
      }
    });
  });

  describe('control characters', () => {
    it.each([
      ['LF', 'a\nb', 'a\\x0ab'],
      ['CR LF', 'a\r\nfake line', 'a\\x0d\\x0afake line'],
      ['NUL and TAB', 'a\u0000\tb', 'a\\x00\\x09b'],
      ['DEL', 'a\u007fb', 'a\\x7fb'],
      ['an ANSI colour', '\u001b[31mred\u001b[0m', '\\x1b[31mred\\x1b[0m'],
      ['C1 CSI and NEL', 'a\u009b31m\u0085b', 'a\\x9b31m\\x85b'],
      ['U+2028 and U+2029', 'a\u2028b\u2029c', 'a\\u2028b\\u2029c'],
      ['a bidi override', 'a\u202eb', 'a\\u202eb'],
    ])('escapes %s visibly', (_name, input, expected) => {
      expect(masker.maskString(input)).toBe(expected);
      expect(masker.sanitize(input, 100)).toBe(expected);
    });

    it.each([['plain ascii'], ['ünïcödé ✓ 日本'], ['emoji 🎉']])('leaves %s alone', (input) => {
      expect(masker.maskString(input)).toBe(input);
    });
  });

  describe('length cap', () => {
    it('cuts long strings so that the marker fits in maxStringLength', () => {
      const small = new Masker({ maxStringLength: 40 });
      const out = small.maskString('a'.repeat(100));
      expect(out).toBe(`${'a'.repeat(27)}…[+73 chars]`);
      expect(out).toHaveLength(39);
      expect(small.maskString(out)).toBe(out);
      expect(small.maskString('a'.repeat(40))).toBe('a'.repeat(40));
    });

    it('masks before it cuts, and counts what was dropped', () => {
      const small = new Masker({ maxStringLength: 64 });
      expect(small.maskString(`token=abc ${'y'.repeat(100)}`)).toBe(
        `token=${REDACTED} ${'y'.repeat(34)}…[+66 chars]`,
      );
      // Past the cap plus a margin the input is cut before the patterns run: a secret that
      // starts inside the cap is still masked.
      const huge = small.maskString(`password=${'x'.repeat(5000)} tail`);
      expect(huge.startsWith(`password=${REDACTED}…[+`)).toBe(true);
      expect(huge).not.toContain('x');
      expect(huge.length).toBeLessThanOrEqual(64);
    });

    it('defaults to 4096 characters', () => {
      expect(masker.maskString('b'.repeat(4096))).toHaveLength(4096);
      expect(masker.maskString('b'.repeat(10_000)).length).toBeLessThanOrEqual(4096);
      expect(masker.maskString('b'.repeat(10_000))).toMatch(/b…\[\+\d+ chars\]$/);
    });

    it('sanitize caps to its own length, with or without room for the marker', () => {
      expect(masker.sanitize('x'.repeat(50), 30)).toBe(`${'x'.repeat(18)}…[+32 chars]`);
      expect(masker.sanitize('abcdefghij', 5)).toBe('abcde');
      expect(masker.sanitize('short', 30)).toBe('short');
      expect(masker.sanitize('password=x', 30)).toBe('password=x');
      expect(() => masker.sanitize('x', -1)).toThrow(TypeError);
    });

    it('never splits a surrogate pair', () => {
      const small = new Masker({ maxStringLength: 32 });
      expect(small.maskString(`${'a'.repeat(19)}🎉${'b'.repeat(40)}`)).toBe(
        `${'a'.repeat(19)}…[+42 chars]`,
      );
    });
  });

  describe('objects', () => {
    it('never mutates its input', () => {
      const input = {
        headers: { authorization: 'Bearer abc', accept: 'text/html' },
        body: { user: { password: 'p', name: 'n' }, items: [{ token: 't' }, 'password=q'] },
        at: new Date(0),
        tags: new Set(['a']),
      };
      const before = structuredClone(input);
      masker.mask(input);
      masker.mask(input);
      expect(input).toEqual(before);
    });

    it('returns unchanged plain subtrees as they are', () => {
      const clean = { a: 1, b: ['x', { c: true }] };
      const input = { clean, nested: { password: 'p' } };
      const out = masker.mask(input) as Record<string, unknown>;
      expect(out).toEqual({
        clean: { a: 1, b: ['x', { c: true }] },
        nested: { password: REDACTED },
      });
      expect(out.clean).toBe(clean);
      expect(out).not.toBe(input);
      expect(masker.mask(clean)).toBe(clean);
    });

    it('replaces cycles in objects and arrays, but keeps shared references', () => {
      const object: Record<string, unknown> = { name: 'o' };
      object.self = object;
      const array: unknown[] = [1];
      array.push(array);
      const shared = { v: 1 };
      expect(masker.mask({ object, array, one: shared, two: shared })).toEqual({
        object: { name: 'o', self: '[Circular]' },
        array: [1, '[Circular]'],
        one: { v: 1 },
        two: { v: 1 },
      });
    });

    it('truncates objects deeper than maxDepth', () => {
      const shallow = new Masker({ maxDepth: 2 });
      expect(shallow.mask({ a: { b: { c: 1 } }, list: [[1]], n: 1 })).toEqual({
        a: { b: '[Truncated]' },
        list: ['[Truncated]'],
        n: 1,
      });
      let deep: Record<string, unknown> = { leaf: true };
      for (let i = 0; i < 12; i++) deep = { next: deep };
      let out = masker.mask(deep) as Record<string, unknown>;
      for (let i = 0; i < 9; i++) out = out.next as Record<string, unknown>;
      expect(out).toEqual({ next: '[Truncated]' });
    });

    it('converts buffers, bigints, dates, maps, sets, toJSON and class instances', () => {
      class Point {
        constructor(
          readonly x: number,
          readonly secret: string,
        ) {}
        get ignored(): number {
          return 1;
        }
      }
      const input = {
        buffer: Buffer.from('abc'),
        typed: new Uint16Array(4),
        arrayBuffer: new ArrayBuffer(8),
        big: 12n,
        date: new Date('2026-12-01T10:00:00Z'),
        invalid: new Date(Number.NaN),
        map: new Map([['a', { token: 't' }]]),
        set: new Set(['x', 'token=t']),
        json: { toJSON: () => ({ password: 'p', ok: 1 }) },
        point: new Point(1, 's'),
        fn: () => 1,
        sym: Symbol('s'),
        list: [1, () => 2, 3],
      };
      expect(masker.mask(input)).toStrictEqual({
        buffer: '[Buffer 3 bytes]',
        typed: '[Buffer 8 bytes]',
        arrayBuffer: '[Buffer 8 bytes]',
        big: '12',
        date: '2026-12-01T10:00:00.000Z',
        invalid: 'Invalid Date',
        map: { a: { token: REDACTED } },
        set: ['x', `token=${REDACTED}`],
        json: { password: REDACTED, ok: 1 },
        point: { x: 1, secret: REDACTED },
        list: [1, 3],
      });
    });

    it('does not walk requests, responses or sockets', () => {
      const socket = new Socket();
      const request = new IncomingMessage(socket);
      const response = new ServerResponse(request);
      expect(masker.mask({ request, response, socket })).toEqual({
        request: '[IncomingMessage]',
        response: '[ServerResponse]',
        socket: '[Socket]',
      });
      socket.destroy();
    });

    it('walks own keys only, even with a polluted Object.prototype', () => {
      class Base {
        own = 'o';
      }
      (Base.prototype as unknown as Record<string, unknown>).inherited = 'password=p';
      const prototype = Object.prototype as unknown as Record<string, unknown>;
      prototype.polluted = 'x';
      try {
        expect(masker.mask({ a: 1, nested: { token: 't' } })).toStrictEqual({
          a: 1,
          nested: { token: REDACTED },
        });
        expect(masker.mask(new Base())).toStrictEqual({ own: 'o' });
      } finally {
        delete prototype.polluted;
      }
    });

    it('masks what toJSON returns for class instances too', () => {
      class Money {
        toJSON(): unknown {
          return { amount: 1, card_number: '4111111111111111' };
        }
      }
      class Self {
        name = 'self';
        toJSON(): unknown {
          return this;
        }
      }
      class Throws {
        toJSON(): unknown {
          throw new Error('no');
        }
      }
      expect(masker.mask({ money: new Money(), self: new Self(), throws: new Throws() })).toEqual({
        money: { amount: 1, card_number: '************1111' },
        self: { name: 'self' },
        throws: '[Unreadable]',
      });
    });

    it('keeps a __proto__ key as data, not as a prototype', () => {
      const input = JSON.parse('{"__proto__":{"token":"t"},"a":"password=x"}') as object;
      const out = masker.mask(input) as Record<string, unknown>;
      expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
      expect(Object.getOwnPropertyDescriptor(out, '__proto__')?.value).toEqual({ token: REDACTED });
      expect(out.a).toBe(`password=${REDACTED}`);
    });

    it('passes primitives through and masks top-level strings', () => {
      expect(masker.mask(null)).toBeNull();
      expect(masker.mask(undefined)).toBeUndefined();
      expect(masker.mask(true)).toBe(true);
      expect(masker.mask(3.5)).toBe(3.5);
      expect(masker.mask(() => 1)).toBeUndefined();
      expect(masker.mask('Bearer abc123')).toBe(REDACTED);
    });
  });

  describe('errors', () => {
    it('masks message, stack, code, own properties and the cause chain', () => {
      const root = Object.assign(new Error('db password=hunter2 rejected'), {
        code: 'E_DB',
        config: { headers: { authorization: 'Bearer abc' }, url: '/x?token=t' },
      });
      const middle = new TypeError('upstream Bearer xyz123 refused', { cause: root });
      const top = new Error('request failed', { cause: middle });
      const out = masker.maskError(top);
      expect(out).toMatchObject({
        type: 'Error',
        message: 'request failed',
        cause: {
          type: 'TypeError',
          message: `upstream ${REDACTED} refused`,
          cause: {
            type: 'Error',
            message: `db password=${REDACTED} rejected`,
            code: 'E_DB',
            config: { headers: { authorization: REDACTED }, url: `/x?token=${REDACTED}` },
          },
        },
      });
      const text = JSON.stringify(out);
      expect(text).not.toContain('hunter2');
      expect(text).not.toContain('xyz123');
      expect(text).not.toMatch(/Bearer abc/);
      expect(out.stack).toMatch(/^Error: request failed\\x0a {4}at /);
    });

    it('masks secrets in a stack and keeps a code that is not enumerable', () => {
      const error = new Error('plain');
      error.stack = 'Error: plain\n    at f (/app/token=abc/file.js:1:1)';
      Object.defineProperty(error, 'code', { value: 'E_HIDDEN', enumerable: false });
      expect(masker.maskError(error)).toEqual({
        type: 'Error',
        message: 'plain',
        // Unquoted values run to a delimiter, `/` included: base64 secrets contain it.
        stack: `Error: plain\\x0a    at f (/app/token=${REDACTED})`,
        code: 'E_HIDDEN',
      });
    });

    it('masks AggregateError.errors, non-Error causes and cause cycles', () => {
      const first = new Error('a token=1');
      const aggregate = new AggregateError([first, new RangeError('b')], 'many', {
        cause: { password: 'p' },
      });
      aggregate.stack = 'AggregateError: many';
      first.stack = 'Error: a';
      const cyclic = new Error('loop');
      cyclic.stack = 'Error: loop';
      (cyclic as Error & { cause: unknown }).cause = cyclic;
      const out = masker.mask({ aggregate, cyclic }) as Record<string, Record<string, unknown>>;
      expect(out.aggregate).toMatchObject({
        type: 'AggregateError',
        message: 'many',
        errors: [
          { type: 'Error', message: `a token=${REDACTED}` },
          { type: 'RangeError', message: 'b' },
        ],
        cause: { password: REDACTED },
      });
      expect(out.cyclic).toEqual({
        type: 'Error',
        message: 'loop',
        stack: 'Error: loop',
        cause: '[Circular]',
      });
    });
  });

  describe('options', () => {
    it.each<[string, unknown, RegExp]>([
      ['not an object', 'x', /"options"/],
      ['an unknown option', { maxDepht: 3 }, /"maxDepht" is not an option/],
      ['keys not an array', { keys: 'token' }, /"keys" must be an array/],
      ['an empty key', { keys: ['ok', ''] }, /"keys\[1\]"/],
      ['a key of separators', { keys: ['_-'] }, /"keys\[0\]"/],
      ['a key object without key', { keys: [{ censor: 'x' }] }, /"keys\[0\]\.key"/],
      ['a bad censor', { keys: [{ key: 'a', censor: 3 }] }, /"keys\[0\]\.censor"/],
      ['a number in keys', { keys: [1] }, /"keys\[0\]"/],
      ['bad query params', { queryParams: ['ok', 7] }, /"queryParams\[1\]"/],
      ['queryParams not an array', { queryParams: 'x' }, /"queryParams"/],
      [
        'maxStringLength too small',
        { maxStringLength: 10 },
        /"maxStringLength" must be an integer of at least 32/,
      ],
      ['maxStringLength not an integer', { maxStringLength: 100.5 }, /"maxStringLength"/],
      ['maxDepth zero', { maxDepth: 0 }, /"maxDepth" must be an integer of at least 1/],
    ])('refuses %s with a TypeError naming the field', (_name, options, message) => {
      expect(() => new Masker(options as MaskingOptions)).toThrow(TypeError);
      expect(() => new Masker(options as MaskingOptions)).toThrow(message);
    });

    it('accepts the documented options and exposes the limits', () => {
      const custom = new Masker({ keys: [], queryParams: [], maxStringLength: 32, maxDepth: 1 });
      expect(custom.maxStringLength).toBe(32);
      expect(custom.maxDepth).toBe(1);
      expect(masker.maxStringLength).toBe(4096);
      expect(masker.maxDepth).toBe(10);
    });
  });
});

describe('maskingPinoOptions', () => {
  function capture(): { stream: Writable; lines: () => string[] } {
    const chunks: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        chunks.push(chunk.toString());
        done();
      },
    });
    return { stream, lines: () => chunks.join('').split('\n').filter(Boolean) };
  }

  it('keeps every secret of a log call out of the stream', async () => {
    const { stream, lines } = capture();
    const logger = pino(maskingPinoOptions(new Masker()), stream);
    const cause = new Error('cause password=canary-cause');
    const error = Object.assign(new Error('failed token=canary-error', { cause }), {
      apiKey: 'canary-prop',
    });
    const original = { user: { password: 'canary-object', name: 'ann' } };
    const before = structuredClone(original);
    logger.info(original, 'login for %s', 'Bearer canary-format');
    logger.info('message password=canary-message\nforged');
    logger.error(error);
    logger.error({ err: error }, 'with object');
    logger
      .child({ session: { token: 'canary-binding' }, note: 'api_key=canary-note' })
      .warn('child');
    logger.info({ list: ['4111 1111 1111 1111'] }, 'body %j', { token: 'canary-json' });
    await new Promise((resolve) => setImmediate(resolve));

    const output = lines();
    expect(output).toHaveLength(6);
    const text = output.join('\n');
    expect(text).not.toMatch(/canary/);
    expect(text).not.toContain('4111 1111');
    expect(original).toEqual(before);

    const [first, second, third, fourth, fifth] = output.map(
      (line) => JSON.parse(line) as Record<string, unknown>,
    );
    expect(first).toMatchObject({
      user: { password: REDACTED, name: 'ann' },
      msg: `login for ${REDACTED}`,
    });
    expect(second?.msg).toBe(`message password=${REDACTED}\\x0aforged`);
    expect(third).toMatchObject({
      msg: `failed token=${REDACTED}`,
      err: {
        type: 'Error',
        message: `failed token=${REDACTED}`,
        apiKey: REDACTED,
        cause: { message: `cause password=${REDACTED}` },
      },
    });
    expect(fourth).toMatchObject({ msg: 'with object', err: { apiKey: REDACTED } });
    expect(JSON.parse(output[5] ?? '{}')).toEqual(
      expect.objectContaining({ list: ['************1111'], msg: `body {"token":"${REDACTED}"}` }),
    );
    expect(fifth).toMatchObject({
      session: { token: REDACTED },
      note: `api_key=${REDACTED}`,
      msg: 'child',
    });
  });

  it("masks a grandchild's own bindings and keeps its parent's as they were masked", async () => {
    const { stream, lines } = capture();
    const logger = pino(maskingPinoOptions(new Masker()), stream);
    const parent = logger.child({ requestId: 'r-1', token: 'canary-parent' });
    parent.child({ principal: { sub: 'ann' }, cookie: 'canary-child' }).info('grandchild');
    parent.info('parent');
    await new Promise((resolve) => setImmediate(resolve));

    const [grandchild, own] = lines().map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(grandchild).toMatchObject({
      requestId: 'r-1',
      token: REDACTED,
      principal: { sub: 'ann' },
      cookie: REDACTED,
      msg: 'grandchild',
    });
    expect(own).toMatchObject({ requestId: 'r-1', token: REDACTED, msg: 'parent' });
    expect(lines().join('\n')).not.toMatch(/canary/);
  });

  it('leaves non-plain req and res to their own serializers', () => {
    const seen: unknown[] = [];
    const options = maskingPinoOptions(new Masker());
    const socket = new Socket();
    const req = new IncomingMessage(socket);
    const res = new ServerResponse(req);
    const formatted = options.formatters.log({ req, res, token: 't', note: 'x' });
    seen.push(formatted.req, formatted.res);
    expect(seen).toEqual([req, res]);
    expect(formatted.token).toBe(REDACTED);
    expect(options.formatters.log({ req: { headers: { cookie: 'c' } } })).toEqual({
      req: { headers: { cookie: REDACTED } },
    });
    socket.destroy();
  });

  it('refuses anything but a Masker', () => {
    expect(() => maskingPinoOptions({} as Masker)).toThrow(TypeError);
  });

  it('serializers mask what reaches them', () => {
    const { serializers } = maskingPinoOptions(new Masker());
    expect(serializers.msg('password=x')).toBe(`password=${REDACTED}`);
    expect(serializers.msg({ token: 't' })).toEqual({ token: REDACTED });
    expect(serializers.err(new Error('token=t'))).toMatchObject({ message: `token=${REDACTED}` });
    const already = { type: 'Error', message: 'm' };
    expect(serializers.err(already)).toBe(already);
  });
});
