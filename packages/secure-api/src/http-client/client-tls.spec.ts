import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestPki, type TestCertificate, type TestPki } from '@secure-api/testing';
import { SecureApiErrorCode } from '../errors/secure-api-error-code.js';
import {
  ClientTlsError,
  connectionOptions,
  loadClientTls,
  sameMaterial,
  tlsStatusOf,
} from './client-tls.js';
import { type ResolvedHttpClientTls } from './http-client-options.js';

const NONE: ResolvedHttpClientTls = {
  certFile: undefined,
  keyFile: undefined,
  caFile: undefined,
  cert: undefined,
  key: undefined,
  ca: undefined,
  watch: false,
};

function memory(cert: TestCertificate, ca?: string): ResolvedHttpClientTls {
  return {
    ...NONE,
    cert: Buffer.from(cert.cert),
    key: Buffer.from(cert.key),
    ca: ca === undefined ? undefined : [Buffer.from(ca)],
  };
}

function refusal(tls: ResolvedHttpClientTls): ClientTlsError {
  try {
    loadClientTls(tls);
  } catch (error) {
    if (error instanceof ClientTlsError) return error;
    throw error;
  }
  throw new Error('expected the material to be refused');
}

describe('loadClientTls()', () => {
  let pki: TestPki;
  let client: TestCertificate;
  let other: TestCertificate;
  let dir: string;

  beforeAll(async () => {
    pki = await createTestPki();
    [client, other] = await Promise.all([
      pki.client('spiffe://example.org/sa/a'),
      pki.client('spiffe://example.org/sa/b'),
    ]);
    dir = await mkdtemp(path.join(tmpdir(), 'client-tls-'));
    await Promise.all([
      writeFile(path.join(dir, 'tls.crt'), client.cert),
      writeFile(path.join(dir, 'tls.key'), client.key),
      writeFile(path.join(dir, 'ca.crt'), pki.ca.cert),
      writeFile(path.join(dir, 'other.key'), other.key),
      writeFile(path.join(dir, 'garbage.pem'), 'not a pem'),
    ]);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const file = (name: string): string => path.join(dir, name);

  it('reads and checks files, and reports the certificate', () => {
    const material = loadClientTls({
      ...NONE,
      certFile: file('tls.crt'),
      keyFile: file('tls.key'),
      caFile: file('ca.crt'),
    });

    expect(material.cert?.toString()).toBe(client.cert);
    expect(material.ca?.map(String)).toEqual([pki.ca.cert]);
    const status = tlsStatusOf(material, new Date(0));
    expect(status).toEqual({
      certificateFingerprint: new X509Certificate(client.cert).fingerprint256,
      certificateExpiresAt: client.notAfter,
      loadedAt: new Date(0),
    });
    expect(connectionOptions(material)).toEqual({
      cert: material.cert,
      key: material.key,
      ca: [material.ca?.[0]],
    });
  });

  it('takes CAs alone, to verify upstreams without a client certificate', () => {
    const material = loadClientTls({ ...NONE, ca: [Buffer.from(pki.ca.cert)] });
    expect(connectionOptions(material)).toEqual({ ca: [Buffer.from(pki.ca.cert)] });
    expect(tlsStatusOf(material, new Date(0)).certificateFingerprint).toBeUndefined();
  });

  it.each<[string, () => ResolvedHttpClientTls, string]>([
    [
      'a missing file',
      () => ({ ...NONE, certFile: file('none.crt'), keyFile: file('tls.key') }),
      `the client certificate "${path.join('DIR', 'none.crt')}" does not exist`,
    ],
    [
      'a key of another certificate',
      () => ({ ...NONE, certFile: file('tls.crt'), keyFile: file('other.key') }),
      `the client key "${path.join('DIR', 'other.key')}" does not match the client certificate "${path.join('DIR', 'tls.crt')}"`,
    ],
    [
      'a file without certificate',
      () => ({ ...NONE, certFile: file('garbage.pem'), keyFile: file('tls.key') }),
      `the client certificate "${path.join('DIR', 'garbage.pem')}" holds no PEM certificate`,
    ],
    [
      'a key that does not parse',
      () => ({
        ...memory(client),
        key: Buffer.from('-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----'),
      }),
      'the client key "httpClient.tls.key" is not a readable, unencrypted private key',
    ],
    [
      'a CA file holding a leaf certificate',
      () => memory(client, other.cert),
      'the CA file "httpClient.tls.ca[0]" holds certificate #1, which is not a CA certificate',
    ],
  ])('refuses %s, naming it', (_name, tls, message) => {
    const error = refusal(tls());
    expect(error.code).toBe(SecureApiErrorCode.TLS_CONFIG_INVALID);
    expect(error.message).toBe(`SecureHttpClient: ${message.replaceAll('DIR', dir)}.`);
  });

  it('refuses an expired and a not-yet-valid client certificate', async () => {
    const [expired, early] = await Promise.all([
      pki.expiredClient('spiffe://example.org/sa/old'),
      pki.notYetValidClient('spiffe://example.org/sa/new'),
    ]);

    expect(refusal(memory(expired)).message).toBe(
      `SecureHttpClient: the client certificate "httpClient.tls.cert" holds a certificate that expired on ${expired.notAfter.toISOString()}.`,
    );
    expect(refusal(memory(early)).message).toBe(
      `SecureHttpClient: the client certificate "httpClient.tls.cert" holds a certificate that is not valid before ${early.notBefore.toISOString()}.`,
    );
  });

  it('tells equal material from changed material', () => {
    const a = loadClientTls(memory(client, pki.ca.cert));
    expect(sameMaterial(a, loadClientTls(memory(client, pki.ca.cert)))).toBe(true);
    expect(sameMaterial(a, loadClientTls(memory(other, pki.ca.cert)))).toBe(false);
    expect(sameMaterial(a, loadClientTls(memory(client)))).toBe(false);
    expect(sameMaterial(undefined, a)).toBe(false);
  });
});
