import { principalFromClaims } from '../auth/principal.js';
import { resolveOptions } from '../secure-api.options.js';
import { ConnectionMemo, loggedPrincipal } from './request-context.js';

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

describe('ConnectionMemo', () => {
  it('computes once per connection and input, and again for another input or connection', () => {
    const memo = new ConnectionMemo<string>();
    const calls: string[] = [];
    const compute = (input: string): string => {
      calls.push(input);
      return `#${input}`;
    };
    const first = {};
    const second = {};
    expect(memo.get(first, 'a', compute)).toBe('#a');
    expect(memo.get(first, 'a', compute)).toBe('#a');
    expect(memo.get(second, 'a', compute)).toBe('#a');
    expect(memo.get(first, 'b', compute)).toBe('#b');
    expect(memo.get(first, 'a', compute)).toBe('#a');
    expect(calls).toEqual(['a', 'a', 'b', 'a']);
  });

  it('computes every time without a connection', () => {
    const memo = new ConnectionMemo<number>();
    let calls = 0;
    const compute = (input: string): number => {
      calls += 1;
      return input.length;
    };
    expect(memo.get(undefined, 'abc', compute)).toBe(3);
    expect(memo.get(undefined, 'abc', compute)).toBe(3);
    expect(calls).toBe(2);
  });
});
