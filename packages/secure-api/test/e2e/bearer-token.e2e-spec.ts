import { SecureApiErrorCode, TokenRejectionReason } from '@secure-api/nestjs';
import {
  ADAPTERS,
  type BootedApp,
  bootApp,
  createLocalIssuer,
  createLogCapture,
  httpRequest,
  type LocalIssuer,
} from '@secure-api/testing';
import {
  authFailure,
  CHALLENGE,
  expectNothingLeaked,
  expectOk,
  type ExpectedRejection,
  expectRejected,
} from './fixtures/bearer-problem.fixture.js';
import { ProfileFixture } from './fixtures/profile.fixture.js';

// How the token gets from the client to the guard (RFC 6750 §2): one Authorization header with
// the Bearer scheme, and nothing else.

const MAX_TOKEN_LENGTH = 8192;

const invalidRequest = (reason: string, secrets: readonly string[] = []): ExpectedRejection => ({
  status: 400,
  code: SecureApiErrorCode.INVALID_REQUEST,
  challenge: CHALLENGE.invalidRequest,
  log: authFailure(reason),
  secrets,
});

describe.each(ADAPTERS)('bearer token extraction on %s', (adapter) => {
  const capture = createLogCapture();
  let issuer: LocalIssuer;
  let booted: BootedApp;
  let token: string;

  const get = (path: string, headers?: ReadonlyArray<readonly [string, string]>) =>
    httpRequest(`${booted.url}${path}`, { headers });

  beforeAll(async () => {
    issuer = await createLocalIssuer();
    booted = await bootApp(
      ProfileFixture.with({
        auth: { issuer: issuer.url, audience: issuer.audience, jwksUri: issuer.jwksUri },
      }),
      { adapter, logger: capture },
    );
    token = issuer.mint({ scope: 'profile.read' });
  });

  afterAll(async () => {
    await booted?.close();
    await issuer?.close();
  });

  beforeEach(() => capture.clear());

  describe('no credentials', () => {
    it.each([
      ['GET', '/profile'],
      ['PUT', '/profile'],
      ['GET', '/me'],
    ])(
      '%s %s without an Authorization header is 401 with a bare challenge',
      async (method, path) => {
        const res = await httpRequest(`${booted.url}${path}`, { method });
        expectRejected(
          res,
          {
            status: 401,
            code: SecureApiErrorCode.TOKEN_MISSING,
            challenge: CHALLENGE.missing,
            // A missing token has no rejection reason; the guard logs the code instead.
            log: authFailure(TokenRejectionReason.MISSING),
          },
          capture,
        );
      },
    );
  });

  describe('scheme', () => {
    it.each(['Bearer', 'bearer', 'BEARER', 'BeArEr'])(
      'accepts the %s scheme (auth-scheme is case-insensitive, RFC 9110 §11.1)',
      async (scheme) => {
        const body = expectOk<{ subject: string }>(
          await get('/profile', [['authorization', `${scheme} ${token}`]]),
        );
        expect(body.subject).toBe('user-123');
      },
    );

    it('accepts more than one space after the scheme (1*SP, RFC 6750 §2.1)', async () => {
      expectOk(await get('/profile', [['authorization', `Bearer   ${token}`]]));
    });

    it('accepts the header name in any case', async () => {
      expectOk(await get('/profile', [['AUTHORIZATION', `Bearer ${token}`]]));
    });
  });

  describe('token in the URL (RFC 6750 §2.3 is refused: URLs end up in logs)', () => {
    it.each([
      ['alone', (t: string) => `/profile?access_token=${t}`],
      ['after another parameter', (t: string) => `/profile?page=1&access_token=${t}`],
      ['percent-encoded name', (t: string) => `/profile?access%5Ftoken=${t}`],
      ['empty value', () => '/profile?access_token='],
    ])('a query access_token (%s) without a header is 400', async (_case, path) => {
      const res = await get(path(token));
      expectRejected(res, invalidRequest('token_in_query', [token]), capture);
    });

    it('a query access_token next to a valid Authorization header is still 400', async () => {
      const res = await get(`/profile?access_token=${token}`, [
        ['authorization', `Bearer ${token}`],
      ]);
      expectRejected(res, invalidRequest('token_in_query', [token]), capture);
    });

    it('a query parameter that merely contains the name is not a token', async () => {
      expectOk(
        await get('/profile?my_access_token=1&access_tokens=2', [
          ['authorization', `Bearer ${token}`],
        ]),
      );
    });
  });

  describe('more than one Authorization header', () => {
    it.each([
      ['two copies of the valid token', () => [`Bearer ${token}`, `Bearer ${token}`]],
      ['valid first, garbage second', () => [`Bearer ${token}`, 'Bearer garbage']],
      ['garbage first, valid second', () => ['Basic dXNlcjpwYXNz', `Bearer ${token}`]],
      [
        'two different valid tokens',
        () => [`Bearer ${token}`, `Bearer ${issuer.mint({ scope: 'profile.read' })}`],
      ],
    ])('%s is 400, not resolved by picking one', async (_case, values) => {
      const [first, second] = values() as [string, string];
      const res = await get('/profile', [
        ['authorization', first],
        ['Authorization', second],
      ]);
      expectRejected(
        res,
        invalidRequest(
          'duplicate_authorization',
          [first, second].map((v) => v.replace(/^\S+ /, '')),
        ),
        capture,
      );
    });
  });

  describe('malformed Authorization values', () => {
    // `echo`: the part of the value the answer must not repeat (the bare scheme word is part of
    // the generic detail text, so for those cases there is nothing more to check).
    it.each<[string, () => string, () => string[]]>([
      ['the scheme alone', () => 'Bearer', () => []],
      ['the scheme and trailing spaces', () => 'Bearer  ', () => []],
      ['another scheme', () => 'Basic dXNlcjpwYXNz', () => ['dXNlcjpwYXNz']],
      ['another scheme with a JWT', () => `Token ${token}`, () => [token]],
      ['no space after the scheme', () => 'Bearertoken', () => ['Bearertoken']],
      ['no space before a JWT', () => `Bearer${token}`, () => [token]],
      ['a tab instead of a space', () => `Bearer\t${token}`, () => [token]],
      ['two words', () => 'Bearer a b', () => ['Bearer a b']],
      ['a JWT and a second word', () => `Bearer ${token} extra`, () => [token]],
      ['a JWT and a trailing comma', () => `Bearer ${token},`, () => [token]],
      ['a quoted token', () => 'Bearer "x"', () => ['"x"']],
      ['a dollar sign', () => 'Bearer abc$def', () => ['abc$def']],
      ['a semicolon', () => 'Bearer abc;def', () => ['abc;def']],
      ['a backslash', () => 'Bearer abc\\def', () => ['abc\\def']],
      ['a percent sign', () => 'Bearer abc%2Edef', () => ['abc%2Edef']],
      ['an angle bracket', () => 'Bearer <script>', () => ['<script>']],
      ['"=" inside the token', () => 'Bearer ab=cd', () => ['ab=cd']],
      ['a non-ASCII byte', () => 'Bearer abc\u00ffdef', () => ['abc\u00ffdef']],
      ['only padding', () => 'Bearer ===', () => []],
    ])('%s is 400 invalid_request', async (_case, value, echo) => {
      const res = await get('/profile', [['authorization', value()]]);
      expectRejected(res, invalidRequest('malformed_authorization', echo()), capture);
    });
  });

  describe('oversized credentials', () => {
    it('a 16 KB header is refused by the HTTP server before the app, never with a 5xx', async () => {
      const huge = `Bearer ${'a'.repeat(16 * 1024)}`;
      const res = await get('/profile', [['authorization', huge]]);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expectNothingLeaked(res.text, [huge.slice('Bearer '.length)]);
      // The server survives it.
      expectOk(await get('/profile', [['authorization', `Bearer ${token}`]]));
    });

    it(`a well-formed, validly signed token over ${MAX_TOKEN_LENGTH} characters is 401 too_long`, async () => {
      const long = issuer.mint({ scope: 'profile.read', claims: { pad: 'x'.repeat(7000) } });
      expect(long.length).toBeGreaterThan(MAX_TOKEN_LENGTH);
      expect(long.length).toBeLessThan(12 * 1024);
      const res = await get('/profile', [['authorization', `Bearer ${long}`]]);
      expectRejected(
        res,
        {
          status: 401,
          code: SecureApiErrorCode.TOKEN_INVALID,
          challenge: CHALLENGE.invalidToken,
          log: authFailure(TokenRejectionReason.TOO_LONG),
          secrets: [long],
        },
        capture,
      );
    });

    it(`a token of exactly ${MAX_TOKEN_LENGTH} characters is accepted, one more is too_long`, async () => {
      const exact = mintOfLength(issuer, MAX_TOKEN_LENGTH);
      const over = mintOfLength(issuer, MAX_TOKEN_LENGTH + 1);
      expect([exact.length, over.length]).toEqual([MAX_TOKEN_LENGTH, MAX_TOKEN_LENGTH + 1]);
      expectOk(await get('/profile', [['authorization', `Bearer ${exact}`]]));
      capture.clear();
      const res = await get('/profile', [['authorization', `Bearer ${over}`]]);
      expectRejected(
        res,
        {
          status: 401,
          code: SecureApiErrorCode.TOKEN_INVALID,
          challenge: CHALLENGE.invalidToken,
          log: authFailure(TokenRejectionReason.TOO_LONG),
          secrets: [over],
        },
        capture,
      );
    });
  });

  describe('public routes', () => {
    it.each<[string, () => ReadonlyArray<readonly [string, string]>]>([
      ['no header', () => []],
      ['a garbage bearer value', () => [['authorization', 'Bearer not-a-jwt']]],
      ['a malformed value', () => [['authorization', 'Bearer a b "c"']]],
      ['another scheme', () => [['authorization', 'Basic dXNlcjpwYXNz']]],
      ['a forged JWT', () => [['authorization', `Bearer ${token.slice(0, -8)}AAAAAAAA`]]],
      ['an expired token', () => [['authorization', `Bearer ${issuer.mint({ expired: true })}`]]],
    ])('GET /public with %s is 200: the token is never looked at', async (_case, headers) => {
      const res = await get('/public', headers());
      expect(expectOk(res)).toEqual({ ok: true });
      expect(capture.find('Bearer authentication failed')).toEqual([]);
    });
  });
});

/**
 * Mints a valid token of exactly `length` characters by padding a claim. One more byte of
 * payload adds one or two base64url characters, so the subject is lengthened too when a pad
 * length jumps over the target.
 */
function mintOfLength(issuer: LocalIssuer, length: number): string {
  const mintWith = (pad: number, extra: number): string =>
    issuer.mint({
      scope: 'profile.read',
      subject: `user-${'0'.repeat(extra)}`,
      claims: { pad: 'x'.repeat(pad), jti: 'fixed-jti-for-a-stable-length' },
    });
  const base = mintWith(0, 0).length;
  const start = Math.max(0, Math.floor(((length - base) * 3) / 4) - 8);
  for (let pad = start; pad < start + 64; pad += 1) {
    for (let extra = 0; extra < 3; extra += 1) {
      const candidate = mintWith(pad, extra);
      if (candidate.length === length) return candidate;
    }
  }
  throw new Error(`mintOfLength: no token of ${length} characters found`);
}
