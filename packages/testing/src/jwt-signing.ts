import { constants, createHmac, sign, type KeyObject } from 'node:crypto';

/** The asymmetric JWS algorithms (RFC 7518 §3.1) a local issuer can hold keys for. */
export type SigningAlgorithm =
  'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'ES512';

/**
 * Every {@link SigningAlgorithm}, in a stable order: handy for `describe.each`.
 *
 * @example
 * describe.each(SIGNING_ALGORITHMS)('%s', (alg) => { ... });
 */
export const SIGNING_ALGORITHMS: readonly SigningAlgorithm[] = Object.freeze([
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
]);

/** The HMAC algorithms `signRaw()` can produce, for key-confusion tokens. */
export type HmacAlgorithm = 'HS256' | 'HS384' | 'HS512';

/** How a JWS signature is made: with a private key, with an HMAC secret, or not at all. */
export type JwsSigner =
  | { readonly kind: 'asymmetric'; readonly alg: SigningAlgorithm; readonly privateKey: KeyObject }
  | { readonly kind: 'hmac'; readonly alg: HmacAlgorithm; readonly secret: string | Buffer }
  | { readonly kind: 'none' };

const HASH_BY_SUFFIX = { '256': 'sha256', '384': 'sha384', '512': 'sha512' } as const;

/** The elliptic curve each ES algorithm is defined for (RFC 7518 §3.4). */
export const CURVE_BY_ALGORITHM = {
  ES256: 'P-256',
  ES384: 'P-384',
  ES512: 'P-521',
} as const satisfies Record<Extract<SigningAlgorithm, `ES${string}`>, string>;

/** Whether `value` names one of the {@link SIGNING_ALGORITHMS}. */
export function isSigningAlgorithm(value: unknown): value is SigningAlgorithm {
  return typeof value === 'string' && (SIGNING_ALGORITHMS as readonly string[]).includes(value);
}

/** Whether `value` names one of the HMAC algorithms. */
export function isHmacAlgorithm(value: unknown): value is HmacAlgorithm {
  return value === 'HS256' || value === 'HS384' || value === 'HS512';
}

/** The Node.js digest name (`sha256`…) an RS/PS/ES/HS algorithm uses. */
export function hashOf(alg: SigningAlgorithm | HmacAlgorithm): 'sha256' | 'sha384' | 'sha512' {
  return HASH_BY_SUFFIX[alg.slice(2) as keyof typeof HASH_BY_SUFFIX];
}

/** Unpadded base64url (RFC 7515 §2) of a UTF-8 string or of raw bytes. */
export function base64url(input: string | Buffer): string {
  return (typeof input === 'string' ? Buffer.from(input, 'utf8') : input).toString('base64url');
}

/**
 * Encodes one JWS segment: objects are JSON-encoded first, strings are taken as they are, so
 * that attack tokens can carry malformed JSON.
 */
export function encodeSegment(value: Record<string, unknown> | string): string {
  return base64url(typeof value === 'string' ? value : JSON.stringify(value));
}

/** Signs a JWS signing input (`header.payload`) and returns the base64url signature. */
export function signJws(signingInput: string, signer: JwsSigner): string {
  const data = Buffer.from(signingInput, 'ascii');
  switch (signer.kind) {
    case 'none':
      return '';
    case 'hmac':
      return createHmac(hashOf(signer.alg), signer.secret).update(data).digest('base64url');
    case 'asymmetric':
      return sign(hashOf(signer.alg), data, signOptions(signer.alg, signer.privateKey)).toString(
        'base64url',
      );
  }
}

function signOptions(
  alg: SigningAlgorithm,
  privateKey: KeyObject,
):
  | KeyObject
  | { key: KeyObject; padding?: number; saltLength?: number; dsaEncoding?: 'ieee-p1363' } {
  if (alg.startsWith('PS')) {
    // RFC 7518 §3.5: the salt is as long as the digest.
    return {
      key: privateKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
    };
  }
  if (alg.startsWith('ES')) {
    // RFC 7518 §3.4: JWS carries R || S, not the DER sequence Node.js produces by default.
    return { key: privateKey, dsaEncoding: 'ieee-p1363' };
  }
  return privateKey;
}
