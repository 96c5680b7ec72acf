import { SecureApiError } from '../errors/secure-api.error.js';
import { SecureApiErrorCode } from '../errors/secure-api-error-code.js';
import { peerPatternProblem, resolveTlsOptions } from './tls-options.js';

const files = { certFile: 'server.crt', keyFile: 'server.key', caFile: 'ca.crt' };

function messageOf(value: unknown): string {
  try {
    resolveTlsOptions(value);
  } catch (error) {
    expect(error).toBeInstanceOf(SecureApiError);
    expect((error as SecureApiError).code).toBe(SecureApiErrorCode.INVALID_OPTIONS);
    return (error as Error).message;
  }
  throw new Error('resolveTlsOptions accepted the options');
}

describe('resolveTlsOptions', () => {
  it('is undefined when tls is not configured', () => {
    expect(resolveTlsOptions(undefined)).toBeUndefined();
  });

  it('applies the documented defaults and freezes the result', () => {
    const resolved = resolveTlsOptions(files);
    expect(resolved).toEqual({
      ...files,
      clientCertificate: 'require',
      crlFile: undefined,
      watch: false,
      allowedPeers: undefined,
      ticketKeyRotationMs: 3_600_000,
    });
    expect(Object.isFrozen(resolved)).toBe(true);
  });

  it('de-duplicates and freezes allowedPeers', () => {
    const resolved = resolveTlsOptions({
      ...files,
      allowedPeers: ['spiffe://example.org/sa/a', 'dns:b.internal', 'spiffe://example.org/sa/a'],
    });
    expect(resolved?.allowedPeers).toEqual(['spiffe://example.org/sa/a', 'dns:b.internal']);
    expect(Object.isFrozen(resolved?.allowedPeers)).toBe(true);
  });

  it('does not need a CA for server-only TLS', () => {
    const { caFile: _ca, ...serverOnly } = files;
    expect(resolveTlsOptions({ ...serverOnly, clientCertificate: 'none' })?.caFile).toBeUndefined();
  });

  it.each<[string, unknown, string]>([
    ['not an object', 'server.crt', '"tls" must be an object'],
    ['no certFile', { keyFile: 'k', caFile: 'c' }, '"tls.certFile" must be the path of a PEM file'],
    [
      'an empty keyFile',
      { ...files, keyFile: ' ' },
      '"tls.keyFile" must be the path of a PEM file',
    ],
    [
      'no CA while client certificates are asked for',
      { certFile: 'c', keyFile: 'k' },
      '"tls.caFile" must be the path of a PEM file',
    ],
    [
      'an unknown mode',
      { ...files, clientCertificate: 'request' },
      `"tls.clientCertificate" must be 'require', 'optional' or 'none'`,
    ],
    [
      'a CRL without client certificates',
      { ...files, clientCertificate: 'none', crlFile: 'ca.crl' },
      `"tls.crlFile" has no effect when clientCertificate is 'none'`,
    ],
    ['a typo', { ...files, watched: true }, '"tls.watched" is not an option'],
    ['watch not a boolean', { ...files, watch: 'yes' }, '"tls.watch" must be true or false'],
    [
      'an empty allowlist',
      { ...files, allowedPeers: [] },
      '"tls.allowedPeers" must be a non-empty array',
    ],
    [
      'a malformed peer',
      { ...files, allowedPeers: ['spiffe://example.org/sa/a', 'uploader'] },
      `"tls.allowedPeers[1]" must start with 'spiffe://' or 'dns:'`,
    ],
    [
      'an allowlist without client certificates',
      { ...files, clientCertificate: 'none', allowedPeers: ['dns:a'] },
      `"tls.allowedPeers" needs client certificates, but clientCertificate is 'none'`,
    ],
    [
      'a zero ticket rotation',
      { ...files, ticketKeyRotationMs: 0 },
      '"tls.ticketKeyRotationMs" must be a positive integer',
    ],
    [
      'a ticket key kept longer than a day',
      { ...files, ticketKeyRotationMs: 86_400_001 },
      '"tls.ticketKeyRotationMs" must be at most 86400000',
    ],
  ])('refuses %s', (_case, value, message) => {
    expect(messageOf(value)).toContain(message);
  });
});

describe('peerPatternProblem', () => {
  it.each([
    'spiffe://example.org/sa/uploader',
    'spiffe://prod.example-1.org/ns/images/sa/thumbnailer',
    'dns:uploader.internal',
    'dns:localhost',
  ])('accepts %s', (pattern) => {
    expect(peerPatternProblem(pattern)).toBeUndefined();
  });

  it.each<[unknown, string]>([
    [42, 'must be a string'],
    ['spiffe://Example.org/sa/a', 'lowercase trust domain'],
    ['spiffe://example.org', 'and a path'],
    ['spiffe://example.org/', 'and a path'],
    ['spiffe://example.org/sa/a?x=1', 'and a path'],
    ['spiffe://example.org/sa/*', 'and a path'],
    ['dns:*.internal', 'must be a DNS name'],
    ['dns:', 'must be a DNS name'],
    ['uploader', "must start with 'spiffe://' or 'dns:'"],
    ['URI:spiffe://example.org/sa/a', "must start with 'spiffe://' or 'dns:'"],
  ])('refuses %p', (pattern, problem) => {
    expect(peerPatternProblem(pattern)).toContain(problem);
  });
});
