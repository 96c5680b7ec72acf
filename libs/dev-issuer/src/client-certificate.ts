import type { X509Certificate } from 'node:crypto';
import { TLSSocket } from 'node:tls';
import type { ProviderContext } from 'oidc-provider';

/**
 * The client certificate of the request's TLS connection, or `undefined` on plain HTTP or when
 * the client sent none: `features.mTLS.getCertificate`. oidc-provider hashes the DER of an
 * `X509Certificate` for `cnf["x5t#S256"]` (RFC 8705 §3.1).
 */
export function peerCertificate(ctx: ProviderContext): X509Certificate | undefined {
  const { socket } = ctx.req;
  return socket instanceof TLSSocket ? socket.getPeerX509Certificate() : undefined;
}

/**
 * Whether the client certificate chains to the configured CA: `features.mTLS.
 * certificateAuthorized`. The TLS server asks for a certificate without rejecting the handshake
 * (`rejectUnauthorized: false`), because oidc-provider decides per client whether one is needed;
 * OpenSSL's verdict is `socket.authorized`.
 */
export function certificateAuthorized(ctx: ProviderContext): boolean {
  const { socket } = ctx.req;
  return socket instanceof TLSSocket && socket.authorized;
}

// Node.js prints SANs as "DNS:a, URI:b"; a value with a comma or quote is JSON-quoted.
const SAN_ENTRY = /(DNS|URI|IP Address|email):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g;

function sanValues(certificate: X509Certificate, type: 'DNS' | 'URI'): string[] {
  const values: string[] = [];
  for (const [, kind, raw = ''] of (certificate.subjectAltName ?? '').matchAll(SAN_ENTRY)) {
    if (kind === type) values.push(raw.startsWith('"') ? (JSON.parse(raw) as string) : raw);
  }
  return values;
}

/**
 * Whether `certificate` carries the registered identity `expected` of the `tls_client_auth_*`
 * client metadata `property` (RFC 8705 §2.1.2). `tls_client_auth_san_uri` and `_san_dns` match
 * one SAN exactly; `tls_client_auth_subject_dn` matches the subject's lines as Node.js prints
 * them, joined by `,` (a string comparison, not RFC 4514 DN matching: enough for certificates
 * the dev PKI makes). Other properties never match.
 */
export function certificateHasIdentity(
  certificate: X509Certificate,
  property: string,
  expected: string,
): boolean {
  switch (property) {
    case 'tls_client_auth_san_uri':
      return sanValues(certificate, 'URI').includes(expected);
    case 'tls_client_auth_san_dns':
      return sanValues(certificate, 'DNS').includes(expected);
    case 'tls_client_auth_subject_dn':
      return certificate.subject.split('\n').join(',') === expected;
    default:
      return false;
  }
}

/**
 * {@link certificateHasIdentity} for the request's client certificate:
 * `features.mTLS.certificateSubjectMatches`.
 */
export function certificateSubjectMatches(
  ctx: ProviderContext,
  property: string,
  expected: string,
): boolean {
  const certificate = peerCertificate(ctx);
  return certificate !== undefined && certificateHasIdentity(certificate, property, expected);
}
