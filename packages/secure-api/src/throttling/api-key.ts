import { createHash } from 'node:crypto';

/**
 * One entry of the `apiKeys` option. The key itself is never configured, only its digest,
 * so neither config files nor logs of the options can leak it.
 * @example
 * { id: 'partner-a', sha256: hashApiKey(process.env.PARTNER_A_KEY) } // or the 64 hex chars
 */
export interface ApiKeyConfig {
  /** Names the caller in rate-limit keys and logs: 1–64 of `A-Z a-z 0-9 . _ -`. */
  readonly id: string;
  /** Lower- or upper-case hex SHA-256 of the key (64 hex digits), see {@link hashApiKey}. */
  readonly sha256: string;
}

/**
 * What a request's API key header says about its caller. API keys only pick the caller's
 * rate-limit bucket on `@Public()` data-feed routes; a known key never grants a scope.
 * - `none`: no header;
 * - `known`: the key of configured entry `id`;
 * - `invalid`: a key was sent but is not one of ours (`unknown`), is not a plausible key
 *   (`malformed`: empty, too long, outside visible ASCII), or came in several header lines
 *   (`duplicate`).
 */
export type ApiKeyResult =
  | { readonly kind: 'none' }
  | { readonly kind: 'known'; readonly id: string }
  | { readonly kind: 'invalid'; readonly reason: 'unknown' | 'malformed' | 'duplicate' };

/** Looks the API key header of one request up; built by {@link createApiKeyResolver}. */
export type ApiKeyResolver = (headerValue: string | readonly string[] | undefined) => ApiKeyResult;

/**
 * The longest header value that is hashed. Real keys are well under it; anything longer is
 * refused before hashing so a client cannot make every request hash 16 KiB.
 */
export const MAX_API_KEY_LENGTH = 256;

const ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
const SHA256_HEX_PATTERN = /^[0-9a-fA-F]{64}$/;
// RFC 9110 §5.5 field values may also hold SP, HTAB and obs-text; a key holds none of them.
const VISIBLE_ASCII_PATTERN = /^[\x21-\x7e]+$/;

const NONE: ApiKeyResult = Object.freeze({ kind: 'none' });
const UNKNOWN: ApiKeyResult = Object.freeze({ kind: 'invalid', reason: 'unknown' });
const MALFORMED: ApiKeyResult = Object.freeze({ kind: 'invalid', reason: 'malformed' });
const DUPLICATE: ApiKeyResult = Object.freeze({ kind: 'invalid', reason: 'duplicate' });

/**
 * The hex SHA-256 of an API key, as the `sha256` field of {@link ApiKeyConfig} expects.
 * The key is hashed as UTF-8. A fast unsalted hash is enough here because keys are random
 * server-issued secrets with far more entropy than passwords, not something to brute-force.
 * @example
 * hashApiKey('k3y-for-partner-a') // 64 lower-case hex characters
 */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/**
 * Validates the `apiKeys` option and returns the per-request lookup.
 *
 * The presented key is hashed and its digest looked up in a `Map`. Comparing digests, not
 * keys, is what keeps timing from leaking a key: how long the lookup takes depends on the
 * digest of what the client sent, which the client already knows, and learning digest bytes
 * of a stored key brings an attacker no closer to a key that hashes to it (that would be a
 * SHA-256 preimage). `crypto.timingSafeEqual` over every entry would cost O(keys) per
 * request and protect nothing more.
 * @param keys the `apiKeys` option
 * @throws {TypeError} naming the entry (`[2].sha256 …`); values are never quoted, in case a
 *   plaintext key was pasted into the wrong field
 */
export function createApiKeyResolver(keys: readonly ApiKeyConfig[]): ApiKeyResolver {
  const input: unknown = keys;
  if (!Array.isArray(input)) throw new TypeError('must be an array of { id, sha256 } entries');
  const entries: unknown[] = input;
  const byDigest = new Map<string, ApiKeyResult>();
  const idIndex = new Map<string, number>();
  const digestIndex = new Map<string, number>();
  entries.forEach((entry, index) => {
    if (typeof entry !== 'object' || entry === null) {
      throw new TypeError(`[${index}] must be an object { id, sha256 }`);
    }
    const { id, sha256 } = entry as Record<string, unknown>;
    if (typeof id !== 'string' || !ID_PATTERN.test(id)) {
      throw new TypeError(`[${index}].id must be 1 to 64 characters of A-Z a-z 0-9 . _ -`);
    }
    if (typeof sha256 !== 'string' || !SHA256_HEX_PATTERN.test(sha256)) {
      throw new TypeError(
        `[${index}].sha256 must be the SHA-256 of the key as 64 hexadecimal characters (see hashApiKey()), never the key itself`,
      );
    }
    const digest = sha256.toLowerCase();
    const sameId = idIndex.get(id);
    if (sameId !== undefined) throw new TypeError(`[${index}].id duplicates [${sameId}].id`);
    const sameDigest = digestIndex.get(digest);
    if (sameDigest !== undefined) {
      throw new TypeError(`[${index}].sha256 duplicates [${sameDigest}].sha256 (one key, two ids)`);
    }
    idIndex.set(id, index);
    digestIndex.set(digest, index);
    byDigest.set(digest, Object.freeze({ kind: 'known', id }));
  });

  return (headerValue) => {
    let value: string;
    if (headerValue === undefined) return NONE;
    if (typeof headerValue === 'string') {
      value = headerValue;
    } else {
      // Node keeps unknown duplicate headers only in `headersDistinct`; two keys on one
      // request are ambiguous, so neither is believed.
      if (headerValue.length > 1) return DUPLICATE;
      const [only] = headerValue;
      if (only === undefined) return NONE;
      value = only;
    }
    if (value.length === 0 || value.length > MAX_API_KEY_LENGTH) return MALFORMED;
    if (!VISIBLE_ASCII_PATTERN.test(value)) return MALFORMED;
    return byDigest.get(hashApiKey(value)) ?? UNKNOWN;
  };
}
