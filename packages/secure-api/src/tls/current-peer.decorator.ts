import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { peerOf, type PeerIdentity } from './peer-identity.js';

/**
 * The verified mutual-TLS peer of the request's connection ({@link PeerIdentity}), or undefined
 * without one. On authenticated routes it is also `principal.peer`.
 *
 * @example
 * @Public() @AllowPeers('spiffe://example.org/sa/uploader')
 * @Post('hooks/uploaded') uploaded(@CurrentPeer() peer: PeerIdentity) {}
 */
export const CurrentPeer = createParamDecorator(
  (_data: unknown, context: ExecutionContext): PeerIdentity | undefined =>
    peerOf(context.switchToHttp().getRequest<unknown>()),
);
