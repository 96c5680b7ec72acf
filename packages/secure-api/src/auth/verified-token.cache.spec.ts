import { createHash } from 'node:crypto';
import { resolveOptions } from '../secure-api.options.js';
import { type JwksKeyStore } from './jwks-key-store.js';
import { principalFromClaims } from './principal.js';
import { VerifiedTokenCache } from './verified-token.cache.js';

const options = resolveOptions({
  auth: { issuer: 'https://id.example.com', audience: 'https://api.example.com' },
});

/** Only onKeysChanged is used by the cache; the key store itself is tested on its own. */
function keyStore(): { store: JwksKeyStore; changed: () => void } {
  let listener = (): void => undefined;
  const store = {
    onKeysChanged: (next: () => void) => {
      listener = next;
    },
  } as unknown as JwksKeyStore;
  return { store, changed: () => listener() };
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

describe('VerifiedTokenCache', () => {
  describe('keyOf', () => {
    it('is the SHA-256 of the token, never the token', () => {
      const cache = new VerifiedTokenCache(options, keyStore().store);
      expect(cache.keyOf('header.payload.signature')).toBe(digest('header.payload.signature'));
      expect(cache.keyOf('header.payload.signature')).not.toContain('payload');
    });

    it('answers a new token on a connection with its own key, not the previous one', () => {
      const cache = new VerifiedTokenCache(options, keyStore().store);
      const connection = {};
      expect(cache.keyOf('token-a', connection)).toBe(digest('token-a'));
      expect(cache.keyOf('token-a', connection)).toBe(digest('token-a'));
      // A client switching tokens on a keep-alive connection, or a proxy multiplexing clients.
      expect(cache.keyOf('token-b', connection)).toBe(digest('token-b'));
      expect(cache.keyOf('token-a', connection)).toBe(digest('token-a'));
      expect(cache.keyOf('token-b', {})).toBe(digest('token-b'));
    });
  });

  it('serves a principal until the keys change', () => {
    const keys = keyStore();
    const cache = new VerifiedTokenCache(options, keys.store);
    const principal = principalFromClaims(
      {
        iss: 'https://id.example.com',
        sub: 'user-1',
        aud: 'https://api.example.com',
        exp: Math.floor(Date.now() / 1000) + 300,
      },
      options.auth,
    );
    const key = cache.keyOf('token-a');
    cache.set(key, principal);
    expect(cache.get(key)).toBe(principal);
    expect(cache.get(cache.keyOf('token-b'))).toBeUndefined();
    keys.changed();
    expect(cache.get(key)).toBeUndefined();
    expect(cache.size).toBe(0);
  });
});
