import { resolveOptions } from '../secure-api.options.js';
import { principalFromClaims, scopesFromClaims } from './principal.js';

const auth = resolveOptions({ auth: { issuer: 'https://id.example.com', audience: 'a' } }).auth;

describe('scopesFromClaims', () => {
  it.each([
    ['space-delimited scope', { scope: 'a b  c' }, ['a', 'b', 'c']],
    ['scp array', { scp: ['a', 'b'] }, ['a', 'b']],
    ['scp string', { scp: 'a b' }, ['a', 'b']],
    ['both, de-duplicated', { scope: 'a b', scp: ['b', 'c'] }, ['a', 'b', 'c']],
    ['a number', { scope: 42 }, []],
    ['an object', { scope: { a: true } }, []],
    ['an array with non-strings', { scp: ['a', 1, null, { b: 1 }] }, ['a']],
    ['nothing', {}, []],
  ])('%s', (_name, claims, expected) => {
    expect(scopesFromClaims(claims, ['scope', 'scp'])).toEqual(expected);
  });

  it('reads only the configured claims', () => {
    expect(scopesFromClaims({ scope: 'a', permissions: ['p'] }, ['permissions'])).toEqual(['p']);
  });
});

describe('principalFromClaims', () => {
  it('maps the standard claims and freezes everything', () => {
    const claims = {
      iss: 'https://id.example.com',
      sub: 'user-1',
      azp: 'spa',
      aud: 'a',
      exp: 1_800_000_000,
      jti: 'j-1',
      scope: 'profile.read',
      nested: { list: [1] },
    };
    const principal = principalFromClaims(claims, auth);
    expect(principal).toEqual({
      subject: 'user-1',
      clientId: 'spa',
      scopes: ['profile.read'],
      issuer: 'https://id.example.com',
      audience: ['a'],
      tokenId: 'j-1',
      expiresAt: 1_800_000_000,
      claims,
      authMethod: 'bearer',
    });
    expect(Object.isFrozen(principal)).toBe(true);
    expect(Object.isFrozen(principal.claims.nested)).toBe(true);
    expect(Object.isFrozen((principal.claims.nested as { list: unknown[] }).list)).toBe(true);
  });

  it('prefers client_id over azp and ignores non-string identifiers', () => {
    const principal = principalFromClaims(
      { iss: 'i', aud: ['a', 7], exp: 1, client_id: 'svc', azp: 'spa', sub: 12 },
      auth,
    );
    expect(principal.clientId).toBe('svc');
    expect(principal.subject).toBeUndefined();
    expect(principal.audience).toEqual(['a']);
  });
});
