import { type IncomingMessage } from 'node:http';
import { TokenRejectionReason } from '../errors/secure-api-error-code.js';
import { type SecureApiHttpError } from '../errors/secure-api-http.error.js';
import { invalidRequest, tokenInvalid, tokenMissing } from './bearer-challenge.js';

/** The adapter-neutral view of a request: Express's is the IncomingMessage, Fastify's wraps it. */
export function incomingMessageOf(request: unknown): IncomingMessage {
  const raw = (request as { raw?: IncomingMessage }).raw;
  return raw ?? (request as IncomingMessage);
}

// RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token; the scheme is case-insensitive (RFC 9110 §11.1).
const BEARER_SCHEME = /^bearer +/i;
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * Takes the bearer token from the one `Authorization` header, refusing every other way of
 * sending it (RFC 6750 §2.2 and §2.3 are optional and leak tokens into logs and histories).
 *
 * The characters of the token are checked by {@link assertBearerSyntax}, which the guard runs
 * only when the token is not in the verified-token cache: a cached token passed it already.
 *
 * @throws SecureApiHttpError 400 `invalid_request` for a token in the query string, two
 *   `Authorization` headers or a scheme other than Bearer; 401 when there is none or it is too
 *   long.
 */
export function extractBearerToken(request: unknown, realm: string, maxLength: number): string {
  const message = incomingMessageOf(request);
  // Node keeps only the first of duplicate Authorization headers in `headers`; `rawHeaders`
  // still has them all, and a second one is an ambiguity we refuse rather than resolve.
  let count = 0;
  const raw = message.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]?.length === 13 && raw[i]?.toLowerCase() === 'authorization') count += 1;
  }
  if (count > 1) {
    throw invalidRequest(
      realm,
      'The request has more than one Authorization header.',
      TokenRejectionReason.DUPLICATE_AUTHORIZATION,
    );
  }
  const url = (request as { originalUrl?: string }).originalUrl ?? message.url ?? '';
  const queryStart = url.indexOf('?');
  if (queryStart !== -1 && new URLSearchParams(url.slice(queryStart + 1)).has('access_token')) {
    throw invalidRequest(
      realm,
      'Access tokens are accepted only in the Authorization header, never in the URL.',
      TokenRejectionReason.TOKEN_IN_QUERY,
    );
  }
  const header = message.headers.authorization;
  if (header === undefined) throw tokenMissing(realm);
  const scheme = BEARER_SCHEME.exec(header);
  if (scheme === null) throw malformedAuthorization(realm);
  const token = header.slice(scheme[0].length);
  if (token.length > maxLength) throw tokenInvalid(realm, TokenRejectionReason.TOO_LONG);
  return token;
}

/**
 * Checks that a credential is an RFC 6750 `b64token`.
 *
 * @throws SecureApiHttpError 400 `invalid_request`
 */
export function assertBearerSyntax(token: string, realm: string): void {
  if (!B64TOKEN.test(token)) throw malformedAuthorization(realm);
}

function malformedAuthorization(realm: string): SecureApiHttpError {
  return invalidRequest(
    realm,
    'The Authorization header must be "Bearer" followed by the access token.',
    TokenRejectionReason.MALFORMED_AUTHORIZATION,
  );
}
