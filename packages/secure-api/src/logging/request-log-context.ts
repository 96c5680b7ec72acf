import { Injectable, Optional } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { type Logger } from 'pino';
import { requestLogOf } from './logger-params.js';
import {
  type LoggedPrincipal,
  markPrincipalBound,
  rawRequestOf,
  requestLoggerOf,
  setPrincipal,
} from './request-context.js';

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
    // Still the logger the module's middleware made for the request (nothing assigned other
    // fields since): the principal joins its bindings in place, and the completion line, which
    // that logger writes, takes it from there. One child logger per request instead of two.
    const own = requestLoggerOf(request);
    const log = requestLogOf();
    if (own !== undefined && log !== undefined && this.pino.logger === own) {
      log.bindPrincipal(own as Logger, principal);
      markPrincipalBound(request);
      return;
    }
    try {
      this.pino.assign({ principal });
    } catch {
      // No request context: the request did not pass nestjs-pino's middleware (logging is off,
      // or the route is excluded from it). The completion line still has the principal.
    }
  }
}
