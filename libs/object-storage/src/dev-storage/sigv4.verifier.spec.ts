import { createHash } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256Checksum } from './sha256.checksum.js';
import { SigV4Verifier, type SignedRequest } from './sigv4.verifier.js';

const KEY = 'AKIAVERIFIERTEST0001';
const SECRET = 'verifier-secret';
const NOW = Date.UTC(2026, 11, 1, 12, 0, 0);

async function signedRequest(body = Buffer.from('hello')): Promise<SignedRequest> {
  const signer = new SignatureV4({
    service: 's3',
    region: 'us-east-1',
    credentials: { accessKeyId: KEY, secretAccessKey: SECRET },
    sha256: Sha256Checksum,
    uriEscapePath: false,
  });
  const signed = await signer.sign(
    {
      method: 'PUT',
      protocol: 'http:',
      hostname: '127.0.0.1:9000',
      path: '/temp-uploads/a%20b.png',
      query: { 'x-id': 'PutObject' },
      headers: {
        host: '127.0.0.1:9000',
        'content-type': 'image/png',
        'x-amz-content-sha256': createHash('sha256').update(body).digest('hex'),
      },
    },
    { signingDate: new Date(NOW) },
  );
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(signed.headers)) headers[name.toLowerCase()] = value;
  return {
    method: 'PUT',
    rawPath: '/temp-uploads/a%20b.png',
    query: new Map([['x-id', 'PutObject']]),
    headers,
    body,
  };
}

describe('SigV4Verifier', () => {
  const verifier = new SigV4Verifier(new Map([[KEY, SECRET]]), 'us-east-1', () => NOW);

  it('accepts a request signed by the SDK signer with the right secret', async () => {
    await expect(verifier.verify(await signedRequest())).resolves.toEqual({
      ok: true,
      accessKeyId: KEY,
    });
  });

  it.each<[string, (r: SignedRequest) => SignedRequest, string]>([
    [
      'a changed path',
      (r) => ({ ...r, rawPath: '/temp-uploads/other.png' }),
      'SignatureDoesNotMatch',
    ],
    ['a changed method', (r) => ({ ...r, method: 'DELETE' }), 'SignatureDoesNotMatch'],
    [
      'an added query parameter',
      (r) => ({ ...r, query: new Map([...r.query, ['acl', '']]) }),
      'SignatureDoesNotMatch',
    ],
    [
      'a changed signed header',
      (r) => ({ ...r, headers: { ...r.headers, 'content-type': 'text/html' } }),
      'SignatureDoesNotMatch',
    ],
    [
      'a body that does not match its signed hash',
      (r) => ({ ...r, body: Buffer.from('evil') }),
      'XAmzContentSHA256Mismatch',
    ],
    [
      'no Authorization header',
      (r) => ({ ...r, headers: { ...r.headers, authorization: undefined } }),
      'AccessDenied',
    ],
    [
      'a V2 Authorization header',
      (r) => ({ ...r, headers: { ...r.headers, authorization: `AWS ${KEY}:c2lnbmF0dXJl` } }),
      'AuthorizationHeaderMalformed',
    ],
  ])('refuses %s', async (_, tamper, code) => {
    const result = await verifier.verify(tamper(await signedRequest()));
    expect(result).toMatchObject({ ok: false, error: { code } });
  });

  it('refuses a wrong secret', async () => {
    const other = new SigV4Verifier(new Map([[KEY, 'another-secret']]), 'us-east-1', () => NOW);
    await expect(other.verify(await signedRequest())).resolves.toMatchObject({
      error: { code: 'SignatureDoesNotMatch', status: 403 },
    });
  });

  it('refuses an unknown access key', async () => {
    const other = new SigV4Verifier(new Map([['AKIAOTHER', SECRET]]), 'us-east-1', () => NOW);
    await expect(other.verify(await signedRequest())).resolves.toMatchObject({
      error: { code: 'InvalidAccessKeyId', status: 403 },
    });
  });

  it('refuses another region in the credential scope', async () => {
    const other = new SigV4Verifier(new Map([[KEY, SECRET]]), 'eu-west-1', () => NOW);
    await expect(other.verify(await signedRequest())).resolves.toMatchObject({
      error: { code: 'AuthorizationHeaderMalformed' },
    });
  });

  it.each([
    [15 * 60 * 1000, true],
    [15 * 60 * 1000 + 1000, false],
    [-(15 * 60 * 1000 + 1000), false],
  ])('with the clock %i ms off, accepts: %s', async (offset, accepted) => {
    const skewed = new SigV4Verifier(new Map([[KEY, SECRET]]), 'us-east-1', () => NOW + offset);
    const result = await skewed.verify(await signedRequest());
    expect(result.ok).toBe(accepted);
    if (!accepted) expect(result).toMatchObject({ error: { code: 'RequestTimeTooSkewed' } });
  });
});
