import { peerMatches, type PeerIdentity } from './peer-identity.js';

const peer: PeerIdentity = {
  spiffeId: 'spiffe://example.org/sa/uploader',
  dnsNames: ['uploader.internal', 'Up.Example.org'],
  subject: 'CN=uploader',
  thumbprint: 'x',
};

describe('peerMatches', () => {
  it.each<[string, boolean]>([
    ['spiffe://example.org/sa/uploader', true],
    ['spiffe://example.org/sa/uploader/', false],
    ['spiffe://example.org/sa/upload', false],
    ['spiffe://example.org/sa', false],
    ['spiffe://EXAMPLE.org/sa/uploader', false],
    ['dns:uploader.internal', true],
    ['dns:UPLOADER.internal', true],
    ['dns:up.example.org', true],
    ['dns:internal', false],
    ['dns:uploader', false],
  ])('%s → %s', (pattern, expected) => {
    expect(peerMatches(peer, pattern)).toBe(expected);
  });

  it('never matches a SPIFFE pattern for a peer without a SPIFFE ID', () => {
    expect(peerMatches({ ...peer, spiffeId: undefined }, 'spiffe://example.org/sa/uploader')).toBe(
      false,
    );
  });
});
