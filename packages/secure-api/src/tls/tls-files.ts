// @peculiar/x509 resolves its services through tsyringe, which needs the metadata polyfill at
// load time; Nest loads it too, but this module may be the first to need it.
import 'reflect-metadata';
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  AuthorityKeyIdentifierExtension,
  SubjectKeyIdentifierExtension,
  X509Certificate as PeculiarCertificate,
  X509Crl,
} from '@peculiar/x509';
import { SecureApiError } from '../errors/secure-api.error.js';
import { SecureApiErrorCode } from '../errors/secure-api-error-code.js';
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

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

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

function read(file: string, role: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new TlsFileError(
      file,
      role,
      code === 'ENOENT' ? 'does not exist' : `cannot be read (${String(code)})`,
      error,
    );
  }
}

function certificatesOf(pem: Buffer, file: string, role: string): X509Certificate[] {
  const blocks = pem.toString('latin1').match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) throw new TlsFileError(file, role, 'holds no PEM certificate');
  return blocks.map((block, index) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      throw new TlsFileError(file, role, `holds an unreadable certificate (#${index + 1})`, error);
    }
  });
}

function assertCurrent(
  certificate: X509Certificate,
  now: Date,
  file: string,
  role: string,
  index?: number,
): void {
  const which = index === undefined ? 'certificate' : `certificate #${index + 1}`;
  if (certificate.validToDate.getTime() <= now.getTime()) {
    throw new TlsFileError(
      file,
      role,
      `holds a ${which} that expired on ${certificate.validToDate.toISOString()}`,
    );
  }
  if (certificate.validFromDate.getTime() > now.getTime()) {
    throw new TlsFileError(
      file,
      role,
      `holds a ${which} that is not valid before ${certificate.validFromDate.toISOString()}`,
    );
  }
}

function loadCrl(file: string, cas: readonly X509Certificate[], now: Date): Buffer {
  const pem = read(file, 'CRL');
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
  const cert = read(files.certFile, 'certificate');
  const [certificate] = certificatesOf(cert, files.certFile, 'certificate');
  // certificatesOf() throws when the file holds none, so the leaf is there.
  const leaf = certificate as X509Certificate;
  assertCurrent(leaf, now, files.certFile, 'certificate');
  const keyPem = read(files.keyFile, 'key');
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (error) {
    throw new TlsFileError(
      files.keyFile,
      'key',
      'is not a readable, unencrypted private key',
      error,
    );
  }
  if (!leaf.checkPrivateKey(key)) {
    throw new TlsFileError(
      files.keyFile,
      'key',
      `does not match the certificate "${files.certFile}"`,
    );
  }
  let ca: Buffer | undefined;
  let cas: X509Certificate[] = [];
  if (files.caFile !== undefined) {
    ca = read(files.caFile, 'CA file');
    cas = certificatesOf(ca, files.caFile, 'CA file');
    cas.forEach((authority, index) => {
      assertCurrent(authority, now, files.caFile as string, 'CA file', index);
      if (!authority.ca) {
        throw new TlsFileError(
          files.caFile as string,
          'CA file',
          `holds certificate #${index + 1}, which is not a CA certificate`,
        );
      }
    });
  }
  const crl = files.crlFile === undefined ? undefined : loadCrl(files.crlFile, cas, now);
  return { cert, key: keyPem, ca, crl, certificate: leaf };
}
