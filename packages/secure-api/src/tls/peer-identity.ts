// @peculiar/x509 resolves its services through tsyringe, which needs the metadata polyfill at
// load time; Nest loads it too, but this module may be the first to need it.
import 'reflect-metadata';
import { createHash, type X509Certificate } from 'node:crypto';
import { type IncomingMessage } from 'node:http';
import { type TLSSocket } from 'node:tls';
import {
  X509Certificate as PeculiarCertificate,
  SubjectAlternativeNameExtension,
} from '@peculiar/x509';
import { LRUCache } from 'lru-cache';

/**
 * Who is at the other end of a mutual-TLS connection: read from the client certificate the
 * handshake verified against the configured CA. Frozen.
 */
export interface PeerIdentity {
  /**
   * The certificate's SPIFFE ID: its one `spiffe://` URI SAN (X509-SVID §2). Undefined when it
   * has none, or several, which the SPIFFE spec forbids.
   */
  readonly spiffeId: string | undefined;
  /** DNS names from the SAN extension. */
  readonly dnsNames: readonly string[];
  /** The subject distinguished name, e.g. `'CN=uploader, O=example'`. */
  readonly subject: string;
  /**
   * base64url SHA-256 of the DER certificate: the `x5t#S256` that certificate-bound access
   * tokens carry in `cnf` (RFC 8705 §3.1).
   */
  readonly thumbprint: string;
}

/** Identities by thumbprint: the same client reconnects with the same certificate. */
const identities = new LRUCache<string, PeerIdentity>({ max: 1000 });
/** Per connection, so that keep-alive requests do not look the certificate up again. */
const bySocket = new WeakMap<TLSSocket, PeerIdentity | null>();

function identityOf(certificate: X509Certificate): PeerIdentity {
  const thumbprint = createHash('sha256').update(certificate.raw).digest('base64url');
  const known = identities.get(thumbprint);
  if (known !== undefined) return known;
  // Node's subjectAltName is a display string with its own escaping rules; the extension is
  // read from DER instead.
  const parsed = new PeculiarCertificate(certificate.raw);
  const names = parsed.getExtension(SubjectAlternativeNameExtension)?.names.items ?? [];
  const spiffeIds = names
    .filter((name) => name.type === 'url' && name.value.startsWith('spiffe://'))
    .map((name) => name.value);
  const identity: PeerIdentity = Object.freeze({
    spiffeId: spiffeIds.length === 1 ? spiffeIds[0] : undefined,
    dnsNames: Object.freeze(names.filter((name) => name.type === 'dns').map((name) => name.value)),
    subject: parsed.subject,
    thumbprint,
  });
  identities.set(thumbprint, identity);
  return identity;
}

/** The TLS socket under an Express or Fastify request, or undefined over plain HTTP. */
export function tlsSocketOf(request: unknown): TLSSocket | undefined {
  const raw = (request as { raw?: IncomingMessage }).raw ?? (request as IncomingMessage);
  const socket = raw.socket as TLSSocket | undefined;
  return socket !== undefined && socket.encrypted === true ? socket : undefined;
}

/**
 * The verified peer of the request's connection: undefined over plain HTTP, without a client
 * certificate, or when the certificate did not verify (`clientCertificate: 'optional'` lets
 * such a handshake finish; the identity in it is not trusted).
 */
export function peerOf(request: unknown): PeerIdentity | undefined {
  const socket = tlsSocketOf(request);
  if (socket === undefined) return undefined;
  const seen = bySocket.get(socket);
  if (seen !== undefined) return seen ?? undefined;
  const certificate = socket.authorized ? socket.getPeerX509Certificate() : undefined;
  const identity = certificate === undefined ? undefined : identityOf(certificate);
  bySocket.set(socket, identity ?? null);
  return identity;
}

/**
 * Whether a peer matches one allowlist entry: `spiffe://…` against its SPIFFE ID, `dns:name`
 * against its DNS SANs, exactly (case-insensitively for DNS).
 */
export function peerMatches(peer: PeerIdentity, pattern: string): boolean {
  if (pattern.startsWith('dns:')) {
    const name = pattern.slice(4).toLowerCase();
    return peer.dnsNames.some((dns) => dns.toLowerCase() === name);
  }
  return peer.spiffeId !== undefined && peer.spiffeId === pattern;
}
