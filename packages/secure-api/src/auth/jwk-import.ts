import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { type JwsAlgorithm, SUPPORTED_ALGORITHMS } from '../secure-api.options.js';

/** A verification key imported once from a JWK. */
export interface VerificationKey {
  readonly kid: string | undefined;
  /** The JWK's `alg`, when it names one; a token must then use exactly that algorithm. */
  readonly alg: JwsAlgorithm | undefined;
  readonly key: KeyObject;
  /** Key family and, for EC keys, the OpenSSL curve name: read once, at import. */
  readonly type: 'rsa' | 'ec';
  readonly curve: string | undefined;
  /** SHA-256 of the DER public key, to tell whether a refetched key set changed. */
  readonly fingerprint: string;
}

/** Smallest RSA modulus accepted (NIST SP 800-131A; RFC 7518 §3.3 requires 2048). */
export const MIN_RSA_MODULUS_BITS = 2048;

const CURVE_OF: Readonly<Record<string, string>> = {
  'P-256': 'prime256v1',
  'P-384': 'secp384r1',
  'P-521': 'secp521r1',
};

const CURVE_FOR_ALG: Readonly<Record<string, string>> = {
  ES256: 'prime256v1',
  ES384: 'secp384r1',
  ES512: 'secp521r1',
};

function stringMember(jwk: Record<string, unknown>, name: string): string | undefined {
  const value = jwk[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * Imports one JWK for signature verification, or explains why it is unusable.
 *
 * Only the public members are read (a JWKS that leaks `d` still yields a public key), only
 * `RSA` and `EC` keys are accepted (never `oct`: a symmetric key in a public set would let the
 * verifier accept HMAC tokens anyone can mint), and RSA keys under 2048 bits are refused.
 */
export function importVerificationJwk(jwk: unknown): VerificationKey | string {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) return 'not an object';
  const record = jwk as Record<string, unknown>;
  const kty = stringMember(record, 'kty');
  const use = record.use;
  if (use !== undefined && use !== 'sig') return `use is not "sig"`;
  const keyOps = record.key_ops;
  if (keyOps !== undefined && !(Array.isArray(keyOps) && keyOps.includes('verify'))) {
    return 'key_ops does not allow "verify"';
  }
  const kid = record.kid;
  if (kid !== undefined && typeof kid !== 'string') return 'kid is not a string';
  const alg = record.alg;
  if (alg !== undefined && !(SUPPORTED_ALGORITHMS as readonly unknown[]).includes(alg)) {
    return `alg ${JSON.stringify(alg)} is not supported`;
  }
  let publicJwk: Record<string, string>;
  if (kty === 'RSA') {
    const n = stringMember(record, 'n');
    const e = stringMember(record, 'e');
    if (!n || !e) return 'RSA key without n or e';
    publicJwk = { kty, n, e };
  } else if (kty === 'EC') {
    const crv = stringMember(record, 'crv');
    const x = stringMember(record, 'x');
    const y = stringMember(record, 'y');
    if (!crv || !(crv in CURVE_OF) || !x || !y) return 'EC key with an unsupported curve';
    publicJwk = { kty, crv, x, y };
  } else {
    return `kty ${JSON.stringify(kty)} is not accepted`;
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: publicJwk, format: 'jwk' });
  } catch {
    return 'not a valid public key';
  }
  if (kty === 'RSA') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_MODULUS_BITS) return `RSA key of ${bits} bits is too small`;
  }
  const fingerprint = createHash('sha256')
    .update(key.export({ format: 'der', type: 'spki' }))
    .digest('base64url');
  return {
    kid,
    alg: alg as JwsAlgorithm | undefined,
    key,
    type: kty === 'RSA' ? 'rsa' : 'ec',
    curve: key.asymmetricKeyDetails?.namedCurve,
    fingerprint,
  };
}

/**
 * Whether a key may verify a signature made with `alg`: the key family must match the
 * algorithm family and, for ECDSA, the curve must be the algorithm's (RFC 7518 §3.4).
 */
export function keyMatchesAlgorithm(key: VerificationKey, alg: JwsAlgorithm): boolean {
  if (key.alg !== undefined && key.alg !== alg) return false;
  if (alg.startsWith('RS') || alg.startsWith('PS')) return key.type === 'rsa';
  return key.type === 'ec' && key.curve === CURVE_FOR_ALG[alg];
}
