import { type DynamicModule, type INestApplication } from '@nestjs/common';
import {
  type RouteAuditMode,
  SecureApiError,
  SecureApiErrorCode,
  type SecureApiModuleOptions,
} from '@secure-api/nestjs';
import {
  ADAPTERS,
  type BootedApp,
  bootApp,
  createLocalIssuer,
  createLogCapture,
  httpRequest,
  type HttpResponse,
  type LocalIssuer,
  type LogCapture,
} from '@secure-api/testing';
import { AuditCleanFixture } from './fixtures/audit-clean.fixture.js';
import { AuditConflictFixture } from './fixtures/audit-conflict.fixture.js';
import { AUDIT_REPORTS_SCOPE, AuditReportsFixture } from './fixtures/audit-reports.fixture.js';

const LIST = 'GET /reports -> ReportsController.list';
const UPDATE = 'POST /reports/:id -> ReportsController.update';
const SUMMARY = 'GET /reports/summary -> ReportsController.summary';

function expectRouteNotDeclared(res: HttpResponse, token: string): void {
  expect(res.status).toBe(403);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json\b/);
  expect(res.json()).toMatchObject({ status: 403, code: SecureApiErrorCode.ROUTE_NOT_DECLARED });
  // Nothing a new token could fix: no challenge to send one.
  expect(res.headers['www-authenticate']).toBeUndefined();
  expect(res.text).not.toContain(token);
  expect(res.text).not.toMatch(/\bat .+:\d+:\d+/);
}

/** The route-audit lines (the list of offenders), whatever the level. */
function auditReports(capture: LogCapture): string[] {
  return capture
    .find('must declare either @Scopes() or @Public(), and not both')
    .map((entry) => entry.message);
}

describe.each(ADAPTERS)('route audit on %s', (adapter) => {
  let issuer: LocalIssuer;
  let booted: BootedApp | undefined;
  let capture: LogCapture;

  const options = (routeAudit?: RouteAuditMode): SecureApiModuleOptions => ({
    auth: { issuer: issuer.url, audience: issuer.audience, jwksUri: issuer.jwksUri },
    ...(routeAudit === undefined ? {} : { routeAudit }),
  });

  const boot = async (
    module: DynamicModule,
    configure?: (app: INestApplication) => void,
  ): Promise<BootedApp> => {
    booted = await bootApp(module, { adapter, logger: capture, configure });
    return booted;
  };

  /** The error the boot fails with; fails the test when the boot succeeds. */
  const bootFailure = async (
    module: DynamicModule,
    configure?: (app: INestApplication) => void,
  ): Promise<SecureApiError> => {
    const error: unknown = await boot(module, configure).then(
      () => new Error('expected the boot to fail'),
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(SecureApiError);
    return error as SecureApiError;
  };

  beforeEach(async () => {
    capture = createLogCapture();
    issuer = await createLocalIssuer();
  });

  afterEach(async () => {
    await booted?.close();
    booted = undefined;
    await issuer.close();
  });

  describe("routeAudit: 'error' (the default)", () => {
    it('fails the boot with one message listing every undeclared route', async () => {
      const error = await bootFailure(AuditReportsFixture.with(options()));

      expect(error.code).toBe(SecureApiErrorCode.ROUTE_NOT_DECLARED);
      expect(error.message).toContain('SecureApiModule: 2 route(s)');
      expect(error.message).toContain(`\n  ${LIST}\n`);
      expect(error.message).toContain(`\n  ${UPDATE}\n`);
      expect(error.message).not.toContain(SUMMARY);
      expect(error.message).toContain('@Scopes(');
      expect(error.message).toContain('@Public()');
      expect(error.message).toContain('Potential solutions:');
      // Nothing was fetched: the audit fails before the key store's bootstrap.
      expect(issuer.jwksRequests).toBe(0);
    });

    it('lists the routes under the global prefix', async () => {
      const error = await bootFailure(AuditReportsFixture.with(options()), (app) =>
        app.setGlobalPrefix('api'),
      );

      expect(error.code).toBe(SecureApiErrorCode.ROUTE_NOT_DECLARED);
      expect(error.message).toContain('\n  GET /api/reports -> ReportsController.list\n');
      expect(error.message).toContain('\n  POST /api/reports/:id -> ReportsController.update\n');
      expect(error.message).not.toContain(`  ${LIST}`);
    });

    it('reports a route with both @Public() and @Scopes() as a conflict', async () => {
      const error = await bootFailure(AuditConflictFixture.with(options()));

      expect(error.code).toBe(SecureApiErrorCode.ROUTE_NOT_DECLARED);
      expect(error.message).toContain(
        '\n  GET /conflict -> ConflictController.both (declares both @Public() and @Scopes())\n',
      );
      expect(error.message).toContain(
        '\n  GET /mixed -> MixedController.scoped (declares both @Public() and @Scopes())\n',
      );
    });
  });

  describe("routeAudit: 'warn'", () => {
    it('boots, logs the offenders once as a warning, and refuses them with 403', async () => {
      const { url } = await boot(AuditReportsFixture.with(options('warn')));

      const warnings = capture
        .find('must declare either @Scopes() or @Public(), and not both')
        .filter((entry) => entry.level === 'warn');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]?.message).toContain(`\n  ${LIST}\n`);
      expect(warnings[0]?.message).toContain(`\n  ${UPDATE}\n`);
      expect(warnings[0]?.context).toBe('SecureApi');

      const token = issuer.mint({ scope: AUDIT_REPORTS_SCOPE });
      const headers = { authorization: `Bearer ${token}` };
      expectRouteNotDeclared(await httpRequest(`${url}/reports`, { headers }), token);
      expectRouteNotDeclared(
        await httpRequest(`${url}/reports/7`, { method: 'POST', headers }),
        token,
      );
      const declared = await httpRequest(`${url}/reports/summary`, { headers });
      expect(declared.status).toBe(200);
      expect(capture.text()).not.toContain(token);
    });
  });

  describe("routeAudit: 'off'", () => {
    it('boots without a warning, and still refuses the undeclared routes at run time', async () => {
      const { url } = await boot(AuditReportsFixture.with(options('off')));

      expect(auditReports(capture)).toEqual([]);
      expect(capture.entries.filter((entry) => entry.level === 'warn')).toEqual([]);
      expect(capture.entries.filter((entry) => entry.level === 'error')).toEqual([]);

      const token = issuer.mint({ scope: AUDIT_REPORTS_SCOPE });
      const res = await httpRequest(`${url}/reports`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expectRouteNotDeclared(res, token);
    });
  });

  describe('a fully declared app', () => {
    it("boots and logs each route's requirement once, at debug level", async () => {
      await boot(AuditCleanFixture.with(options()));

      const expected = [
        'GET /profile -> AuditProfileController.read: bearer token with scopes [profile.read]',
        'PUT /profile -> AuditProfileController.write: bearer token with scopes [profile.read profile.write]',
        'GET /health -> AuditMiscController.health: public',
        'GET /me -> AuditMiscController.me: any valid bearer token',
      ];
      for (const line of expected) {
        const entries = capture.entries.filter((entry) => entry.message === line);
        expect(entries).toEqual([
          expect.objectContaining({ level: 'debug', context: 'SecureApi' }),
        ]);
      }
      const routeLines = capture.entries.filter((entry) =>
        / -> Audit\w+\.\w+: /.test(entry.message),
      );
      expect(routeLines).toHaveLength(expected.length);
      expect(auditReports(capture)).toEqual([]);
      expect(capture.entries.filter((entry) => entry.level === 'warn')).toEqual([]);
    });
  });
});
