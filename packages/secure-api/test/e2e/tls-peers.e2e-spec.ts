import { createHash, X509Certificate } from 'node:crypto';
import { SecureApiErrorCode, type TlsOptions } from '@secure-api/nestjs';
import {
  ADAPTERS,
  type BootedApp,
  createLocalIssuer,
  createLogCapture,
  createTestPki,
  httpRequest,
  type HttpResponse,
  type LocalIssuer,
  type TestCertificate,
  type TestPki,
} from '@secure-api/testing';
import { expectNothingLeaked } from './fixtures/bearer-problem.fixture.js';
import { bootMtlsApp, PEERS, type PkiOnDisk, writeTestPki } from './fixtures/mtls-app.fixture.js';

// Peer identities over real mutual TLS: the verified client certificate becomes
// principal.peer, and tls.allowedPeers / @AllowPeers() decide who may call, before any token.

/** base64url SHA-256 of the DER certificate, computed here independently of the module. */
function thumbprintOf(pem: string): string {
  return createHash('sha256').update(new X509Certificate(pem).raw).digest('base64url');
}

function expectPeerRefused(response: HttpResponse, secrets: readonly string[] = []): void {
  expect(response.status).toBe(403);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = response.json<{ code: string; status: number }>();
  expect(body).toMatchObject({ code: SecureApiErrorCode.PEER_NOT_ALLOWED, status: 403 });
  expect(response.headers['www-authenticate']).toBeUndefined();
  expectNothingLeaked(response.text, secrets);
}

describe.each(ADAPTERS)('mutual-TLS peers on %s', (adapter) => {
  let pki: TestPki;
  let disk: PkiOnDisk;
  let issuer: LocalIssuer;
  let files: Pick<TlsOptions, 'certFile' | 'keyFile' | 'caFile'>;
  let uploader: TestCertificate;
  let thumbnailer: TestCertificate;
  let stranger: TestCertificate;
  let noSpiffe: TestCertificate;
  const capture = createLogCapture();

  const auth = () => ({ issuer: issuer.url, audience: issuer.audience, jwksUri: issuer.jwksUri });

  const call = (
    app: BootedApp,
    path: string,
    client: TestCertificate | undefined,
    token?: string,
  ): Promise<HttpResponse> =>
    httpRequest(`${app.url}${path}`, {
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      tls: {
        ca: pki.ca.cert,
        ...(client === undefined ? {} : { cert: client.cert, key: client.key }),
      },
    });

  beforeAll(async () => {
    disk = await writeTestPki();
    ({ pki, files } = disk);
    [uploader, thumbnailer, stranger, noSpiffe] = await Promise.all([
      pki.client(PEERS.uploader),
      pki.client(PEERS.thumbnailer),
      pki.client(PEERS.stranger),
      pki.issue({ kind: 'client', dnsNames: ['batch.internal'], commonName: 'batch' }),
    ]);
    issuer = await createLocalIssuer();
  });

  afterAll(async () => {
    await issuer?.close();
    await disk?.remove();
  });

  beforeEach(() => capture.clear());

  describe('without an allowlist', () => {
    let app: BootedApp;
    beforeAll(async () => {
      app = await bootMtlsApp(adapter, { auth: auth(), tls: { ...files } }, capture);
    });
    afterAll(() => app?.close());

    it('gives a public route the verified peer: SPIFFE ID, DNS names, subject, x5t#S256', async () => {
      const response = await call(app, '/public', uploader);
      expect(response.status).toBe(200);
      expect(response.json()).toEqual({
        peer: {
          spiffeId: PEERS.uploader,
          dnsNames: [],
          subject: 'CN=uploader',
          thumbprint: thumbprintOf(uploader.cert),
        },
      });
    });

    it('puts the peer on the principal of an authenticated request', async () => {
      const response = await call(
        app,
        '/profile',
        thumbnailer,
        issuer.mint({ subject: 'user-7', scope: 'profile.read' }),
      );
      expect(response.status).toBe(200);
      expect(response.json()).toEqual({
        subject: 'user-7',
        peer: expect.objectContaining({
          spiffeId: PEERS.thumbnailer,
          thumbprint: thumbprintOf(thumbnailer.cert),
        }) as unknown,
      });
    });

    it('reads DNS SANs of a certificate without a SPIFFE ID', async () => {
      const body = (await call(app, '/public', noSpiffe)).json<{
        peer: Record<string, unknown>;
      }>();
      expect(body.peer).toMatchObject({ dnsNames: ['batch.internal'], subject: 'CN=batch' });
      expect(body.peer).not.toHaveProperty('spiffeId');
    });

    it('still checks the route-level @AllowPeers()', async () => {
      expect((await call(app, '/uploads', uploader)).status).toBe(200);
      expectPeerRefused(await call(app, '/uploads', stranger));
      expect(capture.entries).toContainEqual(
        expect.objectContaining({
          level: 'warn',
          fields: {
            event: 'mtls.rejected',
            reason: 'peer-not-allowed-on-route',
            peer: PEERS.stranger,
          },
        }),
      );
    });

    it("lets a handler's @AllowPeers() replace its class's", async () => {
      expect((await call(app, '/thumbnails', thumbnailer)).status).toBe(200);
      expectPeerRefused(await call(app, '/thumbnails', uploader));
      expect((await call(app, '/thumbnails/incoming', uploader)).status).toBe(200);
      expectPeerRefused(await call(app, '/thumbnails/incoming', thumbnailer));
    });
  });

  describe('with tls.allowedPeers', () => {
    let app: BootedApp;
    beforeAll(async () => {
      app = await bootMtlsApp(
        adapter,
        {
          auth: auth(),
          tls: {
            ...files,
            allowedPeers: [PEERS.uploader, PEERS.thumbnailer, 'dns:batch.internal'],
          },
        },
        capture,
      );
    });
    afterAll(() => app?.close());

    it('serves a listed peer', async () => {
      expect((await call(app, '/public', uploader)).status).toBe(200);
      expect((await call(app, '/public', noSpiffe)).status).toBe(200);
    });

    it('refuses a valid certificate with another SPIFFE ID with 403, before the token', async () => {
      const token = issuer.mint({ scope: 'profile.read' });
      const response = await call(app, '/profile', stranger, token);
      expectPeerRefused(response, [token]);
      // Refused before authentication: no auth.failure, and the token is nowhere in the log.
      expect(capture.text()).not.toContain(token.split('.')[2]);
      expect(capture.entries.map((entry) => entry.fields?.event)).toEqual(['mtls.rejected']);
    });

    it('refuses a stranger on a public route too', async () => {
      expectPeerRefused(await call(app, '/public', stranger));
    });

    it('applies the route list on top: a listed peer not named by @AllowPeers() is refused', async () => {
      expectPeerRefused(await call(app, '/uploads', thumbnailer));
    });
  });

  describe("with clientCertificate 'optional'", () => {
    let app: BootedApp;
    let otherCa: TestPki;
    beforeAll(async () => {
      otherCa = await createTestPki();
      app = await bootMtlsApp(
        adapter,
        { auth: auth(), tls: { ...files, clientCertificate: 'optional' } },
        capture,
      );
    });
    afterAll(() => app?.close());

    it('serves a client without a certificate, with no peer', async () => {
      const response = await call(app, '/public', undefined);
      expect(response.status).toBe(200);
      expect(response.json()).toEqual({ peer: null });
    });

    it('refuses a route with @AllowPeers() to a client without a certificate', async () => {
      expectPeerRefused(await call(app, '/uploads', undefined));
    });

    it('closes the connection of a client whose certificate does not verify', async () => {
      const impostor = await otherCa.client(PEERS.uploader);
      await expect(call(app, '/uploads', impostor)).rejects.toThrow(
        /socket hang up|ECONNRESET|closed/i,
      );
      expect(capture.entries).toContainEqual(
        expect.objectContaining({
          level: 'warn',
          fields: expect.objectContaining({ event: 'mtls.rejected' }) as unknown,
        }),
      );
    });
  });
});
