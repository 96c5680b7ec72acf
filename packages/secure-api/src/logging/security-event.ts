import { type LoggerService } from '@nestjs/common';

/**
 * The security events the module logs, each a `warn` line with a stable `event` name (and a
 * `reason`, `missingScopes`, `pointers` or `tier`), so that a log store can count and alert on
 * them. None carries a token, a key, a submitted value or a stack.
 */
export const SecurityEvent = Object.freeze({
  /** A bearer token or API key was missing, malformed or refused; `reason` says why. */
  AUTH_FAILURE: 'auth.failure',
  /** An authenticated caller lacked a scope (`missingScopes`), or the route declares none. */
  AUTHZ_DENIED: 'authz.denied',
  /** A request did not match its schema; `pointers` are JSON Pointers, never values. */
  VALIDATION_REJECTED: 'validation.rejected',
  /** A rate-limit tier refused the request; `tier` names it. */
  RATE_LIMITED: 'rate_limit.hit',
  /** A TLS client certificate or its binding to a token was refused. */
  MTLS_REJECTED: 'mtls.rejected',
});

/** One of {@link SecurityEvent}'s names. */
export type SecurityEventName = (typeof SecurityEvent)[keyof typeof SecurityEvent];

/** The fields of a security event besides its name and message. */
export type SecurityEventFields = Readonly<Record<string, string | number | readonly string[]>>;

/**
 * Logs a security event at `warn`, as an object message `{ msg, event, ...fields }`: nestjs-pino
 * writes its members as fields of the line (which carries the request id and principal of the
 * request it happens in); Nest's console logger prints it as JSON.
 *
 * @example
 * logSecurityEvent(this.logger, SecurityEvent.AUTH_FAILURE, 'Bearer authentication failed: expired', { reason: 'expired' });
 */
export function logSecurityEvent(
  logger: Pick<LoggerService, 'warn'>,
  event: SecurityEventName,
  message: string,
  fields: SecurityEventFields = {},
): void {
  logger.warn({ msg: message, event, ...fields });
}
