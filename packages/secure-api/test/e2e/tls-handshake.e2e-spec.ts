import { createPrivateKey, webcrypto } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequestOver } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  connect,
  type ConnectionOptions,
  type SecureContextOptions,
  Server as TlsServer,
  type TLSSocket,
} from 'node:tls';
import {
  createHttpsOptions,
  SecureApiErrorCode,
  TlsFileError,
  type TlsFileOptions,
} from '@secure-api/nestjs';
import {
  ADAPTERS,
  bootApp,
  type BootedApp,
  createLocalIssuer,
  createLogCapture,
  createTestPki,
  type LocalIssuer,
  type TestCertificate,
  type TestPki,
  type TestPkiFiles,
} from '@secure-api/testing';
import * as x509 from '@peculiar/x509';
import { bootMtlsApp, MtlsFixture, PEERS } from './fixtures/mtls-app.fixture.js';

// Mutual TLS at the handshake: what a client without a certificate the CA vouches for gets
// (no HTTP response at all), what the server logs about it, the protocol floor, renegotiation,
// session resumption, and the TLS configurations that must fail the boot.

/** Upper bound for one exchange or event; a healthy loopback handshake takes milliseconds. */
const BOUND_MS = 5_000;

function within<T>(promise: Promise<T>, what: string, ms = BOUND_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** What one HTTPS request got: a response, or the error that ended it (never both). */
type Outcome =
  | { readonly status: number; readonly body: string; readonly protocol: string | null }
  | { readonly errorCode: string; readonly message: string };

/** The client side of a table row: its certificate and protocol settings. */
type ClientTls = Pick<
  SecureContextOptions,
  'cert' | 'key' | 'minVersion' | 'maxVersion' | 'ciphers'
>;

/** One GET over a new connection (`agent: false`), trusting the test CA for the server. */
function attempt(url: string, path: string, client: ClientTls, ca: string): Promise<Outcome> {
  return within(
    new Promise<Outcome>((resolve) => {
      const request = httpsRequest(`${url}${path}`, { agent: false, ca, ...client }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            protocol: (response.socket as TLSSocket).getProtocol(),
          }),
        );
      });
      request.on('error', (error: Error & { code?: string }) =>
        resolve({ errorCode: error.code ?? 'none', message: error.message }),
      );
      request.end();
    }),
    `GET ${path}`,
  );
}

/** A TLS connection that completed its handshake, and the first session ticket it receives. */
interface Connected {
  readonly socket: TLSSocket;
  readonly session: Promise<Buffer>;
}

const openSockets = new Set<TLSSocket>();

/** `tls.connect()` to the app, resolved on `'secureConnect'`, rejected on an error. */
function handshake(url: string, options: ConnectionOptions): Promise<Connected> {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port), ...options });
  openSockets.add(socket);
  socket.once('close', () => openSockets.delete(socket));
  const session = new Promise<Buffer>((resolve) => socket.once('session', resolve));
  return within(
    new Promise<Connected>((resolve, reject) => {
      const fail = (error: Error): void => reject(error);
      socket.once('error', fail);
      socket.once('secureConnect', () => {
        socket.off('error', fail);
        resolve({ socket, session });
      });
    }),
    'TLS handshake',
  );
}

/** How a connection that sends nothing ended, from the client's side. */
interface HandshakeEnd {
  readonly secureConnect: boolean;
  readonly error: string | null;
  /** Application bytes received: none, for a refused client. */
  readonly received: number;
}

/** `tls.connect()` that writes nothing and reports, once the server closed it, how it ended. */
function handshakeEnd(url: string, options: ConnectionOptions): Promise<HandshakeEnd> {
  const { hostname, port } = new URL(url);
  return within(
    new Promise<HandshakeEnd>((resolve) => {
      const socket = connect({ host: hostname, port: Number(port), ...options });
      openSockets.add(socket);
      let secureConnect = false;
      let error: string | null = null;
      let received = 0;
      socket.on('secureConnect', () => (secureConnect = true));
      socket.on('data', (chunk: Buffer) => (received += chunk.length));
      socket.on('error', (failure: Error & { code?: string }) => (error = failure.code ?? 'none'));
      socket.on('close', () => {
        openSockets.delete(socket);
        resolve({ secureConnect, error, received });
      });
    }),
    'the server closing the connection',
  );
}

/** One HTTP/1.1 request over an established TLS connection, which the server then closes. */
function requestOver(socket: TLSSocket, path: string): Promise<{ status: number; body: string }> {
  return within(
    new Promise((resolve, reject) => {
      const request = httpRequestOver(
        {
          path,
          host: '127.0.0.1',
          headers: { connection: 'close' },
          createConnection: () => socket,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 0,
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
        },
      );
      request.on('error', reject);
      request.end();
    }),
    `GET ${path} over the connection`,
  );
}

/** The HTTPS server's next `'tlsClientError'`: Node's error code and the socket's verify result. */
function nextClientError(
  booted: BootedApp,
): Promise<{ code: string | undefined; authorizationError: string | null }> {
  const server: unknown = booted.app.getHttpServer();
  if (!(server instanceof TlsServer)) throw new Error('the app does not serve TLS');
  return within(
    new Promise((resolve) => {
      server.once('tlsClientError', (error: Error & { code?: string }, socket: TLSSocket) =>
        resolve({
          code: error.code,
          authorizationError:
            socket.authorizationError === null ? null : String(socket.authorizationError),
        }),
      );
    }),
    "the server's tlsClientError",
  );
}

/** A CRL signed by `pki`'s CA whose nextUpdate has passed: @peculiar/x509 with the CA's key. */
async function expiredCrlOf(pki: TestPki): Promise<string> {
  const ca = new x509.X509Certificate(pki.ca.cert);
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256' } as const;
  const crl = await x509.X509CrlGenerator.create(
    {
      issuer: ca.subjectName,
      thisUpdate: new Date(Date.now() - 2 * 3_600_000),
      nextUpdate: new Date(Date.now() - 3_600_000),
      entries: [],
      signingKey: createPrivateKey(pki.ca.key).toCryptoKey(algorithm, false, ['sign']),
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    },
    webcrypto,
  );
  return `${x509.PemConverter.encode(crl.rawData, 'X509 CRL')}\n`;
}

function catchError(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}

/** The same refusal seen from both ends: Node's client errors and the server's record of it. */
interface Attack {
  readonly name: string;
  /** The app it is tried on: `'crl'` is booted with the CA's CRL, which lists the revoked one. */
  readonly app: 'plain' | 'crl';
  readonly client: (certs: Certs) => ClientTls;
  /**
   * What `tls.connect()` sees: whether its side of the handshake completed, and the error that
   * closed the connection (an alert), or null when the server closed it without one.
   */
  readonly tls: { readonly secureConnect: boolean; readonly error: string | null };
  /** What an HTTPS request sees instead: its error code and message. */
  readonly https: { readonly error: string; readonly message: RegExp };
  /** The code of the server's `'tlsClientError'`. */
  readonly serverError: string;
  /** `socket.authorizationError` there: OpenSSL's verification result, when it got that far. */
  readonly authorizationError: string | null;
  /** The `reason` of the `mtls.rejected` event. */
  readonly reason: string;
}

interface Certs {
  readonly valid: TestCertificate;
  readonly otherCa: TestCertificate;
  readonly selfSigned: TestCertificate;
  readonly expired: TestCertificate;
  readonly notYetValid: TestCertificate;
  readonly serverAuthOnly: TestCertificate;
  readonly revoked: TestCertificate;
}

const pair = (cert: TestCertificate): ClientTls => ({ cert: cert.cert, key: cert.key });

/**
 * A certificate that does not verify: the client's side of the TLS 1.3 handshake completes (the
 * server checks the certificate after sending its Finished), then Node's server destroys the
 * socket without an alert. The client sees a bare close (an HTTPS request: ECONNRESET, "socket
 * hang up"); the server a 'tlsClientError' ECONNRESET with the verification result on the socket.
 */
function notVerified(
  name: string,
  client: Attack['client'],
  authorizationError: string,
  app: Attack['app'] = 'plain',
): Attack {
  return {
    name,
    app,
    client,
    tls: { secureConnect: true, error: null },
    https: { error: 'ECONNRESET', message: /^(socket hang up|read ECONNRESET)$/ },
    serverError: 'ECONNRESET',
    authorizationError,
    reason: authorizationError,
  };
}

const ATTACKS: readonly Attack[] = [
  {
    name: 'no client certificate',
    app: 'plain',
    client: () => ({}),
    // TLS 1.3: the client's handshake completes, then the server's certificate_required alert.
    tls: { secureConnect: true, error: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' },
    https: {
      error: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
      message: /tlsv13 alert certificate required/,
    },
    serverError: 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE',
    authorizationError: null,
    reason: 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE',
  },
  notVerified(
    'a certificate from another CA',
    (certs) => pair(certs.otherCa),
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  ),
  notVerified(
    "a self-signed copy of a trusted client's subject and SANs",
    (certs) => pair(certs.selfSigned),
    'DEPTH_ZERO_SELF_SIGNED_CERT',
  ),
  notVerified('an expired certificate', (certs) => pair(certs.expired), 'CERT_HAS_EXPIRED'),
  notVerified(
    'a certificate not yet valid',
    (certs) => pair(certs.notYetValid),
    'CERT_NOT_YET_VALID',
  ),
  notVerified(
    'a certificate whose only EKU is serverAuth',
    (certs) => pair(certs.serverAuthOnly),
    'INVALID_PURPOSE',
  ),
  notVerified('a revoked certificate', (certs) => pair(certs.revoked), 'CERT_REVOKED', 'crl'),
  {
    // Node's client refuses to offer TLS 1.1 at OpenSSL's default security level 1 ("no
    // protocols available"); level 0 lets it send a ClientHello capped at 1.1.
    name: 'a client that offers at most TLS 1.1',
    app: 'plain',
    client: (certs) => ({
      ...pair(certs.valid),
      minVersion: 'TLSv1',
      maxVersion: 'TLSv1.1',
      ciphers: 'DEFAULT@SECLEVEL=0',
    }),
    tls: { secureConnect: false, error: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' },
    // The alert fails the request's first write, which Node reports as EPROTO.
    https: { error: 'EPROTO', message: /tlsv1 alert protocol version/ },
    serverError: 'ERR_SSL_UNSUPPORTED_PROTOCOL',
    authorizationError: null,
    reason: 'ERR_SSL_UNSUPPORTED_PROTOCOL',
  },
];

describe.each(ADAPTERS)('mutual-TLS handshake on %s', (adapter) => {
  let pki: TestPki;
  let dir: string;
  let written: TestPkiFiles;
  let files: TlsFileOptions;
  let certs: Certs;
  let issuer: LocalIssuer;
  const apps: Record<Attack['app'], BootedApp | undefined> = { plain: undefined, crl: undefined };
  const capture = createLogCapture();

  const auth = () => ({ issuer: issuer.url, audience: issuer.audience, jwksUri: issuer.jwksUri });
  const appFor = (which: Attack['app']): BootedApp => {
    const booted = apps[which];
    if (booted === undefined) throw new Error(`the '${which}' app did not boot`);
    return booted;
  };
  const validTls = (): ConnectionOptions => ({
    ca: pki.ca.cert,
    servername: 'localhost',
    ...pair(certs.valid),
  });

  beforeAll(async () => {
    pki = await createTestPki();
    const otherPki = await createTestPki();
    const valid = await pki.client(PEERS.uploader);
    certs = {
      valid,
      otherCa: await otherPki.client(PEERS.uploader),
      selfSigned: await pki.selfSignedCopy(valid),
      expired: await pki.expiredClient(PEERS.uploader),
      notYetValid: await pki.notYetValidClient(PEERS.uploader),
      serverAuthOnly: await pki.serverAuthOnlyClient(PEERS.uploader),
      // Revoked before the CRL is written, so that the CRL lists it.
      revoked: await pki.revokedClient(PEERS.uploader),
    };
    dir = await mkdtemp(join(tmpdir(), 'secure-api-handshake-'));
    written = await pki.writeTo(dir, {}, { withCrl: true });
    files = { certFile: written.certFile, keyFile: written.keyFile, caFile: written.caFile };
    issuer = await createLocalIssuer();
    apps.plain = await bootMtlsApp(adapter, { auth: auth(), tls: files }, capture);
    apps.crl = await bootMtlsApp(
      adapter,
      { auth: auth(), tls: { ...files, crlFile: written.crlFile } },
      capture,
    );
  });

  afterAll(async () => {
    await apps.plain?.close();
    await apps.crl?.close();
    await issuer?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  beforeEach(() => capture.clear());

  afterEach(() => {
    for (const socket of openSockets) socket.destroy();
  });

  describe("refuses at the handshake, with clientCertificate 'require'", () => {
    it.each(ATTACKS)('$name: closed before any HTTP, the server sees why', async (attack) => {
      const booted = appFor(attack.app);
      const server = { code: attack.serverError, authorizationError: attack.authorizationError };

      let refused = nextClientError(booted);
      const end = await handshakeEnd(booted.url, {
        ca: pki.ca.cert,
        servername: 'localhost',
        ...attack.client(certs),
      });
      expect(end).toEqual({ ...attack.tls, received: 0 });
      await expect(refused).resolves.toEqual(server);

      refused = nextClientError(booted);
      const outcome = await attempt(booted.url, '/public', attack.client(certs), pki.ca.cert);
      // An error and no status: no HTTP response came back.
      expect(outcome).toEqual({
        errorCode: attack.https.error,
        message: expect.stringMatching(attack.https.message) as unknown,
      });
      await expect(refused).resolves.toEqual(server);
    });

    it.each(['plain', 'crl'] as const)(
      'serves a valid certificate with the SPIFFE ID (%s app)',
      async (which) => {
        const outcome = await attempt(
          appFor(which).url,
          '/uploads',
          pair(certs.valid),
          pki.ca.cert,
        );
        expect(outcome).toMatchObject({ status: 200 });
        expect(JSON.parse((outcome as { body: string }).body)).toEqual({
          spiffeId: PEERS.uploader,
        });
        expect(capture.entries.filter((entry) => entry.fields?.event === 'mtls.rejected')).toEqual(
          [],
        );
      },
    );
  });

  describe('logs each refused handshake', () => {
    // Apps of their own, so that what is logged does not depend on the refusals above: the
    // module logs at most 20 per 10 s and app, then only counts them.
    const logged: Record<Attack['app'], BootedApp | undefined> = {
      plain: undefined,
      crl: undefined,
    };
    const logs = createLogCapture();

    beforeAll(async () => {
      logged.plain = await bootMtlsApp(adapter, { auth: auth(), tls: files }, logs);
      logged.crl = await bootMtlsApp(
        adapter,
        { auth: auth(), tls: { ...files, crlFile: written.crlFile } },
        logs,
      );
    });

    afterAll(async () => {
      await logged.plain?.close();
      await logged.crl?.close();
    });

    beforeEach(() => logs.clear());

    // The module's 'tlsClientError' listener was added at boot, before the test's, so the event
    // is logged by the time `refused` resolves.
    it.each(ATTACKS)('$name: mtls.rejected with reason $reason', async (attack) => {
      const booted = logged[attack.app];
      if (booted === undefined) throw new Error(`the '${attack.app}' app did not boot`);
      const refused = nextClientError(booted);
      await attempt(booted.url, '/public', attack.client(certs), pki.ca.cert);
      await refused;
      expect(logs.entries.filter((entry) => entry.fields?.event === 'mtls.rejected')).toEqual([
        expect.objectContaining({
          level: 'warn',
          fields: { event: 'mtls.rejected', reason: attack.reason },
        }),
      ]);
    });
  });

  describe('protocol', () => {
    it('negotiates TLS 1.3 with a default client', async () => {
      const { socket } = await handshake(appFor('plain').url, validTls());
      expect(socket.getProtocol()).toBe('TLSv1.3');
      expect(socket.authorized).toBe(true);
    });

    it('serves a client that offers at most TLS 1.2, the minimum', async () => {
      const outcome = await attempt(
        appFor('plain').url,
        '/public',
        { ...pair(certs.valid), maxVersion: 'TLSv1.2' },
        pki.ca.cert,
      );
      expect(outcome).toMatchObject({ status: 200, protocol: 'TLSv1.2' });
    });

    it('refuses a renegotiation on a TLS 1.2 connection (no_renegotiation alert)', async () => {
      const { socket } = await handshake(appFor('plain').url, {
        ...validTls(),
        maxVersion: 'TLSv1.2',
      });
      expect(socket.getProtocol()).toBe('TLSv1.2');
      // events.once() for 'error' itself resolves with it; a 'close' wait must not use once(),
      // which would reject on that same error.
      const failed = within(once(socket, 'error'), 'the renegotiation error');
      const closed = within(
        new Promise<void>((resolve) => socket.once('close', () => resolve())),
        'the close after the refused renegotiation',
      );
      const renegotiated = jest.fn();
      // true: the client sent its ClientHello; the callback would run only on success.
      expect(socket.renegotiate({}, renegotiated)).toBe(true);
      const [error] = (await failed) as [Error & { code?: string }];
      expect(error.code).toBe('ERR_SSL_NO_RENEGOTIATION');
      await closed;
      expect(renegotiated).not.toHaveBeenCalled();
      // The server is still fine for the next client.
      const outcome = await attempt(appFor('plain').url, '/public', pair(certs.valid), pki.ca.cert);
      expect(outcome).toMatchObject({ status: 200 });
    });

    it('resumes a session from its ticket and still gives the route the peer', async () => {
      const url = appFor('plain').url;
      const first = await handshake(url, validTls());
      expect(first.socket.isSessionReused()).toBe(false);
      expect((await requestOver(first.socket, '/public')).status).toBe(200);
      const session = await within(first.session, 'the first session ticket');

      const second = await handshake(url, { ...validTls(), session });
      expect(second.socket.isSessionReused()).toBe(true);
      const response = await requestOver(second.socket, '/public');
      expect(response.status).toBe(200);
      expect(JSON.parse(response.body)).toEqual({
        peer: expect.objectContaining({
          spiffeId: PEERS.uploader,
          thumbprint: certs.valid.thumbprint,
        }) as unknown,
      });
    });
  });

  describe('refuses to boot', () => {
    it("when the module's tls is set but the app serves plain HTTP", async () => {
      expect.assertions(3);
      try {
        const booted = await bootApp(
          MtlsFixture.with({ logging: false, auth: auth(), tls: files }),
          { adapter },
        );
        await booted.close();
      } catch (error) {
        expect(error).toMatchObject({ code: SecureApiErrorCode.TLS_CONFIG_INVALID });
        expect((error as Error).message).toContain('does not serve HTTPS');
        expect((error as Error).message).toContain('createHttpsOptions(tls)');
      }
    });

    it("when the server was made with clientCertificate 'none' and the module says 'require'", async () => {
      expect.assertions(2);
      try {
        const booted = await bootApp(
          MtlsFixture.with({ logging: false, auth: auth(), tls: files }),
          {
            adapter,
            nestOptions: {
              httpsOptions: createHttpsOptions({ ...files, clientCertificate: 'none' }),
            },
          },
        );
        await booted.close();
      } catch (error) {
        expect(error).toMatchObject({ code: SecureApiErrorCode.TLS_CONFIG_INVALID });
        expect((error as Error).message).toContain("tls.clientCertificate 'require'");
      }
    });
  });
});

describe('createHttpsOptions() refuses TLS files that cannot be used', () => {
  let dir: string;
  let pki: TestPki;
  let written: TestPkiFiles;

  /** Where each case's bad file is, and what the message says about it. */
  interface BadFiles {
    readonly name: string;
    readonly tls: () => Promise<{ options: TlsFileOptions; file: string }>;
    readonly problem: RegExp;
  }

  const base = (): TlsFileOptions => ({
    certFile: written.certFile,
    keyFile: written.keyFile,
    caFile: written.caFile,
  });
  const put = async (name: string, content: string): Promise<string> => {
    const file = join(dir, name);
    await writeFile(file, content, { mode: 0o600 });
    return file;
  };

  const CASES: readonly BadFiles[] = [
    {
      name: 'a missing certificate file',
      tls: () => {
        const file = join(dir, 'missing.crt');
        return Promise.resolve({ options: { ...base(), certFile: file }, file });
      },
      problem: /does not exist/,
    },
    {
      name: 'a key that does not match the certificate',
      tls: async () => {
        const file = await put('other.key', (await pki.client(PEERS.stranger)).key);
        return { options: { ...base(), keyFile: file }, file };
      },
      problem: /does not match the certificate/,
    },
    {
      name: 'an expired server certificate',
      tls: async () => {
        const expired = await pki.issue({
          kind: 'server',
          dnsNames: ['localhost'],
          notBefore: new Date(Date.now() - 2 * 3_600_000),
          notAfter: new Date(Date.now() - 3_600_000),
        });
        const file = await put('expired-server.crt', expired.cert);
        const keyFile = await put('expired-server.key', expired.key);
        return { options: { ...base(), certFile: file, keyFile }, file };
      },
      problem: /expired on/,
    },
    {
      name: 'an expired CRL',
      tls: async () => {
        const file = await put('expired.crl', await expiredCrlOf(pki));
        return { options: { ...base(), crlFile: file }, file };
      },
      problem: /expired on .*every client would be refused/,
    },
    {
      name: 'a CRL from another CA',
      tls: async () => {
        const file = await put('other-ca.crl', await (await createTestPki()).crl());
        return { options: { ...base(), crlFile: file }, file };
      },
      problem: /is not issued by a CA of caFile/,
    },
  ];

  beforeAll(async () => {
    pki = await createTestPki();
    dir = await mkdtemp(join(tmpdir(), 'secure-api-tls-files-'));
    written = await pki.writeTo(dir);
  });

  afterAll(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('accepts the good files (the control case)', () => {
    expect(createHttpsOptions(base())).toMatchObject({
      requestCert: true,
      rejectUnauthorized: true,
    });
  });

  it.each(CASES)('$name: ERR_SECURE_API_TLS_CONFIG_INVALID naming the file', async (bad) => {
    const { options, file } = await bad.tls();
    const error = catchError(() => createHttpsOptions(options));
    expect(error).toBeInstanceOf(TlsFileError);
    expect(error).toMatchObject({ code: 'ERR_SECURE_API_TLS_CONFIG_INVALID', file });
    expect((error as Error).message).toContain(`"${file}"`);
    expect((error as Error).message).toMatch(bad.problem);
  });
});
