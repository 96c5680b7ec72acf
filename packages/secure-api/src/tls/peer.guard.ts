import {
  type CanActivate,
  type ExecutionContext,
  Inject,
  Injectable,
  Logger,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { SecureApiHttpError } from '../errors/secure-api-http.error.js';
import { SecureApiErrorCode } from '../errors/secure-api-error-code.js';
import { type LoggedPrincipal, principalOf } from '../logging/request-context.js';
import { RequestLogContext } from '../logging/request-log-context.js';
import { logSecurityEvent, SecurityEvent } from '../logging/security-event.js';
import { SECURE_API_OPTIONS } from '../secure-api.constants.js';
import { type ResolvedSecureApiOptions } from '../secure-api.options.js';
import { AdminPeersRoute, AllowPeersMetadata } from './allow-peers.decorator.js';
import { peerMatches, peerOf, type PeerIdentity } from './peer-identity.js';

/** 403 for a connection whose peer may not call the route; the reason goes only to the log. */
export function peerNotAllowed(): SecureApiHttpError {
  return new SecureApiHttpError(SecureApiErrorCode.PEER_NOT_ALLOWED, {
    status: 403,
    title: 'Forbidden',
    detail: 'The client certificate does not allow access to this resource.',
  });
}

const NO_LIST = Object.freeze({ peers: undefined });

/** The logged form of each peer, made once: a peer reconnects with the same identity object. */
const loggedPeers = new WeakMap<PeerIdentity, LoggedPrincipal>();

function loggedPeer(peer: PeerIdentity): LoggedPrincipal {
  let logged = loggedPeers.get(peer);
  if (logged === undefined) {
    logged = Object.freeze({ peer: peer.spiffeId ?? peer.subject, authMethod: 'mtls' as const });
    loggedPeers.set(peer, logged);
  }
  return logged;
}

/**
 * Global guard, installed by `SecureApiModule` after the address and global rate limits and
 * before authentication: the connection's verified client certificate must name a peer of
 * `tls.allowedPeers` and of the route's `@AllowPeers()`, when either is set. It runs before the
 * token is verified because the peer is a property of the connection, known without any
 * crypto: a caller that is not allowed learns nothing about its token.
 *
 * Routes without either list are not restricted here. Refusals are `mtls.rejected` security
 * events; the principal of a `@Public()` route is its peer when nothing else identified it.
 */
@Injectable()
export class PeerGuard implements CanActivate {
  private readonly logger = new Logger('SecureApi');
  private readonly moduleList: readonly string[] | undefined;
  private readonly adminList: readonly string[] | undefined;
  private readonly byHandler = new WeakMap<object, { peers: readonly string[] | undefined }>();

  constructor(
    private readonly reflector: Reflector,
    @Inject(SECURE_API_OPTIONS) options: ResolvedSecureApiOptions,
    private readonly logContext: RequestLogContext,
  ) {
    this.moduleList = options.tls?.allowedPeers;
    // resolveOptions() made sure that one of the two is set when TLS asks for certificates.
    const mtls = options.tls !== undefined && options.tls.clientCertificate !== 'none';
    this.adminList = mtls
      ? ((options.logging === false ? undefined : options.logging.adminPeers) ??
        options.tls?.allowedPeers)
      : undefined;
  }

  canActivate(context: ExecutionContext): boolean {
    const routeList = this.routeListOf(context);
    const restricted = routeList !== undefined || this.moduleList !== undefined;
    // Other transports have no TLS peer this guard can see.
    if (context.getType() !== 'http') return !restricted;
    const request = context.switchToHttp().getRequest<object>();
    const peer = peerOf(request);
    if (restricted) {
      if (peer === undefined) throw this.refuse('no-client-certificate');
      if (this.moduleList !== undefined && !this.moduleList.some((p) => peerMatches(peer, p))) {
        throw this.refuse('peer-not-allowed', peer);
      }
      if (routeList !== undefined && !routeList.some((p) => peerMatches(peer, p))) {
        throw this.refuse('peer-not-allowed-on-route', peer);
      }
    }
    // Logged as the caller until a token (JwtAuthGuard) or an API key says more.
    if (peer !== undefined && principalOf(request as never) === undefined) {
      this.logContext.identify(request as never, loggedPeer(peer));
    }
    return true;
  }

  private routeListOf(context: ExecutionContext): readonly string[] | undefined {
    const handler = context.getHandler();
    let entry = this.byHandler.get(handler);
    if (entry === undefined) {
      const admin = this.reflector.get(AdminPeersRoute, context.getClass()) === true;
      const peers = admin
        ? this.adminList
        : this.reflector.getAllAndOverride(AllowPeersMetadata, [handler, context.getClass()]);
      entry = peers === undefined ? NO_LIST : { peers };
      this.byHandler.set(handler, entry);
    }
    return entry.peers;
  }

  private refuse(reason: string, peer?: PeerIdentity): SecureApiHttpError {
    logSecurityEvent(this.logger, SecurityEvent.MTLS_REJECTED, `Peer refused: ${reason}`, {
      reason,
      ...(peer === undefined ? {} : { peer: peer.spiffeId ?? peer.subject }),
    });
    return peerNotAllowed();
  }
}
