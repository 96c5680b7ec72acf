import { Reflector } from '@nestjs/core';
import { peerPatternProblem } from './tls-options.js';

function validatePeers(peers: string[]): readonly string[] {
  if (peers.length === 0) {
    throw new TypeError('@AllowPeers(): name at least one peer (a SPIFFE ID or dns: name)');
  }
  for (const peer of peers) {
    const problem = peerPatternProblem(peer);
    if (problem !== undefined) {
      throw new TypeError(`@AllowPeers(): ${JSON.stringify(peer)} ${problem}`);
    }
  }
  return Object.freeze([...new Set(peers)]);
}

/**
 * The mutual-TLS peers that may call a controller or handler, by SPIFFE ID
 * (`'spiffe://example.org/sa/uploader'`) or DNS name (`'dns:uploader.internal'`), matched
 * exactly. A request without a verified client certificate, or from another peer, is a 403
 * `ERR_SECURE_API_PEER_NOT_ALLOWED`, before its token is looked at.
 *
 * A handler's list replaces its class's. Both narrow `tls.allowedPeers`: a request must pass the
 * module-wide list and the route's. It restricts who may call; it does not replace `@Scopes()` or
 * `@Public()` (a `@Public()` route with `@AllowPeers()` is one that a known service may call
 * without a token).
 *
 * @example
 * @AllowPeers('spiffe://example.org/sa/uploader')
 * @Scopes('thumbnails.write')
 * @Post('thumbnails') create() {}
 */
export const AllowPeers = (...peers: string[]): ClassDecorator & MethodDecorator =>
  AllowPeersMetadata(validatePeers(peers));

/** The metadata decorator behind {@link AllowPeers}; read it with `Reflector`. */
export const AllowPeersMetadata = Reflector.createDecorator<readonly string[]>();

/**
 * Marks the module's own administration routes (`/admin/log-level`): over mutual TLS they take
 * `logging.adminPeers`, else `tls.allowedPeers`, as their peer list. Internal.
 */
export const AdminPeersRoute = Reflector.createDecorator<true>();
