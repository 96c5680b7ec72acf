import { Injectable, Optional } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { type LoggedPrincipal, rawRequestOf, setPrincipal } from './request-context.js';

/**
 * Ties who made a request to everything logged about it: the completion line reads the
 * principal off the request, and the request's logger gets it as a binding, so that every line
 * logged afterwards during the request (the app's own included) carries it.
 */
@Injectable()
export class RequestLogContext {
  constructor(@Optional() private readonly pino?: PinoLogger) {}

  /** Records the principal of the request; called once it is authenticated. */
  identify(request: Parameters<typeof rawRequestOf>[0], principal: LoggedPrincipal): void {
    setPrincipal(request, principal);
    if (this.pino === undefined) return;
    try {
      this.pino.assign({ principal });
    } catch {
      // No request context: the request did not pass nestjs-pino's middleware (logging is off,
      // or the route is excluded from it). The completion line still has the principal.
    }
  }
}
