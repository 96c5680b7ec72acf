import { Readable } from 'node:stream';
import { SecureApiErrorCode } from '../errors/secure-api-error-code.js';
import { type HttpClientRequest, SecureHttpClient } from './secure-http-client.js';

// Nothing in this file reaches the network: every request is refused before it is sent.
const BASE_URL = 'https://api.example.invalid';

describe('SecureHttpClient (before any traffic)', () => {
  let client: SecureHttpClient;

  beforeEach(() => {
    client = new SecureHttpClient({ baseUrl: BASE_URL });
  });

  afterEach(async () => {
    await client.close();
  });

  it.each<[string, HttpClientRequest, string]>([
    [
      'TRACE (cross-site tracing)',
      { method: 'TRACE', path: '/' },
      'the TRACE method is not supported',
    ],
    ['CONNECT', { method: 'connect', path: '/' }, 'the CONNECT method is not supported'],
    [
      'a method that is not a token',
      { method: 'GE T', path: '/' },
      '"method" must be an HTTP method token',
    ],
    [
      'a framing header',
      { path: '/', headers: { 'Content-Length': '5' } },
      'the "content-length" header is set by the client',
    ],
    [
      'a hop-by-hop header',
      { path: '/', headers: { connection: 'close' } },
      'the "connection" header is set by the client',
    ],
    [
      'a header given twice',
      { path: '/', headers: { Accept: 'a', accept: 'b' } },
      'the "accept" header is given twice',
    ],
    ['an invalid header name', { path: '/', headers: { 'x y': '1' } }, 'invalid header name "x y"'],
    [
      'body and json',
      { method: 'POST', path: '/', body: 'a', json: {} },
      'give "body" or "json", not both',
    ],
    [
      'a stream body',
      { method: 'POST', path: '/', body: Readable.from(['a']) as unknown as string },
      '"body" must be a string, Buffer or Uint8Array (a retry sends it again, so streams are not accepted)',
    ],
    [
      'an idempotency key with a space',
      { method: 'POST', path: '/', idempotencyKey: 'a b' },
      '"idempotencyKey" must be 1 to 255 visible ASCII characters',
    ],
  ])('refuses %s with a TypeError', async (_name, request, message) => {
    const error: unknown = await client.request(request).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as TypeError).message).toBe(`SecureHttpClient: ${message}`);
  });

  it('refuses per-request limits that make no sense, naming them', async () => {
    await expect(client.get('/', { maxResponseBytes: -1 })).rejects.toMatchObject({
      code: SecureApiErrorCode.INVALID_OPTIONS,
      message: 'SecureHttpClient: "request.maxResponseBytes" must be a positive integer (bytes).',
    });
    await expect(client.get('/', { responseTimeoutMs: 3000 })).rejects.toMatchObject({
      code: SecureApiErrorCode.INVALID_OPTIONS,
      message:
        'SecureHttpClient: "request.responseTimeoutMs" must be more than "httpClient.connectTimeoutMs" (3050), which it includes.',
    });
  });

  it('refuses an Authorization header when it sets one from clientCredentials', async () => {
    const withToken = new SecureHttpClient({
      baseUrl: BASE_URL,
      clientCredentials: { tokenEndpoint: `${BASE_URL}/token`, clientId: 'a', clientSecret: 'b' },
    });
    try {
      await expect(withToken.get('/', { headers: { Authorization: 'Bearer x' } })).rejects.toThrow(
        'SecureHttpClient: "authorization" is set from "httpClient.clientCredentials"; do not pass it',
      );
    } finally {
      await withToken.close();
    }
  });

  it('refuses an already aborted signal and requests after close()', async () => {
    await expect(client.get('/', { signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: SecureApiErrorCode.HTTP_CLIENT_ABORTED,
      reason: 'signal',
    });
    await client.close();
    await expect(client.close()).resolves.toBeUndefined();
    await expect(client.delete('/x')).rejects.toMatchObject({
      code: SecureApiErrorCode.HTTP_CLIENT_ABORTED,
      message: `DELETE ${BASE_URL}/x: the client is closed`,
    });
  });

  it('reports a closed circuit and no TLS before any request', async () => {
    expect(client.circuitState(`${BASE_URL}/any/path`)).toBe('closed');
    expect(client.tlsStatus()).toBeUndefined();
    await expect(client.reloadTls()).resolves.toBe(false);
  });

  it('throws at construction for TLS files that cannot be read', () => {
    let error: unknown;
    try {
      new SecureHttpClient({
        baseUrl: BASE_URL,
        tls: { certFile: '/nonexistent/tls.crt', keyFile: '/nonexistent/tls.key' },
      });
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toMatchObject({
      code: SecureApiErrorCode.TLS_CONFIG_INVALID,
      message: 'SecureHttpClient: the client certificate "/nonexistent/tls.crt" does not exist.',
    });
  });
});
