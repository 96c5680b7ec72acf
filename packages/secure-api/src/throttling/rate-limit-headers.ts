/**
 * The `RateLimit-Policy` and `RateLimit` fields of draft-ietf-httpapi-ratelimit-headers-10
 * (and the -11 editor's copy, which keeps this syntax): Structured Field Lists (RFC 9651,
 * which obsoletes RFC 8941) of String items with Integer parameters, e.g.
 * `RateLimit-Policy: "ip";q=300;w=60` and `RateLimit: "ip";r=0;t=30`. The older
 * `RateLimit-Limit` / `-Remaining` / `-Reset` trio of drafts ≤ -06 is not emitted.
 * @see https://datatracker.ietf.org/doc/draft-ietf-httpapi-ratelimit-headers/
 */

/** One quota policy, advertised in `RateLimit-Policy` (draft §3). */
export interface RateLimitPolicy {
  /** The policy (tier) name, serialized as an sf-string; printable ASCII only. */
  readonly name: string;
  /** `q`: requests allowed per window; a non-negative integer. */
  readonly limit: number;
  /** `w`: the window in whole seconds; a positive integer (the draft has no sub-second). */
  readonly windowSeconds: number;
}

/** The current state of one policy for this client, sent in `RateLimit` (draft §4). */
export interface RateLimitState {
  /** The policy (tier) name, as in {@link RateLimitPolicy.name}. */
  readonly name: string;
  /** `r`: requests left in the window; an integer, negatives (overshoot) are sent as 0. */
  readonly remaining: number;
  /** `t`: whole seconds until quota is given back; a non-negative integer. */
  readonly resetSeconds: number;
}

// RFC 9651 §3.3.1 sf-integer: at most 15 decimal digits.
const MAX_SF_INTEGER = 999_999_999_999_999;

/**
 * The `RateLimit-Policy` field value for several policies, in order, as one sf-list.
 * @throws {TypeError} if a name has characters an sf-string cannot hold or a number is out of
 *   range; call it once at boot with the configured tiers to refuse bad options early
 * @example
 * formatRateLimitPolicy([{ name: 'ip', limit: 300, windowSeconds: 60 }]) // '"ip";q=300;w=60'
 */
export function formatRateLimitPolicy(policies: readonly RateLimitPolicy[]): string {
  if (policies.length === 0) {
    // The draft (§3) requires a non-empty list; an empty field value would be malformed.
    throw new TypeError('RateLimit-Policy needs at least one policy');
  }
  return policies
    .map(
      ({ name, limit, windowSeconds }) =>
        `${sfString(name)};q=${sfInteger(limit, 0, 'limit')};w=${sfInteger(windowSeconds, 1, 'windowSeconds')}`,
    )
    .join(', ');
}

/**
 * The `RateLimit` field value (one list member) for one policy's current state.
 * Several members for one response can be joined with `', '`.
 * @throws {TypeError} as {@link formatRateLimitPolicy}
 * @example
 * formatRateLimit({ name: 'ip', remaining: 0, resetSeconds: 30 }) // '"ip";r=0;t=30'
 */
export function formatRateLimit(state: RateLimitState): string {
  const remaining =
    Number.isSafeInteger(state.remaining) && state.remaining < 0 ? 0 : state.remaining;
  return `${sfString(state.name)};r=${sfInteger(remaining, 0, 'remaining')};t=${sfInteger(state.resetSeconds, 0, 'resetSeconds')}`;
}

/**
 * The `Retry-After` delay-seconds (RFC 9110 §10.2.3) for a wait of `ms` milliseconds:
 * rounded up, since a client retrying a fraction of a second early is throttled again, and
 * at least 1, since `Retry-After: 0` invites an immediate retry of a throttled request.
 * @throws {TypeError} if `ms` is not a finite number
 * @example
 * retryAfterSeconds(1_001) // 2
 */
export function retryAfterSeconds(ms: number): number {
  if (!Number.isFinite(ms)) throw new TypeError(`ms must be a finite number; got ${String(ms)}`);
  return Math.max(1, Math.ceil(ms / 1000));
}

/** Serialized names, so that `RateLimit` on every response does not run the check again. */
const SF_STRINGS = new Map<string, string>();
const MAX_SF_STRINGS = 256;

/**
 * RFC 9651 §4.1.6 (Serializing a String): fails on characters outside %x20-7E, escapes
 * `"` and `\`. Escaping rather than refusing them keeps any printable tier name usable.
 */
function sfString(value: string): string {
  const known = SF_STRINGS.get(value);
  if (known !== undefined) return known;
  const serialized = serializeSfString(value);
  // Tier names are few and fixed at boot; the bound only guards against callers that pass
  // arbitrary names.
  if (SF_STRINGS.size < MAX_SF_STRINGS) SF_STRINGS.set(value, serialized);
  return serialized;
}

function serializeSfString(value: string): string {
  if (!/^[\x20-\x7e]*$/.test(value)) {
    throw new TypeError(
      `policy name ${JSON.stringify(value)} must be printable ASCII (an RFC 9651 sf-string)`,
    );
  }
  return `"${value.replace(/[\\"]/g, '\\$&')}"`;
}

/** RFC 9651 §4.1.4 (Serializing an Integer), restricted to `min` and above. */
function sfInteger(value: number, min: number, field: string): string {
  if (!Number.isSafeInteger(value) || value < min || value > MAX_SF_INTEGER) {
    throw new TypeError(
      `${field} must be an integer from ${min} to ${MAX_SF_INTEGER}; got ${String(value)}`,
    );
  }
  return String(value);
}
