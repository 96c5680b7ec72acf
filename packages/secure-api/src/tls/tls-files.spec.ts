import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestPki, type TestPki, type TestPkiFiles } from '@secure-api/testing';
import { SecureApiErrorCode } from '../errors/secure-api-error-code.js';
import { loadTlsMaterial, TlsFileError, type TlsFiles } from './tls-files.js';

const HOUR = 3_600_000;

describe('loadTlsMaterial', () => {
  let pki: TestPki;
  let dir: string;
  let written: TestPkiFiles;
  let files: TlsFiles;

  const refusal = (overrides: Partial<TlsFiles>, now?: Date): TlsFileError => {
    try {
      loadTlsMaterial({ ...files, ...overrides }, now);
    } catch (error) {
      if (error instanceof TlsFileError) return error;
      throw error;
    }
    throw new Error('loadTlsMaterial accepted the files');
  };

  const file = async (name: string, content: string): Promise<string> => {
    const path = join(dir, name);
    await writeFile(path, content);
    return path;
  };

  beforeAll(async () => {
    pki = await createTestPki();
    dir = await mkdtemp(join(tmpdir(), 'secure-api-tls-files-'));
    written = await pki.writeTo(dir, {}, { withCrl: true });
    files = {
      certFile: written.certFile,
      keyFile: written.keyFile,
      caFile: written.caFile,
      crlFile: written.crlFile,
    };
  });

  afterAll(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('loads matching, current files', () => {
    const material = loadTlsMaterial(files);
    expect(material.cert.toString()).toBe(pki.server.cert);
    expect(material.key.toString()).toBe(pki.server.key);
    expect(material.ca?.toString()).toBe(pki.ca.cert);
    expect(material.crl?.toString()).toContain('-----BEGIN X509 CRL-----');
    expect(material.certificate.checkHost('localhost')).toBe('localhost');
  });

  it('names a missing file', () => {
    const error = refusal({ certFile: join(dir, 'nope.crt') });
    expect(error.code).toBe(SecureApiErrorCode.TLS_CONFIG_INVALID);
    expect(error.message).toBe(
      `SecureApiModule: the TLS certificate "${join(dir, 'nope.crt')}" does not exist.`,
    );
  });

  it('refuses a key that does not match the certificate, naming both files', async () => {
    const other = await pki.client('spiffe://example.org/sa/other');
    const keyFile = await file('other.key', other.key);
    expect(refusal({ keyFile }).message).toBe(
      `SecureApiModule: the TLS key "${keyFile}" does not match the certificate "${files.certFile}".`,
    );
  });

  it.each<[string, string, keyof TlsFiles, RegExp]>([
    ['a certificate file without PEM', 'hello', 'certFile', /holds no PEM certificate/],
    [
      'a damaged certificate',
      '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
      'certFile',
      /holds an unreadable certificate \(#1\)/,
    ],
    [
      'a key that is not a key',
      'not a key',
      'keyFile',
      /is not a readable, unencrypted private key/,
    ],
    ['a CA file without PEM', '', 'caFile', /holds no PEM certificate/],
    ['a CRL that is not one', 'garbage', 'crlFile', /is not a PEM or DER X\.509 CRL/],
  ])('refuses %s', async (_case, content, member, message) => {
    const path = await file(`bad-${member}.pem`, content);
    const error = refusal({ [member]: path });
    expect(error.message).toMatch(message);
    expect(error.message).toContain(`"${path}"`);
    expect(error.message).not.toContain(content || '\0');
  });

  it('refuses an expired server certificate, naming its end date', () => {
    const later = new Date(pki.server.notAfter.getTime() + 1000);
    expect(refusal({}, later).message).toBe(
      `SecureApiModule: the TLS certificate "${files.certFile}" holds a certificate that expired on ${pki.server.notAfter.toISOString()}.`,
    );
  });

  it('refuses a certificate that is not valid yet', () => {
    const earlier = new Date(pki.server.notBefore.getTime() - HOUR);
    expect(refusal({}, earlier).message).toMatch(/holds a certificate that is not valid before /);
  });

  it('refuses a CA file holding a leaf certificate', async () => {
    const caFile = await file('leaf-as-ca.crt', pki.server.cert);
    expect(refusal({ caFile, crlFile: undefined }).message).toBe(
      `SecureApiModule: the TLS CA file "${caFile}" holds certificate #1, which is not a CA certificate.`,
    );
  });

  it('refuses a CRL past its nextUpdate: OpenSSL would refuse every client', async () => {
    // A certificate that outlives the CRL (an hour), so that only the CRL is stale.
    const server = await pki.issue({
      kind: 'server',
      dnsNames: ['localhost'],
      notAfter: new Date(Date.now() + 3 * HOUR),
    });
    const certFile = await file('long.crt', server.cert);
    const keyFile = await file('long.key', server.key);
    const error = refusal({ certFile, keyFile }, new Date(Date.now() + HOUR + 120_000));
    expect(error.message).toMatch(
      new RegExp(
        `^SecureApiModule: the TLS CRL "${files.crlFile as string}" expired on .+; with it, every client would be refused\\.$`,
      ),
    );
  });

  it('refuses a CRL that another CA issued', async () => {
    const stranger = await createTestPki();
    const crlFile = await file('stranger.crl', await stranger.crl());
    expect(refusal({ crlFile }).message).toBe(
      `SecureApiModule: the TLS CRL "${crlFile}" is not issued by a CA of caFile (name and key identifier); with it, every client would be refused.`,
    );
  });
});
