import { generateKeyPairSync } from 'node:crypto';
import { importVerificationJwk, keyMatchesAlgorithm, type VerificationKey } from './jwk-import.js';

const rsa2048 = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({
  format: 'jwk',
});
const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({
  format: 'jwk',
});
const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'jwk' });
const ed25519 = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
const rsaPrivate = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
  format: 'jwk',
});

function imported(jwk: unknown): VerificationKey {
  const result = importVerificationJwk(jwk);
  if (typeof result === 'string') throw new Error(`refused: ${result}`);
  return result;
}

describe('importVerificationJwk', () => {
  it('imports RSA and EC public keys with their kid and alg', () => {
    const rsa = imported({ ...rsa2048, kid: 'r1', alg: 'RS256', use: 'sig' });
    expect(rsa.kid).toBe('r1');
    expect(rsa.alg).toBe('RS256');
    expect(rsa.key.type).toBe('public');
    expect(rsa.key.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(imported({ ...p256, kid: 'e1' }).key.asymmetricKeyDetails?.namedCurve).toBe(
      'prime256v1',
    );
  });

  it('reads only the public members of a leaked private JWK', () => {
    expect(imported(rsaPrivate).key.type).toBe('public');
  });

  it.each([
    ['an RSA key under 2048 bits', rsa1024, 'RSA key of 1024 bits is too small'],
    ['a symmetric key', { kty: 'oct', k: 'c2VjcmV0' }, 'kty "oct" is not accepted'],
    ['an Ed25519 key', ed25519, 'kty "OKP" is not accepted'],
    ['an encryption key', { ...rsa2048, use: 'enc' }, 'use is not "sig"'],
    [
      'key_ops without verify',
      { ...rsa2048, key_ops: ['encrypt'] },
      'key_ops does not allow "verify"',
    ],
    ['an unsupported alg', { ...rsa2048, alg: 'RSA-OAEP' }, 'alg "RSA-OAEP" is not supported'],
    ['a numeric kid', { ...rsa2048, kid: 7 }, 'kid is not a string'],
    ['an RSA key without e', { kty: 'RSA', n: rsa2048.n }, 'RSA key without n or e'],
    ['an unknown curve', { ...p256, crv: 'secp256k1' }, 'EC key with an unsupported curve'],
    ['an EC point off the curve', { ...p256, y: p256.x }, 'not a valid public key'],
    ['an empty modulus', { kty: 'RSA', n: '!!', e: 'AQAB' }, 'RSA key of 0 bits is too small'],
    ['not an object', 'RSA', 'not an object'],
  ])('refuses %s', (_name, jwk, reason) => {
    expect(importVerificationJwk(jwk)).toBe(reason);
  });
});

describe('keyMatchesAlgorithm', () => {
  const rsa = imported(rsa2048);
  const ecP256 = imported(p256);
  const ecP384 = imported(p384);

  it.each([
    [rsa, 'RS256', true],
    [rsa, 'PS512', true],
    [rsa, 'ES256', false],
    [ecP256, 'ES256', true],
    [ecP256, 'ES384', false],
    [ecP384, 'ES384', true],
    [ecP256, 'RS256', false],
  ] as const)('key %#: %s is %s', (key, alg, expected) => {
    expect(keyMatchesAlgorithm(key, alg)).toBe(expected);
  });

  it('holds a key to the alg its JWK names', () => {
    const pinned = imported({ ...rsa2048, alg: 'RS256' });
    expect(keyMatchesAlgorithm(pinned, 'RS256')).toBe(true);
    expect(keyMatchesAlgorithm(pinned, 'PS256')).toBe(false);
  });
});
