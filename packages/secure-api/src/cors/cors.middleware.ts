import { type IncomingMessage, type ServerResponse } from 'node:http';
import { Inject, Injectable, type NestMiddleware } from '@nestjs/common';
import cors from 'cors';
import { SECURE_API_OPTIONS } from '../secure-api.constants.js';
import { type ResolvedCorsOptions, type ResolvedSecureApiOptions } from '../secure-api.options.js';
import { appendVaryOrigin } from './vary-origin.js';

type CorsHandler = ReturnType<typeof cors>;

/** A CORS preflight: `OPTIONS` with `Access-Control-Request-Method` (Fetch standard, "CORS-preflight request"). */
function isPreflight(request: IncomingMessage): boolean {
  return (
    request.method?.toUpperCase() === 'OPTIONS' &&
    request.headers['access-control-request-method'] !== undefined
  );
}

/**
 * The `cors` package's handler for the resolved options. With `preflightContinue`, an
 * `OPTIONS` request is handed on instead of answered.
 *
 * The `origin` callback answers with the request's own `Origin` only when it is in the
 * allowlist, compared as an exact string (`https://app.example.com.evil.test`,
 * `http://app.example.com` and `'null'` are not `https://app.example.com`); otherwise with
 * `false`, and `cors` then sets no header at all and hands the request on.
 */
export function corsHandlerFor(
  options: ResolvedCorsOptions,
  preflightContinue = false,
): CorsHandler {
  const allowed: ReadonlySet<string> = new Set(options.origins);
  const anyOrigin = allowed.has('*');
  return cors({
    origin: (requestOrigin, callback) => {
      if (anyOrigin) {
        // resolveOptions() refuses '*' with credentials, so this never meets a cookie.
        callback(null, '*');
        return;
      }
      callback(
        null,
        requestOrigin !== undefined && allowed.has(requestOrigin) ? requestOrigin : false,
      );
    },
    credentials: options.credentials,
    methods: [...options.methods],
    // An explicit list: left out, `cors` would reflect Access-Control-Request-Headers.
    allowedHeaders: [...options.allowedHeaders],
    exposedHeaders: [...options.exposedHeaders],
    maxAge: options.maxAgeSeconds,
    preflightContinue,
    optionsSuccessStatus: 204,
  });
}

/**
 * Cross-origin resource sharing, on every request, routed or not, before the guards, on both
 * adapters; it runs after {@link SecureHeadersMiddleware}, so a preflight answer carries the
 * security headers too. With `cors` left out it does nothing.
 *
 * - From an allowed origin, a response gets `Access-Control-Allow-Origin` set to exactly that
 *   origin (and `Access-Control-Allow-Credentials: true` when configured); a preflight
 *   (`OPTIONS` with `Access-Control-Request-Method`) is answered `204` here, before the
 *   guards, since a preflight carries no token. An `OPTIONS` request without that header is
 *   no preflight: it is routed, guards and all.
 * - From any other origin, or without one, nothing is added and the request goes on: a
 *   preflight is routed like any `OPTIONS` request (usually `404` problem+json), without an
 *   `Access-Control-Allow-*` header, so the browser blocks the cross-origin call.
 * - `Vary: Origin` is on every response (but with `origins: ['*']`), so that a shared cache
 *   never serves one origin's answer to another (Fetch standard, "CORS protocol and HTTP caches").
 *   A handler that sets `Vary` itself (`@Header('Vary', …)`) replaces it, and must list
 *   `Origin` too.
 *
 * The handler is built once, at bootstrap.
 */
@Injectable()
export class CorsMiddleware implements NestMiddleware<IncomingMessage, ServerResponse> {
  private readonly handler: CorsHandler | undefined;
  private readonly optionsHandler: CorsHandler | undefined;
  private readonly varies: boolean;

  constructor(@Inject(SECURE_API_OPTIONS) options: ResolvedSecureApiOptions) {
    this.handler = options.cors === false ? undefined : corsHandlerFor(options.cors);
    // The cors package takes every OPTIONS request for a preflight.
    this.optionsHandler = options.cors === false ? undefined : corsHandlerFor(options.cors, true);
    this.varies = options.cors !== false && !options.cors.origins.includes('*');
  }

  use(request: IncomingMessage, response: ServerResponse, next: () => void): void {
    if (this.handler === undefined || this.optionsHandler === undefined) {
      next();
      return;
    }
    if (this.varies) appendVaryOrigin(response);
    const handler =
      request.method?.toUpperCase() === 'OPTIONS' && !isPreflight(request)
        ? this.optionsHandler
        : this.handler;
    // The origin callback is synchronous and never fails, so `cors` calls back without an error.
    handler(request, response, () => next());
  }
}
