import 'reflect-metadata';
import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  checkServerIdentity,
  connect,
  createServer,
  type ConnectionOptions,
  type PeerCertificate,
  type SecureVersion,
  type TlsOptions,
} from 'node:tls';
import * as x509 from '@peculiar/x509';
import { createTestPki, type TestCertificate, type TestPki } from './test-pki.js';

const UPLOADER = 'spiffe://example.org/sa/uploader';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

/** What each side of one TLS connection saw. */
interface Handshake {
  readonly client: {
    /** `secureConnect` fired: the client finished its side of the handshake. */
    readonly secureConnect: boolean;
    /** The server certificate verified against `ca` and the host name. */
    readonly authorized: boolean;
    readonly protocol: string | null;
    readonly errorCode: string | undefined;
    readonly data: string;
    readonly peer: PeerCertificate | undefined;
  };
  readonly server: {
    /** `secureConnection` fired: the server accepted the connection. */
    readonly accepted: boolean;
    readonly authorized: boolean | undefined;
    readonly authorizationError: string | undefined;
    readonly peer: X509Certificate | undefined;
    /** Code of the `tlsClientError`, when the server dropped the connection. */
    readonly errorCode: string | undefined;
  };
}

interface HandshakeOptions {
  /** Client certificate to present; none when left out. */
  readonly cert?: TestCertificate | undefined;
  readonly server?: TlsOptions;
  readonly client?: ConnectionOptions;
}

/**
 * Runs one connection against a fresh mutual-TLS server on 127.0.0.1 (which answers `ok` to an
 * accepted client) and resolves once both sides have closed.
 */
async function handshake(pki: TestPki, options: HandshakeOptions = {}): Promise<Handshake> {
  let accepted = false;
  let authorized: boolean | undefined;
  let authorizationError: string | undefined;
  let serverPeer: X509Certificate | undefined;
  let serverErrorCode: string | undefined;
  let serverDone!: () => void;
  const serverSettled = new Promise<void>((resolve) => (serverDone = resolve));
  const server = createServer(
    {
      requestCert: true,
      rejectUnauthorized: true,
      ca: pki.ca.cert,
      cert: pki.server.cert,
      key: pki.server.key,
      minVersion: 'TLSv1.2',
      ...options.server,
    },
    (socket) => {
      accepted = true;
      authorized = socket.authorized;
      authorizationError =
        socket.authorizationError === null ? undefined : String(socket.authorizationError);
      serverPeer = socket.getPeerX509Certificate();
      socket.on('close', serverDone);
      socket.on('error', () => undefined);
      socket.end('ok');
    },
  );
  server.on('tlsClientError', (error: NodeJS.ErrnoException) => {
    serverErrorCode = error.code;
    serverDone();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const client = await new Promise<Handshake['client']>((resolve) => {
      const socket = connect({
        port,
        host: '127.0.0.1',
        servername: 'localhost',
        ca: pki.ca.cert,
        ...(options.cert === undefined ? {} : { cert: options.cert.cert, key: options.cert.key }),
        ...options.client,
      });
      let secureConnect = false;
      let peer: PeerCertificate | undefined;
      let protocol: string | null = null;
      let errorCode: string | undefined;
      let data = '';
      socket.on('secureConnect', () => {
        secureConnect = true;
        peer = socket.getPeerCertificate();
        // Read here, not on 'close': on Node 24.22, getProtocol() after a failed TLS 1.2
        // handshake crashes the process (SIGSEGV).
        protocol = socket.getProtocol();
      });
      socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
      socket.on('error', (error: NodeJS.ErrnoException) => (errorCode ??= error.code));
      socket.on('close', () =>
        resolve({
          secureConnect,
          authorized: socket.authorized,
          protocol,
          errorCode,
          data,
          peer,
        }),
      );
    });
    await serverSettled;
    return {
      client,
      server: {
        accepted,
        authorized,
        authorizationError,
        peer: serverPeer,
        errorCode: serverErrorCode,
      },
    };
  } finally {
    await new Promise<void>((resolve, reject) =>
      server.close((error) => (error ? reject(error) : resolve())),
    );
  }
}

/** The certificate's extension of `type`, read by @peculiar/x509 (node:crypto has no API). */
function extension<T extends x509.Extension>(
  pem: string,
  type: new (raw: ArrayBuffer) => T,
): T | null {
  return new x509.X509Certificate(pem).getExtension(type);
}

describe('createTestPki()', () => {
  let pki: TestPki;
  /** Client certificates by name, made once: key generation is the slow part. */
  const certs = new Map<string, TestCertificate | undefined>();

  function cert(name: string): TestCertificate | undefined {
    expect(certs.has(name)).toBe(true);
    return certs.get(name);
  }

  beforeAll(async () => {
    pki = await createTestPki();
    const valid = await pki.client(UPLOADER);
    certs.set('valid', valid);
    certs.set('no certificate', undefined);
    certs.set('wrong CA', await (await createTestPki()).client(UPLOADER));
    certs.set('selfSignedCopy of a valid client', await pki.selfSignedCopy(valid));
    certs.set('expiredClient', await pki.expiredClient(UPLOADER));
    certs.set('notYetValidClient', await pki.notYetValidClient(UPLOADER));
    certs.set('serverAuthOnlyClient', await pki.serverAuthOnlyClient(UPLOADER));
    certs.set('revokedClient', await pki.revokedClient(UPLOADER));
  });

  describe('the server certificate', () => {
    it.each([
      ['localhost (SNI)', { servername: 'localhost' }],
      ['127.0.0.1 (IP SAN, no SNI)', { servername: undefined }],
    ])(
      'verifies for %s against ca.cert with the default checkServerIdentity',
      async (_, client) => {
        const result = await handshake(pki, { cert: cert('valid'), client });

        expect(result.client.secureConnect).toBe(true);
        expect(result.client.authorized).toBe(true);
        expect(result.client.errorCode).toBeUndefined();
        expect(result.client.data).toBe('ok');
      },
    );

    it('is refused for a host name it does not list', async () => {
      const result = await handshake(pki, {
        cert: cert('valid'),
        client: { servername: 'example.com' },
      });

      expect(result.client.errorCode).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
      expect(result.client.data).toBe('');
    });

    it('lists localhost, 127.0.0.1 and ::1 and nothing else', async () => {
      const { client } = await handshake(pki, { cert: cert('valid') });
      const peer = client.peer;

      expect(peer?.subjectaltname).toBe(
        'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1',
      );
      for (const host of ['localhost', '127.0.0.1', '::1']) {
        expect(peer && checkServerIdentity(host, peer)).toBeUndefined();
      }
      expect(peer && checkServerIdentity('127.0.0.2', peer)).toMatchObject({
        code: 'ERR_TLS_CERT_ALTNAME_INVALID',
      });
    });

    it('has EKU serverAuth and is not a CA', () => {
      const server = new X509Certificate(pki.server.cert);

      expect(server.keyUsage).toEqual([SERVER_AUTH]);
      expect(server.ca).toBe(false);
      expect(server.checkPrivateKey(createPrivateKey(pki.server.key))).toBe(true);
      expect(server.checkIssued(new X509Certificate(pki.ca.cert))).toBe(true);
    });
  });

  describe('a valid client certificate', () => {
    it('is authorized, and the server sees its SPIFFE ID and x5t#S256 thumbprint', async () => {
      const valid = cert('valid');
      const { server, client } = await handshake(pki, { cert: valid });

      expect(client.data).toBe('ok');
      expect(server.accepted).toBe(true);
      expect(server.authorized).toBe(true);
      expect(server.authorizationError).toBeUndefined();
      expect(server.peer?.subjectAltName).toBe(`URI:${UPLOADER}`);
      expect(server.peer?.subject).toBe('CN=uploader');
      expect(server.peer?.serialNumber).toBe(valid?.serialNumber);
      const raw = server.peer?.raw ?? Buffer.alloc(0);
      expect(raw.length).toBeGreaterThan(0);
      expect(valid?.thumbprint).toBe(createHash('sha256').update(raw).digest('base64url'));
      expect(valid?.thumbprint).toMatch(/^[A-Za-z0-9_-]{43}$/);
    });

    it('still passes when the server checks the CRL', async () => {
      const { server, client } = await handshake(pki, {
        cert: cert('valid'),
        server: { crl: await pki.crl() },
      });

      expect(server.accepted).toBe(true);
      expect(server.authorized).toBe(true);
      expect(client.data).toBe('ok');
    });
  });

  /**
   * What Node reports when a client certificate is refused. Without a certificate OpenSSL fails
   * the handshake and alerts the client. Every other refusal is Node's own check after
   * OpenSSL's handshake (`rejectUnauthorized`): the server closes the TCP connection without
   * an alert, so its `tlsClientError` is a bare ECONNRESET and the reason shows only as
   * `authorizationError` on a server that does not reject.
   */
  const refusals: readonly {
    readonly name: string;
    readonly crl: boolean;
    readonly authorizationError: string;
  }[] = [
    { name: 'no certificate', crl: false, authorizationError: 'UNABLE_TO_GET_ISSUER_CERT' },
    { name: 'wrong CA', crl: false, authorizationError: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' },
    {
      name: 'selfSignedCopy of a valid client',
      crl: false,
      authorizationError: 'DEPTH_ZERO_SELF_SIGNED_CERT',
    },
    { name: 'expiredClient', crl: false, authorizationError: 'CERT_HAS_EXPIRED' },
    { name: 'notYetValidClient', crl: false, authorizationError: 'CERT_NOT_YET_VALID' },
    { name: 'serverAuthOnlyClient', crl: false, authorizationError: 'INVALID_PURPOSE' },
    { name: 'revokedClient', crl: true, authorizationError: 'CERT_REVOKED' },
  ];

  describe.each([
    {
      version: 'TLSv1.3' as SecureVersion,
      // The client's Finished comes before its certificate is judged, so it connects first.
      clientConnects: true,
      noCertificate: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
      refused: undefined,
    },
    {
      version: 'TLSv1.2' as SecureVersion,
      clientConnects: false,
      noCertificate: 'ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE',
      refused: 'ECONNRESET',
    },
  ])('over $version, a server with rejectUnauthorized', (tlsVersion) => {
    it.each(refusals)('refuses a client with $name at the handshake', async (refusal) => {
      const { server, client } = await handshake(pki, {
        cert: cert(refusal.name),
        server: refusal.crl ? { crl: await pki.crl() } : {},
        client: { maxVersion: tlsVersion.version },
      });

      expect(server.accepted).toBe(false);
      expect(client.data).toBe('');
      expect(client.secureConnect).toBe(tlsVersion.clientConnects);
      if (refusal.name === 'no certificate') {
        expect(server.errorCode).toBe('ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE');
        expect(client.errorCode).toBe(tlsVersion.noCertificate);
      } else {
        expect(server.errorCode).toBe('ECONNRESET');
        expect(client.errorCode).toBe(tlsVersion.refused);
      }
    });

    it('accepts the valid client (the same server is not refusing everyone)', async () => {
      const { server, client } = await handshake(pki, {
        cert: cert('valid'),
        client: { maxVersion: tlsVersion.version },
      });

      expect(server.accepted).toBe(true);
      expect(client.protocol).toBe(tlsVersion.version);
      expect(client.data).toBe('ok');
    });
  });

  describe('a server without rejectUnauthorized', () => {
    it.each(refusals)(
      'gives the reason for $name as authorizationError $authorizationError',
      async (refusal) => {
        const { server } = await handshake(pki, {
          cert: cert(refusal.name),
          server: { rejectUnauthorized: false, ...(refusal.crl ? { crl: await pki.crl() } : {}) },
        });

        expect(server.accepted).toBe(true);
        expect(server.authorized).toBe(false);
        expect(server.authorizationError).toBe(refusal.authorizationError);
      },
    );
  });

  describe('certificates, as node:crypto reads them', () => {
    it('makes a self-signed CA: CA:true critical, keyCertSign and cRLSign, matching key', () => {
      const ca = new X509Certificate(pki.ca.cert);

      expect(ca.ca).toBe(true);
      expect(ca.subject).toBe('CN=secure-api test CA');
      expect(ca.issuer).toBe(ca.subject);
      expect(ca.checkIssued(ca)).toBe(true);
      expect(ca.verify(ca.publicKey)).toBe(true);
      expect(ca.checkPrivateKey(createPrivateKey(pki.ca.key))).toBe(true);
      expect(ca.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
      expect(pki.ca.key).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
      const constraints = extension(pki.ca.cert, x509.BasicConstraintsExtension);
      expect(constraints).toMatchObject({ ca: true, critical: true });
      const keyUsage = extension(pki.ca.cert, x509.KeyUsagesExtension);
      expect(keyUsage?.critical).toBe(true);
      expect(keyUsage?.usages).toBe(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
    });

    it('makes the CA valid from a minute ago for 24 hours by default', () => {
      const ca = new X509Certificate(pki.ca.cert);

      expect(ca.validFromDate).toEqual(pki.ca.notBefore);
      expect(ca.validToDate).toEqual(pki.ca.notAfter);
      const lifetime = pki.ca.notAfter.getTime() - pki.ca.notBefore.getTime();
      expect(Math.abs(lifetime - 24 * HOUR_MS - MINUTE_MS)).toBeLessThanOrEqual(1000);
    });

    it('issues a client certificate with its key, the CA as issuer, and a 1-hour lifetime', () => {
      const valid = cert('valid');
      const leaf = new X509Certificate(valid?.cert ?? '');
      const ca = new X509Certificate(pki.ca.cert);

      expect(leaf.ca).toBe(false);
      expect(leaf.checkPrivateKey(createPrivateKey(valid?.key ?? ''))).toBe(true);
      expect(leaf.checkPrivateKey(createPrivateKey(pki.ca.key))).toBe(false);
      expect(leaf.checkIssued(ca)).toBe(true);
      expect(leaf.verify(ca.publicKey)).toBe(true);
      expect(leaf.keyUsage).toEqual([CLIENT_AUTH]);
      expect(leaf.subjectAltName).toBe(`URI:${UPLOADER}`);
      expect(leaf.serialNumber).toBe(valid?.serialNumber);
      expect(leaf.validFromDate).toEqual(valid?.notBefore);
      expect(leaf.validToDate).toEqual(valid?.notAfter);
      const now = Date.now();
      expect(Math.abs(now - MINUTE_MS - (valid?.notBefore.getTime() ?? 0))).toBeLessThan(5000);
      expect(Math.abs(now + HOUR_MS - (valid?.notAfter.getTime() ?? 0))).toBeLessThan(5000);
      expect(valid).toMatchObject({ spiffeId: UPLOADER, subject: 'CN=uploader' });
      const keyUsage = extension(valid?.cert ?? '', x509.KeyUsagesExtension);
      expect(keyUsage?.usages).toBe(x509.KeyUsageFlags.digitalSignature);
    });

    it('links every certificate to the CA key: SubjectKeyIdentifier = AuthorityKeyIdentifier', () => {
      const caKeyId = extension(pki.ca.cert, x509.SubjectKeyIdentifierExtension)?.keyId;

      expect(caKeyId).toMatch(/^[0-9a-f]{40}$/);
      expect(extension(pki.ca.cert, x509.AuthorityKeyIdentifierExtension)?.keyId).toBe(caKeyId);
      for (const leaf of [pki.server, cert('valid')]) {
        const ski = extension(leaf?.cert ?? '', x509.SubjectKeyIdentifierExtension)?.keyId;
        expect(ski).toMatch(/^[0-9a-f]{40}$/);
        expect(ski).not.toBe(caKeyId);
        expect(extension(leaf?.cert ?? '', x509.AuthorityKeyIdentifierExtension)?.keyId).toBe(
          caKeyId,
        );
      }
    });

    it('signs with SHA-256 and gives random positive 128-bit serials', () => {
      const all = [pki.ca, pki.server, ...[...certs.values()].filter((c) => c !== undefined)];
      const serials = all.map((c) => c.serialNumber);

      for (const serial of serials) expect(serial).toMatch(/^[4-7][0-9A-F]{31}$/);
      // selfSignedCopy repeats its original's serial on purpose.
      expect(new Set(serials).size).toBe(serials.length - 1);
      for (const c of all) {
        expect(new x509.X509Certificate(c.cert).signatureAlgorithm).toMatchObject({
          hash: { name: 'SHA-256' },
        });
      }
    });

    it.each([
      { options: { spiffeId: 'spiffe://example.org/ns/a/sa/thumbnailer' }, cn: 'thumbnailer' },
      { options: { dnsNames: ['api.test', 'b.test'] }, cn: 'api.test' },
      { options: {}, cn: 'test' },
      // The CN is one RDN value, never parsed as a DN: the comma is escaped when printed.
      { options: { spiffeId: UPLOADER, commonName: 'Uploader, Inc.' }, cn: 'Uploader\\, Inc.' },
    ])('names the subject CN=$cn for $options', async ({ options, cn }) => {
      const issued = await pki.issue(options);

      expect(new X509Certificate(issued.cert).subject).toBe(`CN=${cn}`);
      expect(issued.subject).toBe(`CN=${cn}`);
    });

    it('honours the EKU override, and leaves the extension out for []', async () => {
      const both = await pki.issue({ extendedKeyUsage: ['clientAuth', 'serverAuth'] });
      const none = await pki.issue({ extendedKeyUsage: [] });

      expect(new X509Certificate(both.cert).keyUsage).toEqual([CLIENT_AUTH, SERVER_AUTH]);
      expect(new X509Certificate(none.cert).keyUsage).toBeUndefined();
      expect(new X509Certificate(cert('serverAuthOnlyClient')?.cert ?? '').keyUsage).toEqual([
        SERVER_AUTH,
      ]);
    });

    it('makes the expired and not-yet-valid clients an hour off either side of now', () => {
      const now = Date.now();
      const expired = cert('expiredClient');
      const notYet = cert('notYetValidClient');

      expect(Math.abs(now - 2 * HOUR_MS - (expired?.notBefore.getTime() ?? 0))).toBeLessThan(5000);
      expect(Math.abs(now - HOUR_MS - (expired?.notAfter.getTime() ?? 0))).toBeLessThan(5000);
      expect(Math.abs(now + HOUR_MS - (notYet?.notBefore.getTime() ?? 0))).toBeLessThan(5000);
    });

    it('copies subject, SANs, EKU and serial into selfSignedCopy, with its own key', () => {
      const valid = new X509Certificate(cert('valid')?.cert ?? '');
      const copy = cert('selfSignedCopy of a valid client');
      const forged = new X509Certificate(copy?.cert ?? '');

      expect(forged.subject).toBe(valid.subject);
      expect(forged.issuer).toBe(valid.subject);
      expect(forged.subjectAltName).toBe(valid.subjectAltName);
      expect(forged.keyUsage).toEqual(valid.keyUsage);
      expect(forged.serialNumber).toBe(valid.serialNumber);
      expect(forged.verify(forged.publicKey)).toBe(true);
      expect(forged.verify(new X509Certificate(pki.ca.cert).publicKey)).toBe(false);
      expect(forged.checkPrivateKey(createPrivateKey(copy?.key ?? ''))).toBe(true);
      expect(forged.publicKey.equals(valid.publicKey)).toBe(false);
      expect(copy?.thumbprint).not.toBe(cert('valid')?.thumbprint);
    });

    it('makes an RSA-2048 server certificate on request (keyEncipherment) that TLS accepts', async () => {
      const rsa = await pki.issue({
        kind: 'server',
        keyAlgorithm: 'rsa-2048',
        dnsNames: ['localhost'],
      });
      const parsed = new X509Certificate(rsa.cert);

      expect(parsed.publicKey.asymmetricKeyType).toBe('rsa');
      expect(parsed.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
      expect(parsed.checkPrivateKey(createPrivateKey(rsa.key))).toBe(true);
      expect(parsed.keyUsage).toEqual([SERVER_AUTH]);
      expect(extension(rsa.cert, x509.KeyUsagesExtension)?.usages).toBe(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
      );
      for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
        const { server, client } = await handshake(pki, {
          cert: cert('valid'),
          server: { cert: rsa.cert, key: rsa.key },
          client: { maxVersion },
        });
        expect(client.authorized).toBe(true);
        expect(client.protocol).toBe(maxVersion);
        expect(server.authorized).toBe(true);
      }
    });
  });

  describe('crl()', () => {
    it('is a PEM X509 CRL signed by the CA, valid a minute ago to an hour ahead', async () => {
      const fresh = await createTestPki();
      const pem = await fresh.crl();
      const crl = new x509.X509Crl(pem);
      const now = Date.now();

      expect(pem).toMatch(/^-----BEGIN X509 CRL-----\n[\s\S]+\n-----END X509 CRL-----\n$/);
      expect(crl.entries).toEqual([]);
      expect(crl.issuer).toBe(fresh.ca.subject);
      await expect(
        crl.verify({ publicKey: new x509.X509Certificate(fresh.ca.cert) }),
      ).resolves.toBe(true);
      await expect(crl.verify({ publicKey: new x509.X509Certificate(pki.ca.cert) })).resolves.toBe(
        false,
      );
      expect(Math.abs(now - MINUTE_MS - crl.thisUpdate.getTime())).toBeLessThan(5000);
      expect(Math.abs(now + HOUR_MS - (crl.nextUpdate?.getTime() ?? 0))).toBeLessThan(5000);
    });

    it('lists every revoked serial, once, and is re-signed on each call', async () => {
      const fresh = await createTestPki();
      const a = await fresh.revokedClient(UPLOADER);
      const b = await fresh.client(UPLOADER);
      await fresh.revoke(b);
      await fresh.revoke(b);
      const first = await fresh.crl();
      const second = await fresh.crl();
      const list = new x509.X509Crl(first);
      const serials = list.entries.map((entry) => entry.serialNumber);

      expect(serials.map((s) => s.toUpperCase()).sort()).toEqual(
        [a.serialNumber, b.serialNumber].sort(),
      );
      for (const entry of list.entries) {
        expect(entry.revocationDate.getTime()).toBeLessThanOrEqual(list.thisUpdate.getTime());
      }
      expect(second).not.toBe(first);
      const numbers = [first, second].map((pem) =>
        Buffer.from(
          new x509.X509Crl(pem).getExtension('2.5.29.20')?.value ?? new ArrayBuffer(0),
        ).toString('hex'),
      );
      expect(numbers).toEqual(['020101', '020102']);
    });

    it('moves its window on request; a server then refuses even a valid client', async () => {
      const stale = await pki.crl({
        thisUpdate: new Date(Date.now() - 2 * HOUR_MS),
        nextUpdate: new Date(Date.now() - HOUR_MS),
      });
      const list = new x509.X509Crl(stale);

      expect(Math.abs(Date.now() - HOUR_MS - (list.nextUpdate?.getTime() ?? 0))).toBeLessThan(5000);
      const { server } = await handshake(pki, {
        cert: cert('valid'),
        server: { crl: stale, rejectUnauthorized: false },
      });
      expect(server.authorizationError).toBe('CRL_HAS_EXPIRED');
      await expect(
        pki.crl({ thisUpdate: new Date('2030-01-02'), nextUpdate: new Date('2030-01-01') }),
      ).rejects.toThrow(
        '"nextUpdate" (2030-01-01T00:00:00.000Z) must be after "thisUpdate" (2030-01-02T00:00:00.000Z)',
      );
    });
  });

  describe('options', () => {
    it('uses caCommonName, caValidityMs and leafValidityMs', async () => {
      const custom = await createTestPki({
        caCommonName: 'other CA',
        caValidityMs: 2 * HOUR_MS,
        leafValidityMs: 10 * MINUTE_MS,
      });
      const now = Date.now();

      expect(custom.ca.subject).toBe('CN=other CA');
      expect(Math.abs(now + 2 * HOUR_MS - custom.ca.notAfter.getTime())).toBeLessThan(5000);
      expect(Math.abs(now + 10 * MINUTE_MS - custom.server.notAfter.getTime())).toBeLessThan(5000);
    });

    it('issues from a given CA, which the original trust in ca.cert accepts', async () => {
      const again = await createTestPki({ ca: { cert: pki.ca.cert, key: pki.ca.key } });
      const issued = await again.client(UPLOADER);

      expect(again.ca.thumbprint).toBe(pki.ca.thumbprint);
      expect(new X509Certificate(issued.cert).checkIssued(new X509Certificate(pki.ca.cert))).toBe(
        true,
      );
      const { server } = await handshake(pki, { cert: issued });
      expect(server.authorized).toBe(true);
    });

    it.each([
      {
        name: 'ca with caCommonName',
        options: () => ({ ca: { cert: pki.ca.cert, key: pki.ca.key }, caCommonName: 'x' }),
        message: '"caCommonName" describes a new CA and cannot be combined with "ca"',
      },
      {
        name: 'a CA key that does not match',
        options: () => ({ ca: { cert: pki.ca.cert, key: pki.server.key } }),
        message: '"ca.key" is not the private key of "ca.cert"',
      },
      {
        name: 'a leaf as CA',
        options: () => ({ ca: { cert: pki.server.cert, key: pki.server.key } }),
        message: '"ca.cert" (CN=localhost) is not a CA certificate (CA:FALSE)',
      },
      {
        name: 'a CA cert that is not PEM',
        options: () => ({ ca: { cert: 'nope', key: pki.ca.key } }),
        message: '"ca.cert" must be a PEM X.509 certificate',
      },
      {
        name: 'a zero caValidityMs',
        options: () => ({ caValidityMs: 0 }),
        message: '"caValidityMs" must be a positive integer (milliseconds), got 0',
      },
    ])('refuses $name', async ({ options, message }) => {
      const error = await createTestPki(options()).catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(TypeError);
      expect(error).toHaveProperty('message', message);
    });

    it.each([
      {
        name: 'notAfter before notBefore',
        options: { notBefore: new Date('2030-01-02T00:00:00Z'), notAfter: new Date('2030-01-01') },
        message:
          '"notAfter" (2030-01-01T00:00:00.000Z) must be after "notBefore" (2030-01-02T00:00:00.000Z)',
      },
      {
        name: 'an IP that is not one',
        options: { ipAddresses: ['localhost'] },
        message: '"ipAddresses" must list IPv4 or IPv6 addresses, got "localhost"',
      },
    ])('issue() refuses $name', async ({ options, message }) => {
      await expect(pki.issue(options)).rejects.toThrow(new TypeError(message));
    });
  });

  describe('writeTo()', () => {
    let dir: string;

    beforeEach(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'test-pki-'));
    });

    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('writes the CA, the server pair, extra pairs and the CRL; keys with mode 0600', async () => {
      const uploader = cert('valid');
      const target = path.join(dir, 'nested', 'pki');
      const written = await pki.writeTo(
        path.relative(process.cwd(), target),
        { uploader: uploader as TestCertificate },
        { withCrl: true },
      );

      expect(written).toEqual({
        caFile: path.join(target, 'ca.crt'),
        certFile: path.join(target, 'server.crt'),
        keyFile: path.join(target, 'server.key'),
        crlFile: path.join(target, 'ca.crl'),
        files: {
          uploader: {
            certFile: path.join(target, 'uploader.crt'),
            keyFile: path.join(target, 'uploader.key'),
          },
        },
      });
      expect(await readFile(written.caFile, 'utf8')).toBe(pki.ca.cert);
      expect(await readFile(written.certFile, 'utf8')).toBe(pki.server.cert);
      expect(await readFile(written.keyFile, 'utf8')).toBe(pki.server.key);
      expect(await readFile(written.files['uploader']?.keyFile ?? '', 'utf8')).toBe(uploader?.key);
      expect(await readFile(written.crlFile ?? '', 'utf8')).toMatch(/^-----BEGIN X509 CRL-----/);
      for (const key of [written.keyFile, written.files['uploader']?.keyFile ?? '']) {
        expect((await stat(key)).mode & 0o777).toBe(0o600);
      }
    });

    it('leaves ca.crl out without withCrl, and replaces an open key file with a 0600 one', async () => {
      const keyFile = path.join(dir, 'server.key');
      await writeFile(keyFile, 'old');
      await chmod(keyFile, 0o644);

      const written = await pki.writeTo(dir);

      expect(written.crlFile).toBeUndefined();
      expect(written.files).toEqual({});
      expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
      expect(await readFile(keyFile, 'utf8')).toBe(pki.server.key);
      await expect(stat(path.join(dir, 'ca.crl'))).rejects.toMatchObject({ code: 'ENOENT' });
    });

    it.each(['../escape', 'ca', 'server', ''])('refuses the extra name %j', async (name) => {
      await expect(pki.writeTo(dir, { [name]: pki.server })).rejects.toThrow(TypeError);
    });
  });
});
