import { TokenRejectionReason } from '../errors/secure-api-error-code.js';
import { type Principal } from '../auth/principal.js';
import { type PeerIdentity } from './peer-identity.js';

/**
 * Checks a token's confirmation claim against the connection (RFC 8705 §3): a token with
 * `cnf["x5t#S256"]` is accepted only over a connection whose verified client certificate has
 * that thumbprint, so a stolen token is useless without the client's private key.
 *
 * A `cnf` the module cannot check (malformed, or only other methods such as DPoP's `jkt`) is
 * refused rather than ignored: accepting it as a plain bearer token would drop the binding its
 * issuer asked for (RFC 9449 §7.1 asks the same of a resource server).
 *
 * @returns why the token is refused, or undefined when it may be used on this connection
 */
export function certificateBindingProblem(
  claims: Readonly<Record<string, unknown>>,
  peer: PeerIdentity | undefined,
  requireBound: boolean,
): TokenRejectionReason | undefined {
  const cnf = claims.cnf;
  if (cnf === undefined) {
    return requireBound ? TokenRejectionReason.CERTIFICATE_BINDING_MISSING : undefined;
  }
  if (typeof cnf !== 'object' || cnf === null || Array.isArray(cnf)) {
    return TokenRejectionReason.CONFIRMATION_UNSUPPORTED;
  }
  const thumbprint = (cnf as Record<string, unknown>)['x5t#S256'];
  if (typeof thumbprint !== 'string' || thumbprint === '') {
    return TokenRejectionReason.CONFIRMATION_UNSUPPORTED;
  }
  // Thumbprints are public values (they are in the certificate); no constant-time compare needed.
  return peer?.thumbprint === thumbprint ? undefined : TokenRejectionReason.CERTIFICATE_MISMATCH;
}

const withPeers = new WeakMap<Principal, { peer: PeerIdentity; principal: Principal }>();

/**
 * The principal with the connection's peer, frozen. Cached per principal, so that keep-alive
 * requests with a cached token and the same peer get the same object.
 */
export function principalWithPeer(principal: Principal, peer: PeerIdentity): Principal {
  const known = withPeers.get(principal);
  if (known?.peer === peer) return known.principal;
  const combined: Principal = Object.freeze({ ...principal, peer });
  withPeers.set(principal, { peer, principal: combined });
  return combined;
}
