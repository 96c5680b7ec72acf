import { type AuthOptions, SecureApiErrorCode, TokenRejectionReason } from '@secure-api/nestjs';
import {
  ADAPTERS,
  type BootedApp,
  bootApp,
  createLocalIssuer,
  createLogCapture,
  httpRequest,
  type LocalIssuer,
  type MintOptions,
} from '@secure-api/testing';
import {
  authFailure,
  CHALLENGE,
  type ExpectedRejection,
  expectOk,
  expectRejected,
  scopeFailure,
} from './fixtures/bearer-problem.fixture.js';
import { ProfileFixture } from './fixtures/profile.fixture.js';
import { ScopesFixture } from './fixtures/scopes-reports.fixture.js';
import { UndeclaredRoutesFixture } from './fixtures/scopes-undeclared.fixture.js';

// Authorization after a valid token: every scope of @Scopes() must be granted, by exact,
// case-sensitive match (RFC 6749 §3.3), and a route that declares nothing is denied.

const insufficient = (missing: string, token: string): ExpectedRejection => ({
  status: 403,
  code: SecureApiErrorCode.INSUFFICIENT_SCOPE,
  challenge: CHALLENGE.insufficientScope(missing),
  log: scopeFailure(missing),
  secrets: [token],
});

type Method = 'GET' | 'PUT';

describe.each(ADAPTERS)('scope authorization on %s', (adapter) => {
  // Nest's Logger is process-wide: every app of this block logs to the last one's logger.
  const capture = createLogCapture();
  let issuer: LocalIssuer;
  let app: BootedApp;
  let permissionsApp: BootedApp;
  let undeclaredApp: BootedApp;

  const auth = (overrides: Partial<AuthOptions> = {}): AuthOptions => ({
    issuer: issuer.url,
    audience: issuer.audience,
    jwksUri: issuer.jwksUri,
    ...overrides,
  });

  const call = (target: BootedApp, method: Method, path: string, token?: string) =>
    httpRequest(`${target.url}${path}`, {
      method,
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    });

  const mint = (options: MintOptions = {}): string => issuer.mint(options);

  beforeAll(async () => {
    issuer = await createLocalIssuer();
    app = await bootApp(ScopesFixture.with({ auth: auth() }), { adapter, logger: capture });
    permissionsApp = await bootApp(
      ProfileFixture.with({ auth: auth({ scopeClaims: ['permissions'] }) }),
      { adapter, logger: capture },
    );
    undeclaredApp = await bootApp(UndeclaredRoutesFixture.with(auth(), 'off'), {
      adapter,
      logger: capture,
    });
  });

  afterAll(async () => {
    await Promise.all([app, permissionsApp, undeclaredApp].map((booted) => booted?.close()));
    await issuer?.close();
  });

  beforeEach(() => capture.clear());

  describe('GET /profile (profile.read) and PUT /profile (profile.read profile.write)', () => {
    it('a profile.read token reads the profile', async () => {
      const body = expectOk<{ scopes: string[] }>(
        await call(app, 'GET', '/profile', mint({ scope: 'profile.read' })),
      );
      expect(body.scopes).toEqual(['profile.read']);
    });

    it('a profile.read token cannot write: 403 naming only profile.write', async () => {
      const token = mint({ scope: 'profile.read' });
      expectRejected(
        await call(app, 'PUT', '/profile', token),
        insufficient('profile.write', token),
        capture,
      );
    });

    it('a token with both scopes writes', async () => {
      expect(
        expectOk(await call(app, 'PUT', '/profile', mint({ scope: 'profile.write profile.read' }))),
      ).toEqual({ written: true });
    });

    it.each<[Method, string]>([
      ['GET', 'profile.read'],
      ['PUT', 'profile.read profile.write'],
    ])('%s with a token without scope is 403 naming %s', async (method, missing) => {
      const token = mint();
      expectRejected(
        await call(app, method, '/profile', token),
        insufficient(missing, token),
        capture,
      );
    });

    it.each<[string, () => Record<string, unknown>]>([
      ['scp as an array', () => ({ scp: ['profile.read', 'profile.write'] })],
      ['scp as a space-delimited string', () => ({ scp: 'profile.read profile.write' })],
      ['scope as an array', () => ({ scope: ['profile.write', 'profile.read'] })],
      ['scope and scp together', () => ({ scope: 'profile.read', scp: ['profile.write'] })],
      ['scope with repeated spaces', () => ({ scope: '  profile.read   profile.write ' })],
      ['scopes listed twice', () => ({ scope: 'profile.read profile.read profile.write' })],
    ])('%s grants both scopes', async (_case, claims) => {
      expectOk(await call(app, 'PUT', '/profile', mint({ claims: claims() })));
    });
  });

  describe('near misses never satisfy profile.read', () => {
    it.each<[string, Record<string, unknown>]>([
      ['xprofile.read', { scope: 'xprofile.read' }],
      ['profile.reads', { scope: 'profile.reads' }],
      ['PROFILE.READ', { scope: 'PROFILE.READ' }],
      ['Profile.Read', { scp: ['Profile.Read'] }],
      ['profile', { scope: 'profile' }],
      ['profile.*', { scope: 'profile.*' }],
      ['*', { scope: '*' }],
      ['profile.read.', { scope: 'profile.read.' }],
      ['profile:read', { scope: 'profile:read' }],
      ['comma-separated', { scope: 'profile.read,profile.write' }],
      ['tab-separated', { scope: 'profile.read\tprofile.write' }],
      ['one array item holding two scopes', { scp: ['profile.read profile.write'] }],
      ['a Unicode one-dot leader instead of "."', { scope: 'profile\u2024read' }],
      ['profile.read in an unconfigured claim', { permissions: ['profile.read'] }],
    ])('%s is 403', async (_case, claims) => {
      const token = mint({ claims });
      expectRejected(
        await call(app, 'GET', '/profile', token),
        insufficient('profile.read', token),
        capture,
      );
    });
  });

  describe('scope claims of the wrong type grant nothing (403, never 500)', () => {
    it.each<[string, Record<string, unknown>]>([
      ['scope as a number', { scope: 42 }],
      ['scope as a boolean', { scope: true }],
      ['scope as null', { scope: null }],
      ['scope as an object', { scope: { 'profile.read': true } }],
      ['scope as an array of non-strings', { scope: [1, null, {}, ['profile.read']] }],
      ['scp as an object with an array shape', { scp: { 0: 'profile.read', length: 1 } }],
      ['scp as a nested array', { scp: [['profile.read']] }],
      ['scope empty', { scope: '' }],
      ['scp empty', { scp: [] }],
    ])('%s is 403', async (_case, claims) => {
      const token = mint({ claims });
      const res = await call(app, 'GET', '/profile', token);
      expectRejected(res, insufficient('profile.read', token), capture);
      expect(capture.entries.filter((entry) => entry.level === 'error')).toEqual([]);
    });
  });

  describe('class-level and handler-level scopes add up', () => {
    it.each<{ path: string; label: string; granted: string }>([
      { path: '/reports', label: 'the class scope', granted: 'reports.read' },
      {
        path: '/reports/export',
        label: 'class and handler scopes',
        granted: 'reports.read reports.export',
      },
      { path: '/reports/summary', label: 'the class scope', granted: 'reports.read' },
    ])('GET $path with $label ($granted) is 200', async ({ path, granted }) => {
      expectOk(await call(app, 'GET', path, mint({ scope: granted })));
    });

    // `missing`: the scopes the 403 must name, class scopes first.
    it.each<{ path: string; label: string; granted: string; missing: string }>([
      {
        path: '/reports',
        label: "another route's handler scope",
        granted: 'reports.export',
        missing: 'reports.read',
      },
      {
        path: '/reports/export',
        label: 'the class scope only',
        granted: 'reports.read',
        missing: 'reports.export',
      },
      {
        path: '/reports/export',
        label: 'the handler scope only',
        granted: 'reports.export',
        missing: 'reports.read',
      },
      {
        path: '/reports/export',
        label: 'neither',
        granted: 'profile.read',
        missing: 'reports.read reports.export',
      },
      {
        path: '/reports/summary',
        label: 'no class scope (an empty handler @Scopes() adds nothing)',
        granted: 'profile.read',
        missing: 'reports.read',
      },
    ])('GET $path with $label ($granted) is 403 naming $missing', async (row) => {
      const token = mint({ scope: row.granted });
      expectRejected(
        await call(app, 'GET', row.path, token),
        insufficient(row.missing, token),
        capture,
      );
    });
  });

  describe('a handler declaration overrides the class one', () => {
    it('a @Public() handler of a @Scopes() controller needs no token', async () => {
      expectOk(await call(app, 'GET', '/reports/status'));
    });

    it('a @Public() controller is open, but its @Scopes() handler needs a token', async () => {
      expectOk(await call(app, 'GET', '/catalogue'));
      expectRejected(
        await call(app, 'GET', '/catalogue/admin'),
        {
          status: 401,
          code: SecureApiErrorCode.TOKEN_MISSING,
          challenge: CHALLENGE.missing,
          log: authFailure(TokenRejectionReason.MISSING),
          secrets: [],
        },
        capture,
      );
    });

    it('the @Scopes() handler of a @Public() controller needs only its own scope', async () => {
      expectOk(await call(app, 'GET', '/catalogue/admin', mint({ scope: 'catalogue.admin' })));
      const token = mint({ scope: 'reports.read' });
      expectRejected(
        await call(app, 'GET', '/catalogue/admin', token),
        insufficient('catalogue.admin', token),
        capture,
      );
    });
  });

  describe('@Scopes() with no scope: any valid token', () => {
    it.each<[string, MintOptions]>([
      ['no scope claim', {}],
      ['an unrelated scope', { scope: 'images.read' }],
      ['an empty scope', { claims: { scope: '' } }],
    ])('GET /me with %s is 200', async (_case, options) => {
      const body = expectOk<{ subject: string }>(
        await call(app, 'GET', '/me', mint({ ...options, subject: 'bob' })),
      );
      expect(body).toEqual({ subject: 'bob' });
    });

    it('GET /me without a token is 401', async () => {
      expectRejected(
        await call(app, 'GET', '/me'),
        {
          status: 401,
          code: SecureApiErrorCode.TOKEN_MISSING,
          challenge: CHALLENGE.missing,
          log: authFailure(TokenRejectionReason.MISSING),
        },
        capture,
      );
    });

    it('GET /me with an expired token is 401', async () => {
      const token = mint({ expired: true });
      expectRejected(
        await call(app, 'GET', '/me', token),
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

  describe("scopeClaims: ['permissions']", () => {
    it.each<[string, Method, Record<string, unknown>]>([
      ['an array', 'GET', { permissions: ['profile.read'] }],
      ['a space-delimited string', 'PUT', { permissions: 'profile.read profile.write' }],
    ])('permissions as %s grants its scopes', async (_case, method, claims) => {
      expectOk(await call(permissionsApp, method, '/profile', mint({ claims })));
    });

    it.each<[string, Record<string, unknown>]>([
      ['scope', { scope: 'profile.read' }],
      ['scp', { scp: ['profile.read'] }],
      ['permissions of the wrong type', { permissions: { 'profile.read': true } }],
    ])('%s no longer grants anything: 403', async (_case, claims) => {
      const token = mint({ claims });
      expectRejected(
        await call(permissionsApp, 'GET', '/profile', token),
        insufficient('profile.read', token),
        capture,
      );
    });
  });

  describe("routes with neither decorator (routeAudit: 'off')", () => {
    const everyScope = 'profile.read profile.write reports.read reports.export';

    it.each<[string, string]>([
      ['/undeclared', 'open'],
      ['/undeclared/conflict', 'both'],
    ])('GET %s with a valid token is 403 ROUTE_NOT_DECLARED', async (path, handler) => {
      const token = mint({ scope: everyScope });
      expectRejected(
        await call(undeclaredApp, 'GET', path, token),
        {
          status: 403,
          code: SecureApiErrorCode.ROUTE_NOT_DECLARED,
          challenge: null,
          log: new RegExp(`^Access denied: UndeclaredController\\.${handler} `),
          secrets: [token],
        },
        capture,
      );
    });

    it.each(['/undeclared', '/undeclared/conflict'])(
      'GET %s without a token is 401 (authentication comes first)',
      async (path) => {
        expectRejected(
          await call(undeclaredApp, 'GET', path),
          {
            status: 401,
            code: SecureApiErrorCode.TOKEN_MISSING,
            challenge: CHALLENGE.missing,
            log: authFailure(TokenRejectionReason.MISSING),
          },
          capture,
        );
      },
    );

    it('GET /undeclared with a forged token is 401 invalid_token', async () => {
      const token = `${mint({ scope: everyScope }).slice(0, -8)}AAAAAAAA`;
      expectRejected(
        await call(undeclaredApp, 'GET', '/undeclared', token),
        {
          status: 401,
          code: SecureApiErrorCode.TOKEN_INVALID,
          challenge: CHALLENGE.invalidToken,
          log: authFailure(TokenRejectionReason.SIGNATURE_INVALID),
          secrets: [token],
        },
        capture,
      );
    });

    it('the declared routes of the same app keep working', async () => {
      expectOk(await call(undeclaredApp, 'GET', '/profile', mint({ scope: 'profile.read' })));
    });
  });
});
