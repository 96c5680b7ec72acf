// @peculiar/x509 resolves its algorithms through tsyringe, which throws at load time without the
// Reflect metadata API. reflect-metadata is a peer dependency of @nestjs/common and @nestjs/core
// (peers of this package), and importing it twice is harmless.
import 'reflect-metadata';
import {
  KeyObject,
  X509Certificate as NodeX509Certificate,
  createHash,
  createPrivateKey,
  randomBytes,
  webcrypto,
} from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import path from 'node:path';
import * as x509 from '@peculiar/x509';

/** Key type of a certificate made by {@link createTestPki}. */
export type KeyAlgorithm = 'ec-p256' | 'rsa-2048';

/** Extended key usages a test certificate can carry (RFC 5280 §4.2.1.12). */
export type ExtendedKeyUsageName = 'serverAuth' | 'clientAuth';

/**
 * Options of {@link TestPki.issue}.
 * @example
 * await pki.issue({ kind: 'server', dnsNames: ['api.test'], keyAlgorithm: 'rsa-2048' });
 */
export interface IssueOptions {
  /**
   * `'client'`: EKU clientAuth, KeyUsage digitalSignature. `'server'`: EKU serverAuth, KeyUsage
   * digitalSignature (plus keyEncipherment for RSA keys, for TLS 1.2 RSA key exchange).
   * @default 'client'
   */
  kind?: 'client' | 'server';
  /**
   * URI SAN holding the workload's SPIFFE ID, e.g. `'spiffe://example.org/sa/uploader'`. Not
   * checked against the SPIFFE grammar, so that malformed IDs can be tested.
   */
  spiffeId?: string;
  /** Further URI SANs, after `spiffeId` (e.g. a second SPIFFE ID, which SPIFFE forbids). */
  uris?: string[];
  /** DNS SANs. */
  dnsNames?: string[];
  /** IP address SANs, IPv4 or IPv6. */
  ipAddresses?: string[];
  /**
   * Subject CN.
   * @default the last path segment of `spiffeId`, else the first of `dnsNames`, else `'test'`
   */
  commonName?: string;
  /**
   * Start of validity (the certificate keeps whole seconds).
   * @default now - 1 minute
   */
  notBefore?: Date;
  /**
   * End of validity (the certificate keeps whole seconds).
   * @default now + `leafValidityMs` of {@link TestPkiOptions} (1 hour)
   */
  notAfter?: Date;
  /**
   * Replaces the EKU that `kind` implies, e.g. `['serverAuth']` for a client certificate that
   * must be refused. An empty array leaves the EKU extension out (any purpose).
   * @default [kind === 'server' ? 'serverAuth' : 'clientAuth']
   */
  extendedKeyUsage?: ExtendedKeyUsageName[];
  /**
   * Key of the new certificate.
   * @default 'ec-p256'
   */
  keyAlgorithm?: KeyAlgorithm;
}

/**
 * A certificate with its private key, as made by {@link createTestPki}.
 * @example
 * tls.connect({ port, host: 'localhost', ca: pki.ca.cert, cert: client.cert, key: client.key });
 */
export interface TestCertificate {
  /** The certificate (leaf only, no chain), PEM. */
  readonly cert: string;
  /** Its private key, PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). */
  readonly key: string;
  /**
   * base64url (no padding) SHA-256 of the certificate's DER: the `x5t#S256` confirmation of
   * RFC 8705 §3.1.
   */
  readonly thumbprint: string;
  /** Serial number, upper-case hex, as `node:crypto`'s `X509Certificate.serialNumber` prints it. */
  readonly serialNumber: string;
  /** The SPIFFE ID (URI SAN) it was issued for, if any. */
  readonly spiffeId: string | undefined;
  /** Subject as @peculiar/x509 prints it, e.g. `'CN=uploader'`. */
  readonly subject: string;
  /** Start of validity, as written in the certificate (whole seconds). */
  readonly notBefore: Date;
  /** End of validity, as written in the certificate (whole seconds). */
  readonly notAfter: Date;
}

/** An existing CA for {@link createTestPki} to issue from, PEM. */
export interface TestPkiCa {
  /** The CA certificate: basicConstraints CA:true, currently valid. */
  cert: string;
  /** Its private key, PEM (PKCS#8, SEC1 or PKCS#1): ECDSA P-256 or RSA-2048. */
  key: string;
}

/** Options of {@link createTestPki}. */
export interface TestPkiOptions {
  /**
   * Subject CN of a new CA. Not allowed with `ca`.
   * @default 'secure-api test CA'
   */
  caCommonName?: string;
  /**
   * Lifetime of a new CA, milliseconds (valid from one minute ago). Not allowed with `ca`.
   * @default 86_400_000 (24 hours)
   */
  caValidityMs?: number;
  /**
   * Key of a new CA. Not allowed with `ca`.
   * @default 'ec-p256'
   */
  keyAlgorithm?: KeyAlgorithm;
  /**
   * Issue from this CA instead of making one, e.g. a development CA kept on disk.
   * @example
   * const pki = await createTestPki({ ca: { cert: caPem, key: caKeyPem } });
   */
  ca?: TestPkiCa;
  /**
   * Default lifetime of issued certificates (and of `server`), milliseconds from now.
   * @default 3_600_000 (1 hour)
   */
  leafValidityMs?: number;
  /**
   * Key of `server`.
   * @default 'ec-p256'
   */
  serverKeyAlgorithm?: KeyAlgorithm;
}

/** Options of {@link TestPki.crl}: its validity window, for stale-CRL tests. */
export interface CrlOptions {
  /**
   * When the list was issued; revocation dates are never later.
   * @default now - 1 minute
   */
  thisUpdate?: Date;
  /**
   * When the next list is due: a date in the past gives an expired CRL, which OpenSSL refuses.
   * @default thisUpdate + 1 hour + 1 minute (an hour from now)
   */
  nextUpdate?: Date;
}

/** Files written by {@link TestPki.writeTo}, absolute paths. */
export interface TestPkiFiles {
  /** `ca.crt` */
  caFile: string;
  /** `server.crt` */
  certFile: string;
  /** `server.key`, mode 0600 */
  keyFile: string;
  /** `ca.crl`, when `withCrl` was set. */
  crlFile?: string;
  /** Per extra certificate: `<name>.crt` and `<name>.key` (mode 0600). */
  files: Record<string, { certFile: string; keyFile: string }>;
}

/** A throw-away certificate authority for mutual-TLS tests; see {@link createTestPki}. */
export interface TestPki {
  /**
   * The root CA: self-signed, basicConstraints CA:true (critical), keyCertSign and cRLSign.
   * Its `cert` is what servers and clients trust.
   */
  readonly ca: TestCertificate;
  /** Server certificate for DNS `localhost`, IP 127.0.0.1 and ::1, EKU serverAuth. */
  readonly server: TestCertificate;
  /**
   * Issues a certificate signed by this CA.
   * @example
   * const cert = await pki.issue({ kind: 'server', dnsNames: ['api.test'] });
   */
  issue(options?: IssueOptions): Promise<TestCertificate>;
  /**
   * A valid client certificate for this SPIFFE ID: `issue({ ...options, kind: 'client', spiffeId })`.
   * @example
   * const uploader = await pki.client('spiffe://example.org/sa/uploader');
   */
  client(
    spiffeId: string,
    options?: Omit<IssueOptions, 'kind' | 'spiffeId'>,
  ): Promise<TestCertificate>;
  /** Client certificate that expired an hour ago (valid from 2 hours ago to 1 hour ago). */
  expiredClient(spiffeId: string): Promise<TestCertificate>;
  /** Client certificate valid from an hour from now (for an hour). */
  notYetValidClient(spiffeId: string): Promise<TestCertificate>;
  /** Client certificate whose only EKU is serverAuth. */
  serverAuthOnlyClient(spiffeId: string): Promise<TestCertificate>;
  /**
   * A self-signed certificate with a new key that copies `like`'s subject, SANs, EKU, key usage,
   * validity and serial: it looks like `like`, but no CA vouches for it.
   */
  selfSignedCopy(like: TestCertificate): Promise<TestCertificate>;
  /** Adds the certificate's serial to this CA's revocation list (once; revoking twice is a no-op). */
  revoke(cert: TestCertificate): Promise<void>;
  /** Issues a client certificate for this SPIFFE ID and revokes it. */
  revokedClient(spiffeId: string): Promise<TestCertificate>;
  /**
   * The CRL, PEM (`-----BEGIN X509 CRL-----`), signed by the CA and made anew on each call:
   * thisUpdate now - 1 minute, nextUpdate now + 1 hour, every revoked serial (none is an empty
   * list), with AuthorityKeyIdentifier and an increasing CRLNumber. `options` moves the window.
   * @example
   * tls.createServer({ ca: pki.ca.cert, crl: await pki.crl(), requestCert: true, ... });
   * const stale = await pki.crl({
   *   thisUpdate: new Date(Date.now() - 2 * 3_600_000),
   *   nextUpdate: new Date(Date.now() - 3_600_000),
   * });
   */
  crl(options?: CrlOptions): Promise<string>;
  /**
   * Writes `ca.crt`, `server.crt`, `server.key`, and for each `extra` entry `<name>.crt` and
   * `<name>.key`, and `ca.crl` when `withCrl`, into `dir` (created if missing). Keys get mode
   * 0600. Files are replaced, never appended to.
   * @example
   * const { caFile, files } = await pki.writeTo(dir, { uploader: await pki.client(id) });
   */
  writeTo(
    dir: string,
    extra?: Record<string, TestCertificate>,
    options?: { withCrl?: boolean },
  ): Promise<TestPkiFiles>;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/** RFC 5280 §5.2.3 */
const CRL_NUMBER_OID = '2.5.29.20';

const EKU_OID: Readonly<Record<ExtendedKeyUsageName, string>> = {
  serverAuth: x509.ExtendedKeyUsage.serverAuth,
  clientAuth: x509.ExtendedKeyUsage.clientAuth,
};

const KEY_ALGORITHMS: readonly KeyAlgorithm[] = ['ec-p256', 'rsa-2048'];

// The webcrypto of node:crypto is passed to every @peculiar/x509 call rather than installed with
// x509.cryptoProvider.set(): that provider is process-wide, and the package is side-effect free.
const crypto = webcrypto;

interface KeyPair {
  readonly algorithm: KeyAlgorithm;
  readonly publicKey: webcrypto.CryptoKey;
  readonly privateKey: webcrypto.CryptoKey;
}

interface Issuer {
  readonly cert: x509.X509Certificate;
  readonly keys: KeyPair;
  readonly keyId: string;
}

function webAlgorithm(
  algorithm: KeyAlgorithm,
): webcrypto.RsaHashedKeyGenParams | webcrypto.EcKeyGenParams {
  return algorithm === 'rsa-2048'
    ? {
        name: 'RSASSA-PKCS1-v1_5',
        modulusLength: 2048,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: 'SHA-256',
      }
    : { name: 'ECDSA', namedCurve: 'P-256' };
}

/** Signature algorithm for a key: SHA-256 either way. */
function signingAlgorithm(keys: KeyPair): webcrypto.Algorithm | webcrypto.EcdsaParams {
  return keys.algorithm === 'rsa-2048'
    ? { name: 'RSASSA-PKCS1-v1_5' }
    : { name: 'ECDSA', hash: 'SHA-256' };
}

async function generateKeys(algorithm: KeyAlgorithm): Promise<KeyPair> {
  const pair = await crypto.subtle.generateKey(webAlgorithm(algorithm), true, ['sign', 'verify']);
  return { algorithm, publicKey: pair.publicKey, privateKey: pair.privateKey };
}

/** Random positive 128-bit serial (RFC 5280 §4.1.2.2: positive, at most 20 octets). */
function randomSerial(): string {
  const bytes = randomBytes(16);
  // First octet 0x40..0x7f: positive without a 0x00 pad, and no leading zero to be normalised
  // away, so every tool prints the same 32 hex digits.
  bytes[0] = ((bytes[0] ?? 0) & 0x3f) | 0x40;
  return bytes.toString('hex').toUpperCase();
}

function pemKey(key: webcrypto.CryptoKey): string {
  return KeyObject.from(key).export({ type: 'pkcs8', format: 'pem' }).toString();
}

function describeCertificate(
  cert: x509.X509Certificate,
  key: string,
  spiffeId: string | undefined,
): TestCertificate {
  return Object.freeze({
    cert: `${x509.PemConverter.encode(cert.rawData, 'CERTIFICATE')}\n`,
    key,
    thumbprint: createHash('sha256').update(new Uint8Array(cert.rawData)).digest('base64url'),
    serialNumber: cert.serialNumber.toUpperCase(),
    spiffeId,
    subject: cert.subject,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
  });
}

/** DER INTEGER of a small non-negative number. */
function derInteger(value: number): Uint8Array {
  const octets: number[] = [];
  let rest = value;
  do {
    octets.unshift(rest & 0xff);
    rest = Math.floor(rest / 256);
  } while (rest > 0);
  if ((octets[0] ?? 0) & 0x80) octets.unshift(0);
  return new Uint8Array([0x02, octets.length, ...octets]);
}

function checkMs(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isSafeInteger(value) && value > 0)) {
    throw new TypeError(`"${name}" must be a positive integer (milliseconds), got ${value}`);
  }
}

function checkKeyAlgorithm(name: string, value: KeyAlgorithm | undefined): void {
  if (value !== undefined && !KEY_ALGORITHMS.includes(value)) {
    throw new TypeError(
      `"${name}" must be one of ${KEY_ALGORITHMS.map((a) => `'${a}'`).join(', ')}, got ${String(value)}`,
    );
  }
}

function checkDate(name: string, value: Date | undefined): void {
  if (value !== undefined && !(value instanceof Date && Number.isFinite(value.getTime()))) {
    throw new TypeError(`"${name}" must be a valid Date`);
  }
}

function checkOptions(options: TestPkiOptions): void {
  if (options.ca !== undefined) {
    for (const name of ['caCommonName', 'caValidityMs', 'keyAlgorithm'] as const) {
      if (options[name] !== undefined) {
        throw new TypeError(`"${name}" describes a new CA and cannot be combined with "ca"`);
      }
    }
  }
  if (options.caCommonName !== undefined && options.caCommonName.length === 0) {
    throw new TypeError('"caCommonName" must be a non-empty string');
  }
  checkMs('caValidityMs', options.caValidityMs);
  checkMs('leafValidityMs', options.leafValidityMs);
  checkKeyAlgorithm('keyAlgorithm', options.keyAlgorithm);
  checkKeyAlgorithm('serverKeyAlgorithm', options.serverKeyAlgorithm);
}

async function createCa(commonName: string, validityMs: number, algorithm: KeyAlgorithm) {
  const keys = await generateKeys(algorithm);
  const now = Date.now();
  const ski = await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto);
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerial(),
      name: [{ CN: [commonName] }],
      notBefore: new Date(now - MINUTE_MS),
      notAfter: new Date(now + validityMs),
      keys: { publicKey: keys.publicKey, privateKey: keys.privateKey },
      signingAlgorithm: signingAlgorithm(keys),
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
          true,
        ),
        ski,
        new x509.AuthorityKeyIdentifierExtension(ski.keyId),
      ],
    },
    crypto,
  );
  const issuer: Issuer = { cert, keys, keyId: ski.keyId };
  return { issuer, ca: describeCertificate(cert, pemKey(keys.privateKey), undefined) };
}

async function loadCa(given: TestPkiCa) {
  let nodeCert: NodeX509Certificate;
  let keyObject: KeyObject;
  try {
    nodeCert = new NodeX509Certificate(given.cert);
  } catch (error) {
    throw new TypeError('"ca.cert" must be a PEM X.509 certificate', { cause: error });
  }
  try {
    keyObject = createPrivateKey(given.key);
  } catch (error) {
    throw new TypeError('"ca.key" must be a PEM private key', { cause: error });
  }
  if (!nodeCert.ca) {
    throw new TypeError(`"ca.cert" (${nodeCert.subject}) is not a CA certificate (CA:FALSE)`);
  }
  if (new Date(nodeCert.validTo).getTime() <= Date.now()) {
    throw new TypeError(`"ca.cert" (${nodeCert.subject}) expired on ${nodeCert.validTo}`);
  }
  if (!nodeCert.checkPrivateKey(keyObject)) {
    throw new TypeError('"ca.key" is not the private key of "ca.cert"');
  }
  const details = keyObject.asymmetricKeyDetails;
  let algorithm: KeyAlgorithm;
  if (keyObject.asymmetricKeyType === 'ec' && details?.namedCurve === 'prime256v1') {
    algorithm = 'ec-p256';
  } else if (keyObject.asymmetricKeyType === 'rsa' && details?.modulusLength === 2048) {
    algorithm = 'rsa-2048';
  } else {
    throw new TypeError('"ca.key" must be an ECDSA P-256 or RSA-2048 key');
  }
  const webAlg = webAlgorithm(algorithm);
  const keys: KeyPair = {
    algorithm,
    privateKey: keyObject.toCryptoKey(webAlg, true, ['sign']),
    publicKey: nodeCert.publicKey.toCryptoKey(webAlg, true, ['verify']),
  };
  const cert = new x509.X509Certificate(given.cert);
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
  // A CA without a SubjectKeyIdentifier gets the RFC 5280 §4.2.1.2 method (1) key id, which is
  // also what OpenSSL would compute to match AuthorityKeyIdentifier against it.
  const keyId =
    ski?.keyId ??
    Buffer.from(await cert.publicKey.getKeyIdentifier('SHA-1', crypto)).toString('hex');
  const issuer: Issuer = { cert, keys, keyId };
  return {
    issuer,
    ca: describeCertificate(
      cert,
      keyObject.export({ type: 'pkcs8', format: 'pem' }).toString(),
      undefined,
    ),
  };
}

function defaultCommonName(options: IssueOptions): string {
  if (options.spiffeId !== undefined) {
    const segments = options.spiffeId.split('/').filter((segment) => segment.length > 0);
    const last = segments[segments.length - 1];
    if (last !== undefined) return last;
  }
  return options.dnsNames?.[0] ?? 'test';
}

function subjectAltNames(options: IssueOptions): x509.JsonGeneralNames {
  const names: x509.JsonGeneralNames = [];
  for (const value of options.dnsNames ?? []) names.push({ type: 'dns', value });
  for (const value of options.ipAddresses ?? []) {
    if (isIP(value) === 0) {
      throw new TypeError(`"ipAddresses" must list IPv4 or IPv6 addresses, got "${value}"`);
    }
    names.push({ type: 'ip', value });
  }
  if (options.spiffeId !== undefined) names.push({ type: 'url', value: options.spiffeId });
  for (const value of options.uris ?? []) names.push({ type: 'url', value });
  return names;
}

/**
 * Creates an in-memory certificate authority with a `localhost` server certificate, for mutual
 * TLS tests: valid client certificates carrying SPIFFE IDs, and the ones a server must refuse
 * (expired, not yet valid, wrong EKU, self-signed look-alikes, revoked, from another CA).
 * Certificates are real X.509 (SHA-256 signatures, SubjectKeyIdentifier and
 * AuthorityKeyIdentifier, random positive serials) that Node's OpenSSL verifies.
 *
 * A certificate from the wrong CA is simply one from a second PKI.
 *
 * @throws TypeError on invalid options, naming the option.
 * @example
 * const pki = await createTestPki();
 * const server = tls.createServer({
 *   ca: pki.ca.cert, cert: pki.server.cert, key: pki.server.key,
 *   requestCert: true, rejectUnauthorized: true,
 * });
 * const uploader = await pki.client('spiffe://example.org/sa/uploader');
 * tls.connect({ port, host: 'localhost', ca: pki.ca.cert, cert: uploader.cert, key: uploader.key });
 * const stranger = await (await createTestPki()).client('spiffe://example.org/sa/uploader');
 */
export async function createTestPki(options: TestPkiOptions = {}): Promise<TestPki> {
  checkOptions(options);
  const {
    caCommonName = 'secure-api test CA',
    caValidityMs = DAY_MS,
    keyAlgorithm = 'ec-p256',
    leafValidityMs = HOUR_MS,
    serverKeyAlgorithm = 'ec-p256',
  } = options;
  const { issuer, ca } =
    options.ca === undefined
      ? await createCa(caCommonName, caValidityMs, keyAlgorithm)
      : await loadCa(options.ca);
  const aki = new x509.AuthorityKeyIdentifierExtension(issuer.keyId);
  const revoked = new Map<string, Date>();
  let crlNumber = 0;

  async function issue(issueOptions: IssueOptions = {}): Promise<TestCertificate> {
    const {
      kind = 'client',
      keyAlgorithm: leafAlgorithm = 'ec-p256',
      commonName = defaultCommonName(issueOptions),
    } = issueOptions;
    if (kind !== 'client' && kind !== 'server') {
      throw new TypeError(`"kind" must be 'client' or 'server', got ${String(kind)}`);
    }
    checkKeyAlgorithm('keyAlgorithm', leafAlgorithm);
    checkDate('notBefore', issueOptions.notBefore);
    checkDate('notAfter', issueOptions.notAfter);
    const now = Date.now();
    const notBefore = issueOptions.notBefore ?? new Date(now - MINUTE_MS);
    const notAfter = issueOptions.notAfter ?? new Date(now + leafValidityMs);
    if (notAfter.getTime() <= notBefore.getTime()) {
      throw new TypeError(
        `"notAfter" (${notAfter.toISOString()}) must be after "notBefore" (${notBefore.toISOString()})`,
      );
    }
    const eku = issueOptions.extendedKeyUsage ?? [kind === 'server' ? 'serverAuth' : 'clientAuth'];
    for (const usage of eku) {
      if (!(usage in EKU_OID)) {
        throw new TypeError(
          `"extendedKeyUsage" must list 'serverAuth' or 'clientAuth', got ${String(usage)}`,
        );
      }
    }
    const sans = subjectAltNames(issueOptions);
    const keys = await generateKeys(leafAlgorithm);
    let usages = x509.KeyUsageFlags.digitalSignature;
    if (kind === 'server' && leafAlgorithm === 'rsa-2048') {
      usages |= x509.KeyUsageFlags.keyEncipherment;
    }
    const extensions: x509.Extension[] = [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(usages, true),
    ];
    if (eku.length > 0) {
      extensions.push(new x509.ExtendedKeyUsageExtension(eku.map((usage) => EKU_OID[usage])));
    }
    if (sans.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(sans));
    extensions.push(
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      aki,
    );
    const cert = await x509.X509CertificateGenerator.create(
      {
        serialNumber: randomSerial(),
        subject: [{ CN: [commonName] }],
        issuer: issuer.cert.subjectName,
        notBefore,
        notAfter,
        publicKey: keys.publicKey,
        signingKey: issuer.keys.privateKey,
        signingAlgorithm: signingAlgorithm(issuer.keys),
        extensions,
      },
      crypto,
    );
    return describeCertificate(cert, pemKey(keys.privateKey), issueOptions.spiffeId);
  }

  async function selfSignedCopy(like: TestCertificate): Promise<TestCertificate> {
    const original = new x509.X509Certificate(like.cert);
    const keyAlgorithmOfLike: KeyAlgorithm =
      new NodeX509Certificate(like.cert).publicKey.asymmetricKeyType === 'rsa'
        ? 'rsa-2048'
        : 'ec-p256';
    const keys = await generateKeys(keyAlgorithmOfLike);
    const copied = [
      x509.BasicConstraintsExtension,
      x509.KeyUsagesExtension,
      x509.ExtendedKeyUsageExtension,
      x509.SubjectAlternativeNameExtension,
    ]
      .map((type) => original.getExtension<x509.Extension>(type))
      .filter((extension): extension is x509.Extension => extension !== null);
    const ski = await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto);
    const cert = await x509.X509CertificateGenerator.createSelfSigned(
      {
        serialNumber: original.serialNumber,
        name: original.subjectName,
        notBefore: original.notBefore,
        notAfter: original.notAfter,
        keys: { publicKey: keys.publicKey, privateKey: keys.privateKey },
        signingAlgorithm: signingAlgorithm(keys),
        extensions: [...copied, ski, new x509.AuthorityKeyIdentifierExtension(ski.keyId)],
      },
      crypto,
    );
    return describeCertificate(cert, pemKey(keys.privateKey), like.spiffeId);
  }

  function revoke(cert: TestCertificate): Promise<void> {
    const serial = cert.serialNumber.toUpperCase();
    if (!/^[0-9A-F]+$/.test(serial)) {
      return Promise.reject(
        new TypeError(`"serialNumber" must be hex, got "${cert.serialNumber}"`),
      );
    }
    if (!revoked.has(serial)) revoked.set(serial, new Date());
    return Promise.resolve();
  }

  async function crl(crlOptions: CrlOptions = {}): Promise<string> {
    checkDate('thisUpdate', crlOptions.thisUpdate);
    checkDate('nextUpdate', crlOptions.nextUpdate);
    const {
      thisUpdate = new Date(Date.now() - MINUTE_MS),
      nextUpdate = new Date(thisUpdate.getTime() + MINUTE_MS + HOUR_MS),
    } = crlOptions;
    if (nextUpdate.getTime() <= thisUpdate.getTime()) {
      throw new TypeError(
        `"nextUpdate" (${nextUpdate.toISOString()}) must be after "thisUpdate" (${thisUpdate.toISOString()})`,
      );
    }
    crlNumber += 1;
    const list = await x509.X509CrlGenerator.create(
      {
        issuer: issuer.cert.subjectName,
        thisUpdate,
        nextUpdate,
        // Backdated like thisUpdate, so that no revocation postdates the list announcing it.
        entries: [...revoked].map(([serialNumber, revokedAt]) => ({
          serialNumber,
          revocationDate: revokedAt < thisUpdate ? revokedAt : thisUpdate,
        })),
        extensions: [aki, new x509.Extension(CRL_NUMBER_OID, false, derInteger(crlNumber))],
        signingKey: issuer.keys.privateKey,
        signingAlgorithm: signingAlgorithm(issuer.keys),
      },
      crypto,
    );
    // @peculiar/x509 labels CRLs `BEGIN CRL`; OpenSSL (and so node:tls) reads only the RFC 7468
    // §9 label `BEGIN X509 CRL`.
    return `${x509.PemConverter.encode(list.rawData, 'X509 CRL')}\n`;
  }

  const server = await issue({
    kind: 'server',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1', '::1'],
    keyAlgorithm: serverKeyAlgorithm,
  });

  const pki: TestPki = {
    ca,
    server,
    issue,
    client: (spiffeId, clientOptions = {}) => issue({ ...clientOptions, kind: 'client', spiffeId }),
    expiredClient: (spiffeId) =>
      issue({
        kind: 'client',
        spiffeId,
        notBefore: new Date(Date.now() - 2 * HOUR_MS),
        notAfter: new Date(Date.now() - HOUR_MS),
      }),
    notYetValidClient: (spiffeId) =>
      issue({
        kind: 'client',
        spiffeId,
        notBefore: new Date(Date.now() + HOUR_MS),
        notAfter: new Date(Date.now() + 2 * HOUR_MS),
      }),
    serverAuthOnlyClient: (spiffeId) =>
      issue({ kind: 'client', spiffeId, extendedKeyUsage: ['serverAuth'] }),
    selfSignedCopy,
    revoke,
    revokedClient: async (spiffeId) => {
      const cert = await issue({ kind: 'client', spiffeId });
      await revoke(cert);
      return cert;
    },
    crl,
    writeTo: (dir, extra = {}, writeOptions = {}) => writeFiles(pki, dir, extra, writeOptions),
  };
  return Object.freeze(pki);
}

const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Replaces `file` with `data`: a fresh file, so that `mode` holds even if one existed. */
async function replaceFile(file: string, data: string, mode: number): Promise<void> {
  await rm(file, { force: true });
  await writeFile(file, data, { mode, flag: 'wx' });
}

async function writeFiles(
  pki: TestPki,
  dir: string,
  extra: Record<string, TestCertificate>,
  options: { withCrl?: boolean },
): Promise<TestPkiFiles> {
  for (const name of Object.keys(extra)) {
    if (!FILE_NAME.test(name) || name === 'ca' || name === 'server') {
      throw new TypeError(
        `"extra" names become file names: "${name}" must match ${String(FILE_NAME)} and not be "ca" or "server"`,
      );
    }
  }
  const root = path.resolve(dir);
  await mkdir(root, { recursive: true });
  const result: TestPkiFiles = {
    caFile: path.join(root, 'ca.crt'),
    certFile: path.join(root, 'server.crt'),
    keyFile: path.join(root, 'server.key'),
    files: {},
  };
  await replaceFile(result.caFile, pki.ca.cert, 0o644);
  await replaceFile(result.certFile, pki.server.cert, 0o644);
  await replaceFile(result.keyFile, pki.server.key, 0o600);
  for (const [name, cert] of Object.entries(extra)) {
    const files = {
      certFile: path.join(root, `${name}.crt`),
      keyFile: path.join(root, `${name}.key`),
    };
    await replaceFile(files.certFile, cert.cert, 0o644);
    await replaceFile(files.keyFile, cert.key, 0o600);
    result.files[name] = files;
  }
  if (options.withCrl === true) {
    result.crlFile = path.join(root, 'ca.crl');
    await replaceFile(result.crlFile, await pki.crl(), 0o644);
  }
  return result;
}
