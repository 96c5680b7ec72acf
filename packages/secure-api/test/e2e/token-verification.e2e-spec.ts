import {
  type AuthOptions,
  type Principal,
  SecureApiErrorCode,
  TokenRejectionReason,
} from '@secure-api/nestjs';
import {
  fakeDateOnly,
  ADAPTERS,
  type BootedApp,
  bootApp,
  type CapturedLog,
  createLocalIssuer,
  createLogCapture,
  httpRequest,
  type IssuerKey,
  type LocalIssuer,
  type MintOptions,
} from '@secure-api/testing';
import {
  authFailure,
  CHALLENGE,
  type ExpectedRejection,
  expectOk,
  expectRejected,
} from './fixtures/bearer-problem.fixture.js';
import { ProfileFixture } from './fixtures/profile.fixture.js';

// What the verifier must refuse once a well-formed bearer token reached it: the signature, the
// header (RFC 7515, RFC 8725), the key selection and the claims (RFC 7519, RFC 9068).

const TOLERANCE_SECONDS = 30;

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

const encode = (value: unknown): string =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8').toString(
    'base64url',
  );

function segmentsOf(token: string): [string, string, string] {
  const parts = token.split('.');
  expect(parts).toHaveLength(3);
  return parts as [string, string, string];
}

function decodeSegment(segment: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** The token with its payload changed and the original header and signature kept. */
function withPayload(
  token: string,
  change: (payload: Record<string, unknown>) => Record<string, unknown>,
): string {
  const [header, payload, signature] = segmentsOf(token);
  return `${header}.${encode(change(decodeSegment(payload)))}.${signature}`;
}

/** The token with another header and the original payload and signature kept. */
function withHeader(token: string, header: unknown): string {
  const [, payload, signature] = segmentsOf(token);
  return `${encode(header)}.${payload}.${signature}`;
}

/** The token with one byte of its signature inverted. */
function withFlippedSignatureByte(token: string, where: 'first' | 'middle' | 'last'): string {
  const [header, payload, signature] = segmentsOf(token);
  const bytes = Buffer.from(signature, 'base64url');
  const index = where === 'first' ? 0 : where === 'middle' ? bytes.length >> 1 : bytes.length - 1;
  bytes[index] = (bytes[index] ?? 0) ^ 0xff;
  return `${header}.${payload}.${bytes.toString('base64url')}`;
}

const invalid = (reason: TokenRejectionReason, token: string): ExpectedRejection => ({
  status: 401,
  code: SecureApiErrorCode.TOKEN_INVALID,
  challenge: CHALLENGE.invalidToken,
  log: authFailure(reason),
  secrets: [token],
});

interface Attack {
  readonly name: string;
  readonly token: () => string;
  readonly reason: TokenRejectionReason;
  /** Request made with the token. @default GET /profile */
  readonly method?: 'GET' | 'PUT';
}

describe.each(ADAPTERS)('token verification on %s', (adapter) => {
  // One capture for every app of this block: Nest's Logger is process-wide, so the apps booted
  // here all write to the logger of the last one created.
  const capture = createLogCapture();
  let issuer: LocalIssuer;
  let attacker: LocalIssuer;
  let weakKey: IssuerKey;
  let rs384Key: IssuerKey;
  let bootLog: readonly CapturedLog[];
  let app: BootedApp;
  let rsOnlyApp: BootedApp;
  let typedApp: BootedApp;
  let agedApp: BootedApp;

  const auth = (overrides: Partial<AuthOptions> = {}): AuthOptions => ({
    issuer: issuer.url,
    audience: issuer.audience,
    jwksUri: issuer.jwksUri,
    ...overrides,
  });

  const boot = (overrides?: Partial<AuthOptions>): Promise<BootedApp> =>
    bootApp(ProfileFixture.with({ auth: auth(overrides) }), { adapter, logger: capture });

  const call = (target: BootedApp, token: string, method = 'GET', path = '/profile') =>
    httpRequest(`${target.url}${path}`, { method, headers: { authorization: `Bearer ${token}` } });

  /** A valid token for GET /profile, with the given changes. */
  const mint = (options: MintOptions = {}): string =>
    issuer.mint({ scope: 'profile.read', ...options });

  /** A valid payload for hand-built tokens. */
  const payload = (): Record<string, unknown> => ({
    iss: issuer.url,
    aud: issuer.audience,
    sub: 'user-123',
    scope: 'profile.read',
    iat: nowSeconds(),
    exp: nowSeconds() + 300,
  });

  async function expectRefused(
    attack: Pick<Attack, 'token' | 'reason' | 'method'>,
    target: BootedApp = app,
  ): Promise<void> {
    const token = attack.token();
    const res = await call(target, token, attack.method);
    expectRejected(res, invalid(attack.reason, token), capture);
  }

  beforeAll(async () => {
    issuer = await createLocalIssuer();
    attacker = await createLocalIssuer();
    // Published before the apps boot, so that their first fetch sees (and must refuse) them.
    weakKey = issuer.createKey('RS256', { modulusLength: 1024, publish: true, kid: 'weak-1024' });
    rs384Key = issuer.createKey('RS384', { publish: true, kid: 'rs384' });
    issuer.publishRawJwk({ kty: 'oct', kid: 'shared-secret', k: encode('correct horse battery') });
    app = await boot();
    rsOnlyApp = await boot({ algorithms: ['RS256'] });
    typedApp = await boot({ requireTokenType: 'at+jwt' });
    agedApp = await boot({ maxTokenAgeSeconds: 60 });
    bootLog = capture.entries;
  });

  afterAll(async () => {
    await Promise.all([app, rsOnlyApp, typedApp, agedApp].map((booted) => booted?.close()));
    await Promise.all([issuer?.close(), attacker?.close()]);
  });

  beforeEach(() => {
    capture.clear();
    attacker.resetCounts();
  });

  describe('valid tokens', () => {
    it.each(['RS256', 'PS256', 'ES256'] as const)('accepts a token signed with %s', async (alg) => {
      const body = expectOk<Principal>(await call(app, mint({ alg })));
      expect(body.issuer).toBe(issuer.url);
    });

    it('hands the handler a principal with exactly what the token said', async () => {
      const exp = nowSeconds() + 240;
      const token = issuer.mint({
        subject: 'alice',
        scope: ['profile.read', 'extra.scope'],
        claims: {
          client_id: 'client-42',
          aud: [issuer.audience, 'https://other.test'],
          jti: 'token-id-1',
          exp,
        },
      });
      expect(expectOk<Principal>(await call(app, token))).toEqual({
        subject: 'alice',
        clientId: 'client-42',
        scopes: ['profile.read', 'extra.scope'],
        issuer: issuer.url,
        audience: [issuer.audience, 'https://other.test'],
        tokenId: 'token-id-1',
        expiresAt: exp,
        claims: expect.objectContaining({ sub: 'alice', client_id: 'client-42', exp }),
        authMethod: 'bearer',
      });
    });

    it('takes the client id from azp when client_id is absent', async () => {
      const token = mint({ claims: { client_id: undefined, azp: 'spa-client', sub: undefined } });
      const body = expectOk<Principal>(await call(app, token));
      expect(body.clientId).toBe('spa-client');
      expect(body.subject).toBeUndefined();
    });
  });

  describe('unsigned tokens (alg "none")', () => {
    // An empty third segment is the unsecured-JWS form; the compact-JWS decoder refuses it
    // before the header is looked at, so the reason is "malformed" for every casing.
    it.each(['none', 'None', 'NONE', 'nOnE'])(
      'alg "%s" with an empty signature is 401 malformed',
      async (alg) => {
        await expectRefused({
          token: () => issuer.signRaw({ alg, typ: 'JWT' }, payload()),
          reason: TokenRejectionReason.MALFORMED,
        });
      },
    );

    it('alg "none" naming a published kid is 401 malformed', async () => {
      await expectRefused({
        token: () => issuer.signRaw({ alg: 'none', kid: issuer.key('RS256').kid }, payload()),
        reason: TokenRejectionReason.MALFORMED,
      });
    });

    it.each(['none', 'nOnE'])(
      'alg "%s" over a real signature is 401 alg_not_allowed',
      async (alg) => {
        await expectRefused({
          token: () => withHeader(mint(), { alg, typ: 'JWT', kid: issuer.key('RS256').kid }),
          reason: TokenRejectionReason.ALG_NOT_ALLOWED,
        });
      },
    );
  });

  describe('key confusion (HMAC with public key material as the secret)', () => {
    const pem = (key: IssuerKey): string =>
      key.publicKey.export({ type: 'spki', format: 'pem' }).toString();

    it.each<Attack>([
      {
        name: 'HS256 keyed with the RS256 public key PEM',
        token: () => issuer.mint({ alg: 'HS256', key: issuer.key('RS256'), scope: 'profile.read' }),
        reason: TokenRejectionReason.ALG_NOT_ALLOWED,
      },
      {
        name: 'HS256 keyed with the ES256 public key PEM',
        token: () => issuer.mint({ alg: 'HS256', key: issuer.key('ES256'), scope: 'profile.read' }),
        reason: TokenRejectionReason.ALG_NOT_ALLOWED,
      },
      {
        name: 'HS256 keyed with the RS256 PEM, without a kid',
        token: () =>
          issuer.signRaw({ alg: 'HS256', typ: 'JWT' }, payload(), {
            hmacSecret: pem(issuer.key('RS256')),
          }),
        reason: TokenRejectionReason.ALG_NOT_ALLOWED,
      },
      {
        name: 'HS384 keyed with the RS256 public key PEM',
        token: () =>
          issuer.signRaw(
            { alg: 'HS384', kid: issuer.key('RS256').kid },
            payload(),
            issuer.key('RS256'),
          ),
        reason: TokenRejectionReason.ALG_NOT_ALLOWED,
      },
      {
        name: 'HS512 keyed with the RS256 public JWK JSON',
        token: () =>
          issuer.signRaw({ alg: 'HS512', kid: issuer.key('RS256').kid }, payload(), {
            hmacSecret: JSON.stringify(issuer.key('RS256').publicJwk),
          }),
        reason: TokenRejectionReason.ALG_NOT_ALLOWED,
      },
    ])('$name is 401 $reason', async (attack) => {
      await expectRefused(attack);
    });
  });

  describe('signature integrity', () => {
    it.each<Attack>([
      {
        name: 'a stripped signature (header.payload.)',
        token: () => `${segmentsOf(mint()).slice(0, 2).join('.')}.`,
        reason: TokenRejectionReason.MALFORMED,
      },
      {
        name: 'a payload whose scope was widened',
        token: () =>
          withPayload(mint(), (claims) => ({ ...claims, scope: 'profile.read profile.write' })),
        reason: TokenRejectionReason.SIGNATURE_INVALID,
        method: 'PUT',
      },
      {
        name: 'a payload whose subject was changed',
        token: () => withPayload(mint(), (claims) => ({ ...claims, sub: 'admin' })),
        reason: TokenRejectionReason.SIGNATURE_INVALID,
      },
      {
        name: 'an expired token whose exp was pushed forward',
        token: () =>
          withPayload(mint({ expired: true }), (claims) => ({
            ...claims,
            exp: nowSeconds() + 3600,
          })),
        reason: TokenRejectionReason.SIGNATURE_INVALID,
      },
      {
        name: 'a header changed under the signature',
        token: () =>
          withHeader(mint(), { alg: 'RS256', typ: 'at+jwt', kid: issuer.key('RS256').kid }),
        reason: TokenRejectionReason.SIGNATURE_INVALID,
      },
      {
        name: "another token's signature",
        token: () => {
          const [header, body] = segmentsOf(mint({ subject: 'victim' }));
          return `${header}.${body}.${segmentsOf(mint({ subject: 'attacker' }))[2]}`;
        },
        reason: TokenRejectionReason.SIGNATURE_INVALID,
      },
      {
        name: 'a truncated RS256 signature',
        token: () => mint().slice(0, -6),
        reason: TokenRejectionReason.SIGNATURE_INVALID,
      },
      ...(['RS256', 'PS256', 'ES256'] as const).flatMap((alg) =>
        (['first', 'middle', 'last'] as const).map((where): Attack => ({
          name: `${alg} with its ${where} signature byte flipped`,
          token: () => withFlippedSignatureByte(mint({ alg }), where),
          reason: TokenRejectionReason.SIGNATURE_INVALID,
        })),
      ),
    ])('$name is 401 $reason', async (attack) => {
      await expectRefused(attack);
    });
  });

  describe('key selection: only the issuer JWKS, only by kid', () => {
    it.each<Attack>([
      {
        name: 'an unknown kid',
        token: () => mint({ header: { kid: 'no-such-key' } }),
        reason: TokenRejectionReason.KEY_NOT_FOUND,
      },
      {
        name: "an embedded jwk with the attacker's key and kid",
        token: () => {
          const own = attacker.key('RS256');
          return mint({ key: own, header: { jwk: own.publicJwk } });
        },
        reason: TokenRejectionReason.KEY_NOT_FOUND,
      },
      {
        // Without a kid the issuer's one RS256 key is used, and the forged signature fails.
        name: "an embedded jwk with the attacker's key and no kid",
        token: () => {
          const own = attacker.key('RS256');
          return mint({ key: own, header: { kid: undefined, jwk: own.publicJwk } });
        },
        reason: TokenRejectionReason.SIGNATURE_INVALID,
      },
      {
        name: 'an EC jwk embedded by the attacker, no kid',
        token: () => {
          const own = attacker.key('ES256');
          return mint({ alg: 'ES256', key: own, header: { kid: undefined, jwk: own.publicJwk } });
        },
        reason: TokenRejectionReason.SIGNATURE_INVALID,
      },
      {
        name: 'a key published with a 1024-bit modulus (refused by the key store)',
        token: () => mint({ key: weakKey }),
        reason: TokenRejectionReason.KEY_NOT_FOUND,
      },
      {
        name: 'a kid naming a symmetric (oct) key of the set',
        token: () => mint({ header: { kid: 'shared-secret' } }),
        reason: TokenRejectionReason.KEY_NOT_FOUND,
      },
      {
        name: 'a kid naming the EC key with alg RS256',
        token: () => mint({ alg: 'RS256', header: { kid: issuer.key('ES256').kid } }),
        reason: TokenRejectionReason.KEY_ALG_MISMATCH,
      },
      {
        name: 'a kid naming the RS256 key with alg PS256',
        token: () => mint({ alg: 'PS256', key: issuer.key('RS256') }),
        reason: TokenRejectionReason.KEY_ALG_MISMATCH,
      },
      {
        name: 'a kid naming the PS256 key with alg RS256',
        token: () => mint({ alg: 'RS256', key: issuer.key('PS256') }),
        reason: TokenRejectionReason.KEY_ALG_MISMATCH,
      },
      {
        name: 'a numeric kid',
        token: () => mint({ header: { kid: 42 } }),
        reason: TokenRejectionReason.HEADER_INVALID,
      },
      {
        name: 'an empty kid',
        token: () => mint({ header: { kid: '' } }),
        reason: TokenRejectionReason.HEADER_INVALID,
      },
    ])('$name is 401 $reason', async (attack) => {
      await expectRefused(attack);
    });

    it('the 1024-bit key was seen in the JWKS and refused at import', () => {
      expect(bootLog).toContainEqual(
        expect.objectContaining({
          level: 'warn',
          message: expect.stringMatching(
            new RegExp(
              `^JWKS ${issuer.jwksUri}: key \\d+ ignored: RSA key of 1024 bits is too small$`,
            ),
          ),
        }),
      );
    });

    it.each([
      ['jku', () => attacker.jwksUri],
      ['x5u', () => `${attacker.url}/cert.pem`],
    ])(
      'a %s header pointing at the attacker is 401 and the attacker is never contacted',
      async (member, url) => {
        await expectRefused({
          token: () => mint({ key: attacker.key('RS256'), header: { [member]: url() } }),
          reason: TokenRejectionReason.KEY_NOT_FOUND,
        });
        expect([attacker.jwksRequests, attacker.discoveryRequests]).toEqual([0, 0]);
      },
    );

    it('a jku to an attacker JWKS that republishes the real kid is 401: the real key verifies', async () => {
      const realKid = issuer.key('RS256').kid;
      const impostor = attacker.createKey('RS256', { kid: realKid, publish: true });
      await expectRefused({
        token: () => mint({ key: impostor, header: { jku: attacker.jwksUri, kid: realKid } }),
        reason: TokenRejectionReason.SIGNATURE_INVALID,
      });
      expect([attacker.jwksRequests, attacker.discoveryRequests]).toEqual([0, 0]);
    });

    it("a token from the attacker's own issuer is 401 iss_invalid and the attacker is never contacted", async () => {
      await expectRefused({
        token: () => attacker.mint({ scope: 'profile.read', claims: { aud: issuer.audience } }),
        reason: TokenRejectionReason.ISSUER_INVALID,
      });
      expect([attacker.jwksRequests, attacker.discoveryRequests]).toEqual([0, 0]);
    });
  });

  describe('critical header parameters (RFC 7515 §4.1.11)', () => {
    it.each<[string, Record<string, unknown>]>([
      ["crit: ['exp']", { crit: ['exp'], exp: nowSeconds() + 300 }],
      ["crit: ['b64'] with b64: false", { crit: ['b64'], b64: false }],
      ['crit: [] (empty)', { crit: [] }],
    ])('%s on an otherwise valid token is 401 crit_unsupported', async (_case, header) => {
      await expectRefused({
        token: () => mint({ header }),
        reason: TokenRejectionReason.CRIT_UNSUPPORTED,
      });
    });
  });

  describe('algorithm allowlist', () => {
    it.each<Attack>([
      {
        name: 'RS384 (supported, but not in the default allowlist)',
        token: () => mint({ key: rs384Key }),
        reason: TokenRejectionReason.ALG_NOT_ALLOWED,
      },
      {
        name: 'alg "rs256" in lower case (names are case-sensitive)',
        token: () => withHeader(mint(), { alg: 'rs256', typ: 'JWT', kid: issuer.key('RS256').kid }),
        reason: TokenRejectionReason.ALG_NOT_ALLOWED,
      },
      {
        name: 'no alg',
        token: () => withHeader(mint(), { typ: 'JWT', kid: issuer.key('RS256').kid }),
        reason: TokenRejectionReason.ALG_NOT_ALLOWED,
      },
      {
        name: 'a non-string alg',
        token: () => withHeader(mint(), { alg: ['RS256'], kid: issuer.key('RS256').kid }),
        reason: TokenRejectionReason.ALG_NOT_ALLOWED,
      },
    ])('$name is 401 $reason', async (attack) => {
      await expectRefused(attack);
    });

    describe("with algorithms: ['RS256']", () => {
      it.each(['ES256', 'PS256'] as const)(
        'a valid %s token is 401 alg_not_allowed',
        async (alg) => {
          await expectRefused(
            { token: () => mint({ alg }), reason: TokenRejectionReason.ALG_NOT_ALLOWED },
            rsOnlyApp,
          );
        },
      );

      it('a valid RS256 token is accepted', async () => {
        expectOk(await call(rsOnlyApp, mint({ alg: 'RS256' })));
      });
    });
  });

  describe('time claims', () => {
    it('an expired token is 401 TOKEN_EXPIRED with its own description', async () => {
      const token = mint({ expired: true });
      const res = await call(app, token);
      expectRejected(
        res,
        {
          status: 401,
          code: SecureApiErrorCode.TOKEN_EXPIRED,
          challenge: CHALLENGE.expired,
          log: authFailure(TokenRejectionReason.EXPIRED),
          secrets: [token],
        },
        capture,
      );
    });

    it.each<Attack>([
      {
        name: 'no exp',
        token: () => mint({ claims: { exp: undefined } }),
        reason: TokenRejectionReason.EXP_MISSING,
      },
      {
        name: 'exp as a string',
        token: () => mint({ claims: { exp: String(nowSeconds() + 300) } }),
        reason: TokenRejectionReason.CLAIMS_INVALID,
      },
      {
        name: 'exp null',
        token: () => mint({ claims: { exp: null } }),
        reason: TokenRejectionReason.CLAIMS_INVALID,
      },
      {
        name: 'exp true',
        token: () => mint({ claims: { exp: true } }),
        reason: TokenRejectionReason.CLAIMS_INVALID,
      },
      {
        name: 'nbf as a string',
        token: () => mint({ claims: { nbf: String(nowSeconds()) } }),
        reason: TokenRejectionReason.CLAIMS_INVALID,
      },
      {
        name: 'iat as a string',
        token: () => mint({ claims: { iat: String(nowSeconds()) } }),
        reason: TokenRejectionReason.CLAIMS_INVALID,
      },
      {
        name: 'nbf an hour ahead',
        token: () => mint({ notYetValid: true }),
        reason: TokenRejectionReason.NOT_YET_VALID,
      },
      {
        name: 'iat an hour ahead',
        token: () => mint({ claims: { iat: nowSeconds() + 3600 } }),
        reason: TokenRejectionReason.ISSUED_IN_FUTURE,
      },
    ])('$name is 401 $reason', async (attack) => {
      await expectRefused(attack);
    });

    it.each([
      ['nbf 10 s ahead', () => ({ nbf: nowSeconds() + 10 })],
      ['iat 10 s ahead', () => ({ iat: nowSeconds() + 10 })],
      ['exp 10 s ago', () => ({ exp: nowSeconds() - 10 })],
    ])('%s is within the 30 s clock tolerance and accepted', async (_case, claims) => {
      expectOk(await call(app, mint({ claims: claims() })));
    });

    describe('at the edges of the clock tolerance (Date faked)', () => {
      let now: number;

      beforeEach(() => {
        // Two minutes ahead of the real clock, past the tolerance: a verifier that read the
        // real clock would refuse the "accepted" rows (iat in the future), so they prove the
        // faked Date is the one in use.
        now = nowSeconds() + 120;
        jest.useFakeTimers(fakeDateOnly());
        jest.setSystemTime(now * 1000);
      });

      afterEach(() => {
        jest.useRealTimers();
      });

      it.each([
        ['exp', -(TOLERANCE_SECONDS - 1)],
        ['nbf', TOLERANCE_SECONDS],
        ['iat', TOLERANCE_SECONDS],
      ])('%s at now%+d s is accepted', async (claim, offset) => {
        expectOk(await call(app, mint({ claims: { [claim]: now + offset } })));
      });

      it.each<[string, number, TokenRejectionReason]>([
        ['nbf', TOLERANCE_SECONDS + 1, TokenRejectionReason.NOT_YET_VALID],
        ['iat', TOLERANCE_SECONDS + 1, TokenRejectionReason.ISSUED_IN_FUTURE],
      ])('%s at now%+d s is 401 %s', async (claim, offset, reason) => {
        await expectRefused({ token: () => mint({ claims: { [claim]: now + offset } }), reason });
      });

      it(`exp at now-${TOLERANCE_SECONDS} s is 401 TOKEN_EXPIRED`, async () => {
        const token = mint({ claims: { exp: now - TOLERANCE_SECONDS } });
        expectRejected(
          await call(app, token),
          {
            status: 401,
            code: SecureApiErrorCode.TOKEN_EXPIRED,
            challenge: CHALLENGE.expired,
            log: authFailure(TokenRejectionReason.EXPIRED),
            secrets: [token],
          },
          capture,
        );
      });
    });
  });

  describe('issuer', () => {
    it.each<[string, () => unknown]>([
      ['another issuer', () => 'https://evil.test'],
      ['the issuer with a trailing slash', () => `${issuer.url}/`],
      ['the issuer in upper case', () => issuer.url.toUpperCase()],
      ['the issuer with a path', () => `${issuer.url}/tenant`],
      ['no iss', () => undefined],
      ['iss as an array', () => [issuer.url]],
      ['iss as a number', () => 127001],
    ])('%s is 401 iss_invalid', async (_case, iss) => {
      await expectRefused({
        token: () => mint({ claims: { iss: iss() } }),
        reason: TokenRejectionReason.ISSUER_INVALID,
      });
    });
  });

  describe('audience', () => {
    it.each<[string, () => unknown]>([
      ['another audience', () => 'https://someone-else.test'],
      ['no aud', () => undefined],
      ['an array without this audience', () => ['https://a.test', 'https://b.test']],
      ['the audience with a trailing slash', () => `${issuer.audience}/`],
      ['the audience in upper case', () => issuer.audience.toUpperCase()],
      ['an empty aud', () => ''],
      ['an empty array', () => []],
    ])('%s is 401 aud_invalid', async (_case, aud) => {
      await expectRefused({
        token: () => mint({ claims: { aud: aud() } }),
        reason: TokenRejectionReason.AUDIENCE_INVALID,
      });
    });

    it('an aud array that contains the audience is accepted', async () => {
      const token = mint({ claims: { aud: ['https://other.test', issuer.audience] } });
      expect(expectOk<Principal>(await call(app, token)).audience).toEqual([
        'https://other.test',
        issuer.audience,
      ]);
    });
  });

  describe('malformed tokens', () => {
    const signature = (): string => segmentsOf(mint())[2];

    it.each<[string, () => string]>([
      ['garbage base64 (abc.def.ghi)', () => 'abc.def.ghi'],
      ['two segments', () => segmentsOf(mint()).slice(0, 2).join('.')],
      ['four segments', () => `${mint()}.${signature()}`],
      ['five segments (JWE shape)', () => 'eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d'],
      [
        'a header that is a JSON array',
        () => `${encode([{ alg: 'RS256' }])}.${encode(payload())}.${signature()}`,
      ],
      [
        'a header that is a JSON string',
        () => `${encode('"RS256"')}.${encode(payload())}.${signature()}`,
      ],
      ['a header that is null', () => `${encode('null')}.${encode(payload())}.${signature()}`],
      [
        'a payload that is a JSON array',
        () => `${segmentsOf(mint())[0]}.${encode([payload()])}.${signature()}`,
      ],
      [
        'a payload that is not JSON',
        () => `${segmentsOf(mint())[0]}.${encode('{"iss":')}.${signature()}`,
      ],
      ['an empty header segment', () => `.${encode(payload())}.${signature()}`],
      ['padding after the signature', () => `${mint()}=`],
      [
        'standard base64 characters in a segment',
        () => `${segmentsOf(mint())[0]}.ab+/cd.${signature()}`,
      ],
    ])('%s is 401 malformed', async (_case, token) => {
      await expectRefused({ token, reason: TokenRejectionReason.MALFORMED });
    });
  });

  describe("requireTokenType: 'at+jwt' (RFC 9068 §4)", () => {
    it.each(['at+jwt', 'application/at+jwt', 'AT+JWT', 'Application/AT+JWT'])(
      'typ %s is accepted',
      async (typ) => {
        expectOk(await call(typedApp, mint({ header: { typ } })));
      },
    );

    it.each<[string, unknown]>([
      ['JWT', 'JWT'],
      ['application/jwt', 'application/jwt'],
      ['at+jwt with a parameter', 'at+jwt; v=1'],
      ['a number', 9068],
      ['absent', undefined],
    ])('typ %s is 401 typ_mismatch', async (_case, typ) => {
      await expectRefused(
        { token: () => mint({ header: { typ } }), reason: TokenRejectionReason.TYPE_MISMATCH },
        typedApp,
      );
    });

    it('the default app accepts any typ', async () => {
      expectOk(await call(app, mint({ header: { typ: 'JWT' } })));
    });
  });

  describe('maxTokenAgeSeconds: 60', () => {
    it('a token issued an hour ago (exp still ahead) is 401 too_old', async () => {
      await expectRefused(
        {
          token: () => mint({ claims: { iat: nowSeconds() - 3600 } }),
          reason: TokenRejectionReason.TOO_OLD,
        },
        agedApp,
      );
    });

    it('a token without iat is 401 claims_invalid (the age cannot be known)', async () => {
      await expectRefused(
        {
          token: () => mint({ claims: { iat: undefined } }),
          reason: TokenRejectionReason.CLAIMS_INVALID,
        },
        agedApp,
      );
    });

    it('a token issued 30 s ago is accepted', async () => {
      expectOk(await call(agedApp, mint({ claims: { iat: nowSeconds() - 30 } })));
    });

    it('the default app has no age limit', async () => {
      expectOk(await call(app, mint({ claims: { iat: nowSeconds() - 3600 } })));
    });
  });
});
