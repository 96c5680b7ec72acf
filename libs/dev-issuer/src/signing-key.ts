import { createHash, generateKeyPairSync } from 'node:crypto';

/** A private ES256 signing key as a JWK, with its `kid`, `alg` and `use`. */
export interface SigningJwk {
  readonly kty: 'EC';
  readonly crv: 'P-256';
  readonly x: string;
  readonly y: string;
  readonly d: string;
  readonly kid: string;
  readonly alg: 'ES256';
  readonly use: 'sig';
}

/**
 * A fresh ECDSA P-256 key for ES256, held only in memory: every start signs with a new key, so
 * no development key is ever written to disk or outlives the process. The `kid` is the key's
 * RFC 7638 JWK thumbprint.
 */
export function createSigningKey(): SigningJwk {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = privateKey.export({ format: 'jwk' });
  const { x, y, d } = jwk;
  if (typeof x !== 'string' || typeof y !== 'string' || typeof d !== 'string') {
    throw new Error('createSigningKey: node:crypto exported an EC JWK without x, y or d');
  }
  // RFC 7638 §3.2: the required members only, in lexicographic order, no whitespace.
  const kid = createHash('sha256')
    .update(JSON.stringify({ crv: 'P-256', kty: 'EC', x, y }))
    .digest('base64url');
  return Object.freeze({ kty: 'EC', crv: 'P-256', x, y, d, kid, alg: 'ES256', use: 'sig' });
}
