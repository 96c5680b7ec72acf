import { X509Certificate } from 'node:crypto';
import { createTestPki, type TestPki } from '@secure-api/testing';
import { certificateHasIdentity } from './client-certificate.js';

describe('certificateHasIdentity', () => {
  let pki: TestPki;
  let certificate: X509Certificate;

  beforeAll(async () => {
    pki = await createTestPki();
    const issued = await pki.issue({
      spiffeId: 'spiffe://example.org/sa/worker',
      uris: ['https://example.org/a,b'],
      dnsNames: ['worker.test', 'other.test'],
      commonName: 'worker',
    });
    certificate = new X509Certificate(issued.cert);
  });

  it.each([
    ['tls_client_auth_san_uri', 'spiffe://example.org/sa/worker', true],
    // Node.js quotes a SAN with a comma; the quoted form must not hide it or split it.
    ['tls_client_auth_san_uri', 'https://example.org/a,b', true],
    ['tls_client_auth_san_uri', 'https://example.org/a', false],
    ['tls_client_auth_san_uri', 'spiffe://example.org/sa/work', false],
    ['tls_client_auth_san_uri', 'worker.test', false],
    ['tls_client_auth_san_dns', 'worker.test', true],
    ['tls_client_auth_san_dns', 'other.test', true],
    ['tls_client_auth_san_dns', 'spiffe://example.org/sa/worker', false],
    ['tls_client_auth_subject_dn', 'CN=worker', true],
    ['tls_client_auth_subject_dn', 'CN=work', false],
    ['tls_client_auth_san_ip', '127.0.0.1', false],
  ])('%s %s: %s', (property, expected, matches) => {
    expect(certificateHasIdentity(certificate, property, expected)).toBe(matches);
  });
});
