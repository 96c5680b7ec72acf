import { SecureApiHttpError } from '../errors/secure-api-http.error.js';
import { SecureApiErrorCode, TokenRejectionReason } from '../errors/secure-api-error-code.js';

/** RFC 6750 §3 challenge parameters. */
interface Challenge {
  error?: 'invalid_request' | 'invalid_token' | 'insufficient_scope';
  errorDescription?: string;
  scope?: string;
}

/**
 * Builds a `WWW-Authenticate: Bearer …` value. Every parameter comes from configuration or
 * from fixed strings validated at boot (realm, scope tokens), never from the request.
 */
export function bearerChallenge(realm: string, challenge: Challenge = {}): string {
  const params = [`realm="${realm}"`];
  if (challenge.error) params.push(`error="${challenge.error}"`);
  if (challenge.errorDescription) params.push(`error_description="${challenge.errorDescription}"`);
  if (challenge.scope) params.push(`scope="${challenge.scope}"`);
  return `Bearer ${params.join(', ')}`;
}

/** 400 `invalid_request`: credentials sent in an unsupported or ambiguous way. */
export function invalidRequest(
  realm: string,
  detail: string,
  reason: TokenRejectionReason,
): SecureApiHttpError {
  return new SecureApiHttpError(SecureApiErrorCode.INVALID_REQUEST, {
    status: 400,
    title: 'Invalid request',
    detail,
    reason,
    headers: {
      'www-authenticate': bearerChallenge(realm, {
        error: 'invalid_request',
        errorDescription: 'Send the access token in one Authorization: Bearer header',
      }),
    },
  });
}

/** 401 without an error code: no credentials were sent (RFC 6750 §3.1). */
export function tokenMissing(realm: string): SecureApiHttpError {
  return new SecureApiHttpError(SecureApiErrorCode.TOKEN_MISSING, {
    status: 401,
    title: 'Unauthorized',
    detail: 'This resource requires a bearer access token.',
    reason: TokenRejectionReason.MISSING,
    headers: { 'www-authenticate': bearerChallenge(realm) },
  });
}

/** 401 `invalid_token`, with a generic description; the reason goes only to the log. */
export function tokenInvalid(
  realm: string,
  reason: TokenRejectionReason,
  cause?: unknown,
): SecureApiHttpError {
  const expired = reason === TokenRejectionReason.EXPIRED;
  const description = expired ? 'The access token expired' : 'The access token is invalid';
  return new SecureApiHttpError(
    expired ? SecureApiErrorCode.TOKEN_EXPIRED : SecureApiErrorCode.TOKEN_INVALID,
    {
      status: 401,
      title: 'Unauthorized',
      detail: `${description}.`,
      reason,
      cause,
      headers: {
        'www-authenticate': bearerChallenge(realm, {
          error: 'invalid_token',
          errorDescription: description,
        }),
      },
    },
  );
}

/** 403 `insufficient_scope`, naming the scopes the token lacks. */
export function insufficientScope(realm: string, missing: readonly string[]): SecureApiHttpError {
  return new SecureApiHttpError(SecureApiErrorCode.INSUFFICIENT_SCOPE, {
    status: 403,
    title: 'Forbidden',
    detail: 'The access token does not grant the scope this resource requires.',
    reason: `missing ${missing.join(' ')}`,
    headers: {
      'www-authenticate': bearerChallenge(realm, {
        error: 'insufficient_scope',
        scope: missing.join(' '),
      }),
    },
  });
}

/** 503: no key set was ever loaded, so nothing can be verified; the issuer, not the client, is at fault. */
export function keysUnavailable(retryAfterSeconds: number): SecureApiHttpError {
  return new SecureApiHttpError(SecureApiErrorCode.JWKS_UNAVAILABLE, {
    status: 503,
    title: 'Service Unavailable',
    detail: 'Access tokens cannot be verified right now.',
    reason: TokenRejectionReason.KEYS_UNAVAILABLE,
    headers: { 'retry-after': String(retryAfterSeconds) },
  });
}

/** 403 for a route that declares neither `@Scopes()` nor `@Public()` (default deny). */
export function routeNotDeclared(): SecureApiHttpError {
  return new SecureApiHttpError(SecureApiErrorCode.ROUTE_NOT_DECLARED, {
    status: 403,
    title: 'Forbidden',
    detail: 'Access to this resource is denied.',
    reason: 'route declares neither @Scopes() nor @Public()',
  });
}
