import { type X509Certificate } from 'node:crypto';
import { type ConnectionOptions } from 'node:tls';
import { SecureApiError } from '../errors/secure-api.error.js';
import { SecureApiErrorCode } from '../errors/secure-api-error-code.js';
import {
  assertAuthorities,
  assertCurrent,
  assertKeyMatches,
  certificatesOf,
  type PemProblem,
  type PemSource,
  readPemFile,
} from '../tls/pem-checks.js';
import { type ResolvedHttpClientTls } from './http-client-options.js';

/** The client's TLS material, read and checked. */
export interface ClientTlsMaterial {
  /** Client certificate chain, PEM, leaf first. */
  readonly cert: Buffer | undefined;
  readonly key: Buffer | undefined;
  /** CA certificates that verify upstream servers; `undefined`: Node.js's built-in ones. */
  readonly ca: readonly Buffer[] | undefined;
  /** The leaf client certificate, for logs and status. */
  readonly certificate: X509Certificate | undefined;
}

/** What `SecureHttpClient.tlsStatus()` and its `tlsReloaded` event report. */
export interface ClientTlsStatus {
  /** SHA-256 fingerprint of the client certificate new connections present (`AA:BB:…`). */
  readonly certificateFingerprint: string | undefined;
  readonly certificateExpiresAt: Date | undefined;
  /** When the material was last loaded (construction counts). */
  readonly loadedAt: Date;
}

/** Invalid client TLS material: names the file (or option) and its role, never its content. */
export class ClientTlsError extends SecureApiError {
  constructor(source: string, role: string, problem: string, cause?: unknown) {
    super(
      SecureApiErrorCode.TLS_CONFIG_INVALID,
      `SecureHttpClient: the ${role} ${source} ${problem}.`,
      { cause },
    );
  }
}

const fail: PemProblem = (origin, role, problem, cause) =>
  new ClientTlsError(origin.name, role, problem, cause);

function source(
  file: string | undefined,
  memory: Buffer | undefined,
  option: string,
  role: string,
): PemSource | undefined {
  if (file !== undefined) return readPemFile(file, role, fail);
  return memory === undefined ? undefined : { name: `"httpClient.tls.${option}"`, bytes: memory };
}

/**
 * Reads (files) or takes (memory) the client TLS material and checks it: certificates parse, the
 * key matches the client certificate, which is within its validity, and every CA entry is a CA
 * certificate. Synchronous: the files are small, and at construction an error must throw.
 *
 * @throws ClientTlsError (`ERR_SECURE_API_TLS_CONFIG_INVALID`) naming the file or option
 */
export function loadClientTls(
  tls: ResolvedHttpClientTls,
  now: Date = new Date(),
): ClientTlsMaterial {
  const certSource = source(tls.certFile, tls.cert, 'cert', 'client certificate');
  const keySource = source(tls.keyFile, tls.key, 'key', 'client key');
  let certificate: X509Certificate | undefined;
  if (certSource && keySource) {
    [certificate] = certificatesOf(certSource, 'client certificate', fail);
    // certificatesOf() throws when the source holds none, so the leaf is there.
    const leaf = certificate as X509Certificate;
    assertCurrent(leaf, now, certSource, 'client certificate', fail);
    assertKeyMatches(
      keySource,
      leaf,
      certSource.name,
      { key: 'client key', certificate: 'client certificate' },
      fail,
    );
  }
  let ca: Buffer[] | undefined;
  if (tls.caFile !== undefined) {
    ca = [readPemFile(tls.caFile, 'CA file', fail).bytes];
  } else if (tls.ca !== undefined) {
    ca = [...tls.ca];
  }
  ca?.forEach((bytes, index) => {
    const name = tls.caFile === undefined ? `"httpClient.tls.ca[${index}]"` : `"${tls.caFile}"`;
    assertAuthorities({ name, bytes }, undefined, 'CA file', fail);
  });
  return Object.freeze({
    cert: certSource?.bytes,
    key: keySource?.bytes,
    ca: ca && Object.freeze(ca),
    certificate,
  });
}

/** The `tls.connect()` options of the material. */
export function connectionOptions(material: ClientTlsMaterial | undefined): ConnectionOptions {
  if (material === undefined) return {};
  const options: ConnectionOptions = {};
  if (material.cert && material.key) {
    options.cert = material.cert;
    options.key = material.key;
  }
  if (material.ca) options.ca = [...material.ca];
  return options;
}

/** `true` when both hold the same bytes (a reload that changes nothing keeps the pool). */
export function sameMaterial(a: ClientTlsMaterial | undefined, b: ClientTlsMaterial): boolean {
  if (a === undefined) return false;
  const same = (x: Buffer | undefined, y: Buffer | undefined): boolean =>
    x === undefined || y === undefined ? x === y : x.equals(y);
  return (
    same(a.cert, b.cert) &&
    same(a.key, b.key) &&
    (a.ca?.length ?? 0) === (b.ca?.length ?? 0) &&
    (a.ca ?? []).every((bytes, index) => same(bytes, b.ca?.[index]))
  );
}

/** The status of loaded material. */
export function tlsStatusOf(material: ClientTlsMaterial, loadedAt: Date): ClientTlsStatus {
  return Object.freeze({
    certificateFingerprint: material.certificate?.fingerprint256,
    certificateExpiresAt: material.certificate?.validToDate,
    loadedAt,
  });
}
