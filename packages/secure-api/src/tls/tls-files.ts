// @peculiar/x509 resolves its services through tsyringe, which needs the metadata polyfill at
// load time; Nest loads it too, but this module may be the first to need it.
import 'reflect-metadata';
import { type X509Certificate } from 'node:crypto';
import {
  AuthorityKeyIdentifierExtension,
  SubjectKeyIdentifierExtension,
  X509Certificate as PeculiarCertificate,
  X509Crl,
} from '@peculiar/x509';
import { SecureApiError } from '../errors/secure-api.error.js';
import { SecureApiErrorCode } from '../errors/secure-api-error-code.js';
import {
  assertAuthorities,
  assertCurrent,
  assertKeyMatches,
  certificatesOf,
  type PemProblem,
  readPemFile,
} from './pem-checks.js';
import { type ResolvedTlsOptions } from './tls-options.js';

/** The server's TLS material, read from its files and checked. */
export interface TlsMaterial {
  readonly cert: Buffer;
  /** The PEM key, as read. */
  readonly key: Buffer;
  readonly ca: Buffer | undefined;
  readonly crl: Buffer | undefined;
  /** The leaf server certificate, for logs (`fingerprint256`, `validToDate`). */
  readonly certificate: X509Certificate;
}

/** The file members {@link loadTlsMaterial} reads. */
export type TlsFiles = Pick<ResolvedTlsOptions, 'certFile' | 'keyFile' | 'caFile' | 'crlFile'>;

/** The error for one TLS file: it names the file and its role, never its content. */
export class TlsFileError extends SecureApiError {
  constructor(
    readonly file: string,
    role: string,
    problem: string,
    cause?: unknown,
  ) {
    super(
      SecureApiErrorCode.TLS_CONFIG_INVALID,
      `SecureApiModule: the TLS ${role} "${file}" ${problem}.`,
      { cause },
    );
  }
}

/** The server's files are always files, so the origin's path is there. */
const fail: PemProblem = (origin, role, problem, cause) =>
  new TlsFileError(origin.file ?? origin.name, role, problem, cause);

function loadCrl(file: string, cas: readonly X509Certificate[], now: Date): Buffer {
  const pem = readPemFile(file, 'CRL', fail).bytes;
  let crl: X509Crl;
  try {
    crl = new X509Crl(pem.toString('latin1'));
  } catch (error) {
    throw new TlsFileError(file, 'CRL', 'is not a PEM or DER X.509 CRL', error);
  }
  if (crl.nextUpdate !== undefined && crl.nextUpdate.getTime() <= now.getTime()) {
    // OpenSSL refuses every certificate against an expired CRL (X509_V_ERR_CRL_HAS_EXPIRED).
    throw new TlsFileError(
      file,
      'CRL',
      `expired on ${crl.nextUpdate.toISOString()}; with it, every client would be refused`,
    );
  }
  if (!cas.some((ca) => issuedBy(crl, ca))) {
    throw new TlsFileError(
      file,
      'CRL',
      'is not issued by a CA of caFile (name and key identifier); with it, every client would be refused',
    );
  }
  return pem;
}

/**
 * Whether the CRL names the CA as its issuer: the same name (printed by one library for both,
 * so attribute spellings cannot differ) and, when both carry key identifiers, the same key, so
 * that two CAs with one name are told apart. The signature itself OpenSSL checks per handshake.
 */
function issuedBy(crl: X509Crl, ca: X509Certificate): boolean {
  const authority = new PeculiarCertificate(ca.raw);
  if (authority.subject !== crl.issuer) return false;
  const keyId = crl.getExtension(AuthorityKeyIdentifierExtension)?.keyId;
  const subjectKeyId = authority.getExtension(SubjectKeyIdentifierExtension)?.keyId;
  return keyId === undefined || subjectKeyId === undefined || keyId === subjectKeyId;
}

/**
 * Reads and checks the server's TLS files: each exists and parses, the key matches the
 * certificate, the certificate and the CAs are within their validity, the CRL is current and
 * issued by one of the CAs. Synchronous, since `createHttpsOptions()` is called where
 * `NestFactory.create()` takes its options.
 *
 * @throws TlsFileError (`ERR_SECURE_API_TLS_CONFIG_INVALID`) naming the file
 */
export function loadTlsMaterial(files: TlsFiles, now: Date = new Date()): TlsMaterial {
  const cert = readPemFile(files.certFile, 'certificate', fail);
  const [certificate] = certificatesOf(cert, 'certificate', fail);
  // certificatesOf() throws when the file holds none, so the leaf is there.
  const leaf = certificate as X509Certificate;
  assertCurrent(leaf, now, cert, 'certificate', fail);
  const key = readPemFile(files.keyFile, 'key', fail);
  assertKeyMatches(key, leaf, cert.name, { key: 'key', certificate: 'certificate' }, fail);
  const ca = files.caFile === undefined ? undefined : readPemFile(files.caFile, 'CA file', fail);
  const cas = ca === undefined ? [] : assertAuthorities(ca, now, 'CA file', fail);
  const crl = files.crlFile === undefined ? undefined : loadCrl(files.crlFile, cas, now);
  return { cert: cert.bytes, key: key.bytes, ca: ca?.bytes, crl, certificate: leaf };
}
