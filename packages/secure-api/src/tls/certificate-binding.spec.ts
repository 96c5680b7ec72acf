import { TokenRejectionReason } from '../errors/secure-api-error-code.js';
import { type Principal } from '../auth/principal.js';
import { certificateBindingProblem, principalWithPeer } from './certificate-binding.js';
import { type PeerIdentity } from './peer-identity.js';

const peer: PeerIdentity = Object.freeze({
  spiffeId: 'spiffe://example.org/sa/uploader',
  dnsNames: Object.freeze([]),
  subject: 'CN=uploader',
  thumbprint: 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2',
});

describe('certificateBindingProblem', () => {
  it('accepts a token bound to the peer', () => {
    expect(
      certificateBindingProblem({ cnf: { 'x5t#S256': peer.thumbprint } }, peer, true),
    ).toBeUndefined();
  });

  it('accepts an unbound token unless bound tokens are required', () => {
    expect(certificateBindingProblem({}, undefined, false)).toBeUndefined();
    expect(certificateBindingProblem({}, peer, true)).toBe(
      TokenRejectionReason.CERTIFICATE_BINDING_MISSING,
    );
  });

  it('refuses a bound token without a peer or with another one', () => {
    const claims = { cnf: { 'x5t#S256': peer.thumbprint } };
    expect(certificateBindingProblem(claims, undefined, false)).toBe(
      TokenRejectionReason.CERTIFICATE_MISMATCH,
    );
    expect(certificateBindingProblem(claims, { ...peer, thumbprint: 'other' }, false)).toBe(
      TokenRejectionReason.CERTIFICATE_MISMATCH,
    );
  });

  it.each<[string, unknown]>([
    ['null', null],
    ['a number', 1],
    ['an array', [peer.thumbprint]],
    ['only jkt', { jkt: 'abc' }],
    ['only x5t (SHA-1)', { x5t: 'abc' }],
    ['an object thumbprint', { 'x5t#S256': { value: peer.thumbprint } }],
  ])('refuses a cnf that is %s', (_case, cnf) => {
    expect(certificateBindingProblem({ cnf }, peer, false)).toBe(
      TokenRejectionReason.CONFIRMATION_UNSUPPORTED,
    );
  });
});

describe('principalWithPeer', () => {
  const principal = Object.freeze({ subject: 'a', scopes: [] }) as unknown as Principal;

  it('returns a frozen copy with the peer, the same one for the same peer', () => {
    const combined = principalWithPeer(principal, peer);
    expect(combined).toEqual({ ...principal, peer });
    expect(Object.isFrozen(combined)).toBe(true);
    expect(principalWithPeer(principal, peer)).toBe(combined);
    expect(principal).not.toHaveProperty('peer');
  });

  it('makes a new one for another peer', () => {
    const other = { ...peer, thumbprint: 'other' };
    expect(principalWithPeer(principal, other).peer).toBe(other);
    expect(principalWithPeer(principal, peer).peer).toBe(peer);
  });
});
