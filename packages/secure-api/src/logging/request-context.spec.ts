import { principalFromClaims } from '../auth/principal.js';
import { resolveOptions } from '../secure-api.options.js';
import { loggedPrincipal } from './request-context.js';

const auth = resolveOptions({ auth: { issuer: 'https://id.example.com', audience: 'a' } }).auth;

describe('loggedPrincipal', () => {
  const claims = { iss: 'https://id.example.com', aud: 'a', exp: 1_800_000_000 };

  it('logs who, never the token, its scopes or its claims', () => {
    const principal = principalFromClaims(
      { ...claims, sub: 'user-1', client_id: 'svc', scope: 'profile.read', email: 'a@b.example' },
      auth,
    );
    expect(loggedPrincipal(principal)).toEqual({
      sub: 'user-1',
      client_id: 'svc',
      authMethod: 'bearer',
    });
  });

  it('is one frozen object per principal, and another for another principal', () => {
    const first = principalFromClaims({ ...claims, sub: 'user-1' }, auth);
    const second = principalFromClaims({ ...claims, sub: 'user-2' }, auth);
    const logged = loggedPrincipal(first);
    expect(Object.isFrozen(logged)).toBe(true);
    expect(loggedPrincipal(first)).toBe(logged);
    expect(loggedPrincipal(second)).toEqual({ sub: 'user-2', authMethod: 'bearer' });
  });
});
