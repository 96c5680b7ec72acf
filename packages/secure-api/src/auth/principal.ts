import { type ResolvedSecureApiOptions } from '../secure-api.options.js';
import { type PeerIdentity } from '../tls/peer-identity.js';

/**
 * How the caller proved who it is: a bearer access token (bound to the client certificate when
 * its `cnf` says so; the peer is then in `peer`).
 */
export type AuthMethod = 'bearer';

/**
 * The authenticated caller, built from a verified access token. Frozen; the same object may be
 * served to several requests from the verified-token cache, so it must not be mutated.
 */
export interface Principal {
  /** `sub`: the user or, for client-credentials tokens, usually the client. */
  readonly subject: string | undefined;
  /** `client_id` (RFC 9068 §2.2), else `azp` (OIDC Core §2). */
  readonly clientId: string | undefined;
  /** Scopes granted, from the configured scope claims, de-duplicated. */
  readonly scopes: readonly string[];
  readonly issuer: string;
  /** `aud`, always as an array. */
  readonly audience: readonly string[];
  /** `jti`. */
  readonly tokenId: string | undefined;
  /** `exp`, in seconds since the epoch. */
  readonly expiresAt: number;
  /** Every verified claim, frozen. */
  readonly claims: Readonly<Record<string, unknown>>;
  readonly authMethod: AuthMethod;
  /**
   * The verified client certificate of the connection, over mutual TLS (see
   * `SecureApiModuleOptions.tls`); undefined otherwise.
   */
  readonly peer?: PeerIdentity;
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * Reads scopes from `scope` (space-delimited, RFC 8693 §4.2) and `scp` (string or array) or
 * the configured claims. A claim of another type grants nothing, which makes the scope check
 * answer 403 rather than fail with a 500.
 */
export function scopesFromClaims(
  claims: Readonly<Record<string, unknown>>,
  scopeClaims: readonly string[],
): string[] {
  const scopes = new Set<string>();
  for (const name of scopeClaims) {
    const value = claims[name];
    const items = typeof value === 'string' ? value.split(' ') : Array.isArray(value) ? value : [];
    for (const item of items) {
      if (typeof item === 'string' && item !== '') scopes.add(item);
    }
  }
  return [...scopes];
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}

/** Builds the frozen principal from verified claims. */
export function principalFromClaims(
  claims: Record<string, unknown>,
  options: ResolvedSecureApiOptions['auth'],
): Principal {
  const aud = claims.aud;
  return Object.freeze({
    subject: optionalString(claims.sub),
    clientId: optionalString(claims.client_id) ?? optionalString(claims.azp),
    scopes: Object.freeze(scopesFromClaims(claims, options.scopeClaims)),
    issuer: claims.iss as string,
    audience: Object.freeze(
      (Array.isArray(aud) ? aud : [aud]).filter((a): a is string => typeof a === 'string'),
    ),
    tokenId: optionalString(claims.jti),
    expiresAt: claims.exp as number,
    claims: deepFreeze(claims),
    authMethod: 'bearer' as const,
  });
}
