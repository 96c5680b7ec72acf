import {
  MAX_API_KEY_LENGTH,
  createApiKeyResolver,
  hashApiKey,
  type ApiKeyConfig,
  type ApiKeyResult,
} from './api-key.js';

const KEY_A = 'sk_live_partnerA_4f9c2e7b1d8a6035';
const KEY_B = 'sk_live_partnerB_90e1c3d5f7a2b468';
// SHA-256 of the empty string (FIPS 180-4 test vector), computed independently of hashApiKey.
const SHA256_EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
// SHA-256 of "abc" (FIPS 180-4 test vector).
const SHA256_ABC = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';

const KEYS: readonly ApiKeyConfig[] = [
  { id: 'partner-a', sha256: hashApiKey(KEY_A) },
  // Upper-case hex is accepted too.
  { id: 'partner.b_2', sha256: hashApiKey(KEY_B).toUpperCase() },
];

describe('hashApiKey', () => {
  it.each([
    ['', SHA256_EMPTY],
    ['abc', SHA256_ABC],
  ])('hashes %j to the FIPS 180-4 digest', (key, digest) => {
    expect(hashApiKey(key)).toBe(digest);
  });
});

describe('createApiKeyResolver', () => {
  const resolve = createApiKeyResolver(KEYS);

  it.each<[string, string | readonly string[] | undefined, ApiKeyResult]>([
    ['no header', undefined, { kind: 'none' }],
    ['no header lines', [], { kind: 'none' }],
    ['key A', KEY_A, { kind: 'known', id: 'partner-a' }],
    ['key B, configured in upper-case hex', KEY_B, { kind: 'known', id: 'partner.b_2' }],
    ['key A as the only header line', [KEY_A], { kind: 'known', id: 'partner-a' }],
    ['an unknown key', 'sk_live_someone_else', { kind: 'invalid', reason: 'unknown' }],
    [
      'key A with one character changed',
      `${KEY_A.slice(0, -1)}6`,
      { kind: 'invalid', reason: 'unknown' },
    ],
    ['key A in another case', KEY_A.toUpperCase(), { kind: 'invalid', reason: 'unknown' }],
    [
      'the configured digest instead of the key',
      hashApiKey(KEY_A),
      { kind: 'invalid', reason: 'unknown' },
    ],
    ['two header lines', [KEY_A, KEY_B], { kind: 'invalid', reason: 'duplicate' }],
    ['the same key twice', [KEY_A, KEY_A], { kind: 'invalid', reason: 'duplicate' }],
    ['an empty value', '', { kind: 'invalid', reason: 'malformed' }],
    ['a space inside', 'sk live', { kind: 'invalid', reason: 'malformed' }],
    ['a tab', `${KEY_A}\t`, { kind: 'invalid', reason: 'malformed' }],
    ['a control character', `${KEY_A}\u0000`, { kind: 'invalid', reason: 'malformed' }],
    ['DEL', `${KEY_A}\u007f`, { kind: 'invalid', reason: 'malformed' }],
    ['non-ASCII', 'clé-secrète', { kind: 'invalid', reason: 'malformed' }],
    [
      'just over the cap',
      'k'.repeat(MAX_API_KEY_LENGTH + 1),
      { kind: 'invalid', reason: 'malformed' },
    ],
    ['at the cap', 'k'.repeat(MAX_API_KEY_LENGTH), { kind: 'invalid', reason: 'unknown' }],
  ])('%s', (_label, header, expected) => {
    expect(resolve(header)).toEqual(expected);
  });

  it('finds a key configured at the length cap', () => {
    const key = '~'.repeat(MAX_API_KEY_LENGTH);
    expect(createApiKeyResolver([{ id: 'long', sha256: hashApiKey(key) }])(key)).toEqual({
      kind: 'known',
      id: 'long',
    });
  });

  it('knows no key when none is configured', () => {
    expect(createApiKeyResolver([])(KEY_A)).toEqual({ kind: 'invalid', reason: 'unknown' });
  });

  it('returns frozen results, so a caller cannot rename a partner for everyone', () => {
    expect(Object.isFrozen(resolve(KEY_A))).toBe(true);
    expect(Object.isFrozen(resolve('nope'))).toBe(true);
  });

  it.each<[string, unknown, string]>([
    ['not an array', { id: 'a', sha256: SHA256_ABC }, 'must be an array'],
    ['a null entry', [null], '[0] must be an object'],
    ['a missing id', [{ sha256: SHA256_ABC }], '[0].id must be 1 to 64 characters'],
    ['an empty id', [{ id: '', sha256: SHA256_ABC }], '[0].id must be 1 to 64 characters'],
    ['an id of 65 characters', [{ id: 'a'.repeat(65), sha256: SHA256_ABC }], '[0].id must be'],
    ['an id with a space', [{ id: 'partner a', sha256: SHA256_ABC }], '[0].id must be'],
    ['an id with a colon', [{ id: 'partner:a', sha256: SHA256_ABC }], '[0].id must be'],
    ['a missing sha256', [{ id: 'a' }], '[0].sha256 must be the SHA-256'],
    ['63 hex digits', [{ id: 'a', sha256: SHA256_ABC.slice(1) }], '[0].sha256 must be'],
    ['65 hex digits', [{ id: 'a', sha256: `${SHA256_ABC}0` }], '[0].sha256 must be'],
    ['a non-hex digit', [{ id: 'a', sha256: `${SHA256_ABC.slice(1)}g` }], '[0].sha256 must be'],
    [
      'base64 instead of hex',
      [{ id: 'a', sha256: 'ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=' }],
      '[0].sha256 must be',
    ],
    [
      'a duplicate id',
      [
        { id: 'a', sha256: SHA256_ABC },
        { id: 'b', sha256: SHA256_EMPTY },
        { id: 'a', sha256: hashApiKey('x') },
      ],
      '[2].id duplicates [0].id',
    ],
    [
      'a duplicate digest, differing only in case',
      [
        { id: 'a', sha256: SHA256_ABC },
        { id: 'b', sha256: SHA256_ABC.toUpperCase() },
      ],
      '[1].sha256 duplicates [0].sha256',
    ],
  ])('refuses %s with a TypeError naming the entry', (_label, keys, message) => {
    expect(() => createApiKeyResolver(keys as readonly ApiKeyConfig[])).toThrow(TypeError);
    expect(() => createApiKeyResolver(keys as readonly ApiKeyConfig[])).toThrow(message);
  });

  describe('never reveals a plaintext key', () => {
    it.each<[string, string | readonly string[]]>([
      ['a known key', KEY_A],
      ['an unknown key', 'sk_live_unknown_0123456789'],
      ['a duplicate header', [KEY_A, KEY_B]],
      ['a malformed key', `${KEY_A} with spaces`],
    ])('in the result for %s', (_label, header) => {
      const serialized = JSON.stringify(resolve(header));
      for (const key of typeof header === 'string' ? [header] : header) {
        expect(serialized).not.toContain(key);
      }
    });

    const ODD_KEY = 'sk live/with+other=chars';
    it.each<[string, string, unknown]>([
      ['pasted into sha256', KEY_A, [{ id: 'a', sha256: KEY_A }]],
      ['with odd characters, pasted into sha256', ODD_KEY, [{ id: 'a', sha256: ODD_KEY }]],
      ['with odd characters, pasted into id', ODD_KEY, [{ id: ODD_KEY, sha256: SHA256_ABC }]],
      [
        'used as a duplicate id',
        KEY_A,
        [
          { id: KEY_A, sha256: SHA256_ABC },
          { id: KEY_A, sha256: SHA256_EMPTY },
        ],
      ],
      ['pasted into both fields', KEY_A, [{ id: KEY_A, sha256: KEY_A }]],
    ])('in the error when the key is %s', (_label, key, keys) => {
      expect.assertions(2);
      try {
        createApiKeyResolver(keys as readonly ApiKeyConfig[]);
      } catch (error) {
        expect(error).toBeInstanceOf(TypeError);
        expect((error as Error).message).not.toContain(key.slice(0, 8));
      }
    });
  });
});
