import {
  type AuthOptions,
  SecureApiErrorCode,
  TokenRejectionReason,
  type TlsOptions,
} from '@secure-api/nestjs';
import {
  ADAPTERS,
  bootApp,
  type BootedApp,
  createLocalIssuer,
  createLogCapture,
  httpRequest,
  type HttpResponse,
  type LocalIssuer,
  type TestCertificate,
  type TestPki,
} from '@secure-api/testing';
import { CHALLENGE, expectOk, expectRejected } from './fixtures/bearer-problem.fixture.js';
import { bootMtlsApp, PEERS, type PkiOnDisk, writeTestPki } from './fixtures/mtls-app.fixture.js';
import { ProfileFixture } from './fixtures/profile.fixture.js';

// Certificate-bound access tokens (RFC 8705 §3): a token whose cnf["x5t#S256"] names a client
// certificate is good only over a connection authenticated with that certificate.

describe.each(ADAPTERS)('certificate-bound tokens on %s', (adapter) => {
  let pki: TestPki;
  let disk: PkiOnDisk;
  let issuer: LocalIssuer;
  let files: Pick<TlsOptions, 'certFile' | 'keyFile' | 'caFile'>;
  let uploader: TestCertificate;
  let thumbnailer: TestCertificate;
  const capture = createLogCapture();

  const auth = (overrides: Partial<AuthOptions> = {}): AuthOptions => ({
    issuer: issuer.url,
    audience: issuer.audience,
    jwksUri: issuer.jwksUri,
    ...overrides,
  });

  const bound = (cert: TestCertificate, claims: Record<string, unknown> = {}): string =>
    issuer.mint({
      scope: 'profile.read',
      claims: { cnf: { 'x5t#S256': cert.thumbprint }, ...claims },
    });

  const call = (
    app: BootedApp,
    token: string,
    client: TestCertificate | undefined,
  ): Promise<HttpResponse> =>
    httpRequest(`${app.url}/profile`, {
      headers: { authorization: `Bearer ${token}` },
      ...(app.url.startsWith('https:')
        ? {
            tls: {
              ca: pki.ca.cert,
              ...(client === undefined ? {} : { cert: client.cert, key: client.key }),
            },
          }
        : {}),
    });

  /** A 401 invalid_token with the generic challenge, and the binding's reason in the log only. */
  const expectBindingRefused = (
    response: HttpResponse,
    token: string,
    reason: TokenRejectionReason,
  ): void => {
    expectRejected(
      response,
      {
        status: 401,
        code: SecureApiErrorCode.TOKEN_INVALID,
        challenge: CHALLENGE.invalidToken,
        secrets: [token],
      },
      capture,
    );
    expect(response.text).not.toContain(reason);
    expect(capture.entries).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        message: `Certificate-bound token refused: ${reason}`,
        fields: { event: 'mtls.rejected', reason },
      }),
    );
  };

  beforeAll(async () => {
    disk = await writeTestPki();
    ({ pki, files } = disk);
    [uploader, thumbnailer] = await Promise.all([
      pki.client(PEERS.uploader),
      pki.client(PEERS.thumbnailer),
    ]);
    issuer = await createLocalIssuer();
  });

  afterAll(async () => {
    await issuer?.close();
    await disk?.remove();
  });

  beforeEach(() => capture.clear());

  describe('over mutual TLS', () => {
    let app: BootedApp;
    beforeAll(async () => {
      app = await bootMtlsApp(adapter, { auth: auth(), tls: { ...files } }, capture);
    });
    afterAll(() => app?.close());

    it('accepts a bound token over the certificate it names', async () => {
      const body = expectOk<{ peer: { thumbprint: string } }>(
        await call(app, bound(uploader), uploader),
      );
      expect(body.peer.thumbprint).toBe(uploader.thumbprint);
    });

    it('refuses it over another valid certificate: a stolen token is useless', async () => {
      const token = bound(uploader);
      expectBindingRefused(
        await call(app, token, thumbnailer),
        token,
        TokenRejectionReason.CERTIFICATE_MISMATCH,
      );
    });

    it('checks the binding on every request, also when the token is cached', async () => {
      const token = bound(uploader);
      expectOk(await call(app, token, uploader));
      capture.clear();
      expectBindingRefused(
        await call(app, token, thumbnailer),
        token,
        TokenRejectionReason.CERTIFICATE_MISMATCH,
      );
      expectOk(await call(app, token, uploader));
    });

    it('accepts an unbound token by default', async () => {
      expectOk(await call(app, issuer.mint({ scope: 'profile.read' }), thumbnailer));
    });

    it.each<[string, unknown]>([
      ['a DPoP key binding (jkt), which the module cannot check', { jkt: 'bm90LWNoZWNrZWQ' }],
      ['an empty cnf', {}],
      ['cnf as a string', 'x5t'],
      ['cnf as an array', ['x5t#S256']],
      ['x5t#S256 as a number', { 'x5t#S256': 42 }],
      ['an empty x5t#S256', { 'x5t#S256': '' }],
    ])('refuses a token with %s', async (_case, cnf) => {
      const token = issuer.mint({ scope: 'profile.read', claims: { cnf } });
      expectBindingRefused(
        await call(app, token, uploader),
        token,
        TokenRejectionReason.CONFIRMATION_UNSUPPORTED,
      );
    });

    it("refuses the right certificate's thumbprint in hex or padded base64", async () => {
      const hex = Buffer.from(uploader.thumbprint, 'base64url').toString('hex');
      const padded = Buffer.from(uploader.thumbprint, 'base64url').toString('base64');
      for (const thumbprint of [hex, padded]) {
        const token = issuer.mint({
          scope: 'profile.read',
          claims: { cnf: { 'x5t#S256': thumbprint } },
        });
        expectBindingRefused(
          await call(app, token, uploader),
          token,
          TokenRejectionReason.CERTIFICATE_MISMATCH,
        );
      }
    });
  });

  describe('with auth.requireCertificateBoundTokens', () => {
    let app: BootedApp;
    beforeAll(async () => {
      app = await bootMtlsApp(
        adapter,
        { auth: auth({ requireCertificateBoundTokens: true }), tls: { ...files } },
        capture,
      );
    });
    afterAll(() => app?.close());

    it('refuses a token without cnf', async () => {
      const token = issuer.mint({ scope: 'profile.read' });
      expectBindingRefused(
        await call(app, token, uploader),
        token,
        TokenRejectionReason.CERTIFICATE_BINDING_MISSING,
      );
    });

    it('accepts a token bound to the connection', async () => {
      expectOk(await call(app, bound(thumbnailer), thumbnailer));
    });
  });

  describe("with clientCertificate 'optional'", () => {
    let app: BootedApp;
    beforeAll(async () => {
      app = await bootMtlsApp(
        adapter,
        { auth: auth(), tls: { ...files, clientCertificate: 'optional' } },
        capture,
      );
    });
    afterAll(() => app?.close());

    it('refuses a bound token from a client that sent no certificate', async () => {
      const token = bound(uploader);
      expectBindingRefused(
        await call(app, token, undefined),
        token,
        TokenRejectionReason.CERTIFICATE_MISMATCH,
      );
    });
  });

  describe('over plain HTTP', () => {
    let app: BootedApp;
    beforeAll(async () => {
      app = await bootApp(ProfileFixture.with({ auth: auth(), logging: false }), {
        adapter,
        logger: capture,
      });
    });
    afterAll(() => app?.close());

    it('refuses a bound token: there is no certificate to match', async () => {
      const token = bound(uploader);
      expectBindingRefused(
        await call(app, token, undefined),
        token,
        TokenRejectionReason.CERTIFICATE_MISMATCH,
      );
    });
  });
});
