import { Writable } from 'node:stream';
import { SecureApiErrorCode, type TlsOptions } from '@secure-api/nestjs';
import {
  ADAPTERS,
  type BootedApp,
  createLocalIssuer,
  httpRequest,
  type HttpResponse,
  type LocalIssuer,
  type TestCertificate,
  type TestPki,
} from '@secure-api/testing';
import { expectNothingLeaked } from './fixtures/bearer-problem.fixture.js';
import { bootMtlsApp, PEERS, type PkiOnDisk, writeTestPki } from './fixtures/mtls-app.fixture.js';

// Over mutual TLS, the runtime log level is for the operators' peers only (logging.adminPeers),
// on top of the logging.admin scope.

const OPS = 'spiffe://example.org/sa/ops';

describe.each(ADAPTERS)('/admin/log-level over mutual TLS on %s', (adapter) => {
  let pki: TestPki;
  let disk: PkiOnDisk;
  let issuer: LocalIssuer;
  let files: TlsOptions;
  let ops: TestCertificate;
  let uploader: TestCertificate;
  let app: BootedApp;

  const get = (client: TestCertificate, token: string): Promise<HttpResponse> =>
    httpRequest(`${app.url}/admin/log-level`, {
      headers: { authorization: `Bearer ${token}` },
      tls: { ca: pki.ca.cert, cert: client.cert, key: client.key },
    });

  beforeAll(async () => {
    disk = await writeTestPki();
    ({ pki, files } = disk);
    [ops, uploader] = await Promise.all([pki.client(OPS), pki.client(PEERS.uploader)]);
    issuer = await createLocalIssuer();
    app = await bootMtlsApp(adapter, {
      auth: { issuer: issuer.url, audience: issuer.audience, jwksUri: issuer.jwksUri },
      tls: files,
      logging: {
        runtimeControl: true,
        adminPeers: [OPS],
        destination: new Writable({ write: (_chunk, _encoding, done) => done() }),
      },
    });
  });

  afterAll(async () => {
    await app?.close();
    await issuer?.close();
    await disk?.remove();
  });

  it('serves an admin peer with the logging.admin scope', async () => {
    const response = await get(ops, issuer.mint({ scope: 'logging.admin' }));
    expect(response.status).toBe(200);
    expect(response.json()).toMatchObject({ level: 'info' });
  });

  it('refuses another peer with 403, even with the scope', async () => {
    const token = issuer.mint({ scope: 'logging.admin' });
    const response = await get(uploader, token);
    expect(response.status).toBe(403);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.json()).toMatchObject({ code: SecureApiErrorCode.PEER_NOT_ALLOWED });
    expectNothingLeaked(response.text, [token]);
  });

  it('still needs the scope from an admin peer', async () => {
    const response = await get(ops, issuer.mint({ scope: 'profile.read' }));
    expect(response.status).toBe(403);
    expect(response.json()).toMatchObject({ code: SecureApiErrorCode.INSUFFICIENT_SCOPE });
  });

  it('leaves the other routes to every verified peer', async () => {
    const response = await httpRequest(`${app.url}/public`, {
      tls: { ca: pki.ca.cert, cert: uploader.cert, key: uploader.key },
    });
    expect(response.status).toBe(200);
  });
});
