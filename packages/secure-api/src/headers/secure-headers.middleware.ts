import { type IncomingMessage, type ServerResponse } from 'node:http';
import { TLSSocket } from 'node:tls';
import { Inject, Injectable, type NestMiddleware } from '@nestjs/common';
import helmet from 'helmet';
import { acceptsClientRequestId, assignRequestId } from '../logging/request-id.js';
import { clientTrustOf, setClientTrust } from '../logging/request-context.js';
import { type TrustFunction } from '../throttling/client-address.js';
import { SECURE_API_OPTIONS } from '../secure-api.constants.js';
import { type ResolvedSecureApiOptions } from '../secure-api.options.js';
import { helmetOptionsFor } from './helmet-options.js';
import { methodRefusalOf } from './method-refusal.js';

type HelmetHandler = ReturnType<typeof helmet>;

/**
 * Runs on every request, routed or not, before the guards, on both adapters (on Fastify
 * through Nest's middie integration, which hands it the raw Node request and response):
 *
 * 1. gives the request its id (`X-Request-Id`, also in every problem+json body and log line);
 * 2. sets helmet's security headers (`X-Content-Type-Options: nosniff`,
 *    `Content-Security-Policy`, `X-Frame-Options`…) and removes `X-Powered-By`; HSTS only
 *    when the request arrived over TLS;
 * 3. refuses `TRACE` / `TRACK` (405) and method-override headers (400), which the global
 *    exception filter renders as problem+json with the headers of steps 1 and 2.
 *
 * The two helmet handlers are built once, at bootstrap: helmet parses its options when the
 * handler is made, not per request.
 */
@Injectable()
export class SecureHeadersMiddleware implements NestMiddleware<IncomingMessage, ServerResponse> {
  private readonly plain: HelmetHandler | undefined;
  private readonly tls: HelmetHandler | undefined;
  private readonly acceptRequestId: boolean;
  private readonly trust: TrustFunction;

  constructor(@Inject(SECURE_API_OPTIONS) options: ResolvedSecureApiOptions) {
    this.acceptRequestId = acceptsClientRequestId(options);
    this.trust = clientTrustOf(options);
    if (options.headers !== false) {
      this.plain = helmet(helmetOptionsFor(options.headers.helmet, 'plain'));
      this.tls = helmet(helmetOptionsFor(options.headers.helmet, 'tls'));
    }
  }

  use(request: IncomingMessage, response: ServerResponse, next: (error?: unknown) => void): void {
    assignRequestId(request, response, this.acceptRequestId);
    // The rate limiter and the request log then resolve the client's address the same way.
    setClientTrust(request, this.trust);
    const handler = request.socket instanceof TLSSocket ? this.tls : this.plain;
    if (handler === undefined) {
      SecureHeadersMiddleware.refuseOrContinue(request, next);
      return;
    }
    // helmet's handlers are synchronous, so what is thrown in this callback reaches Nest's
    // middleware proxy, which hands it to the exception filter on both adapters; an error
    // passed to next() would be left to the adapter's own error handling.
    handler(request, response, (error?: unknown) => {
      // helmet reports only Errors (a CSP directive function that returned a bad value).
      if (error !== undefined) {
        throw error instanceof Error ? error : new Error('helmet failed', { cause: error });
      }
      SecureHeadersMiddleware.refuseOrContinue(request, next);
    });
  }

  private static refuseOrContinue(request: IncomingMessage, next: () => void): void {
    const refusal = methodRefusalOf(request);
    if (refusal !== undefined) throw refusal;
    next();
  }
}
