import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** Where PEM bytes come from: a file, or an option holding them in memory. */
export interface PemOrigin {
  /** What a message calls it, quoted: `"/etc/tls/tls.crt"` or `"httpClient.tls.cert"`. */
  readonly name: string;
  /** The path, when it is a file. */
  readonly file?: string;
}

/** PEM bytes and their origin. */
export interface PemSource extends PemOrigin {
  readonly bytes: Buffer;
}

/**
 * Makes the error for one refused source; the server and the client each word theirs (and
 * keep their own error class), the checks are the same.
 */
export type PemProblem = (
  origin: PemOrigin,
  role: string,
  problem: string,
  cause?: unknown,
) => Error;

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Reads a PEM file; a missing or unreadable one is refused, naming it. */
export function readPemFile(file: string, role: string, fail: PemProblem): PemSource {
  const origin = { name: `"${file}"`, file };
  try {
    return { ...origin, bytes: readFileSync(file) };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw fail(
      origin,
      role,
      code === 'ENOENT' ? 'does not exist' : `cannot be read (${String(code)})`,
      error,
    );
  }
}

/** Every certificate of a PEM source, at least one; a damaged block is refused by number. */
export function certificatesOf(from: PemSource, role: string, fail: PemProblem): X509Certificate[] {
  const blocks = from.bytes.toString('latin1').match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) throw fail(from, role, 'holds no PEM certificate');
  return blocks.map((block, index) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      throw fail(from, role, `holds an unreadable certificate (#${index + 1})`, error);
    }
  });
}

/** Refuses a certificate outside its validity at `now`; `index` numbers it in a bundle. */
export function assertCurrent(
  certificate: X509Certificate,
  now: Date,
  from: PemSource,
  role: string,
  fail: PemProblem,
  index?: number,
): void {
  const which = index === undefined ? 'certificate' : `certificate #${index + 1}`;
  if (certificate.validToDate.getTime() <= now.getTime()) {
    throw fail(
      from,
      role,
      `holds a ${which} that expired on ${certificate.validToDate.toISOString()}`,
    );
  }
  if (certificate.validFromDate.getTime() > now.getTime()) {
    throw fail(
      from,
      role,
      `holds a ${which} that is not valid before ${certificate.validFromDate.toISOString()}`,
    );
  }
}

/** Refuses a key that cannot be read, or that is not the certificate's. */
export function assertKeyMatches(
  key: PemSource,
  certificate: X509Certificate,
  certificateName: string,
  roles: { readonly key: string; readonly certificate: string },
  fail: PemProblem,
): void {
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey(key.bytes);
  } catch (error) {
    throw fail(key, roles.key, 'is not a readable, unencrypted private key', error);
  }
  if (!certificate.checkPrivateKey(keyObject)) {
    throw fail(key, roles.key, `does not match the ${roles.certificate} ${certificateName}`);
  }
}

/** Refuses a CA bundle holding a certificate that is not a CA, or one outside its validity. */
export function assertAuthorities(
  from: PemSource,
  now: Date | undefined,
  role: string,
  fail: PemProblem,
): X509Certificate[] {
  const authorities = certificatesOf(from, role, fail);
  authorities.forEach((authority, index) => {
    if (now !== undefined) assertCurrent(authority, now, from, role, fail, index);
    if (!authority.ca) {
      throw fail(from, role, `holds certificate #${index + 1}, which is not a CA certificate`);
    }
  });
  return authorities;
}
