import { SecureApiErrorCode } from '../errors/secure-api-error-code.js';
import { HttpClientTimeoutError } from './http-client.errors.js';
import { classifyTransportError } from './transport-error.classifier.js';

const TARGET = { method: 'GET', origin: 'https://api.example.com', path: '/x' };
const TIMEOUTS = { connectTimeoutMs: 3050, responseTimeoutMs: 27_000 };

function withCode(code: string, syscall?: string): Error {
  return Object.assign(new Error(`boom ${code}`), { code, ...(syscall ? { syscall } : {}) });
}

describe('classifyTransportError()', () => {
  it.each([
    ['UND_ERR_CONNECT_TIMEOUT', undefined, SecureApiErrorCode.HTTP_CLIENT_CONNECT_TIMEOUT],
    ['UND_ERR_HEADERS_TIMEOUT', undefined, SecureApiErrorCode.HTTP_CLIENT_RESPONSE_TIMEOUT],
    ['UND_ERR_BODY_TIMEOUT', undefined, SecureApiErrorCode.HTTP_CLIENT_RESPONSE_TIMEOUT],
    ['ECONNREFUSED', 'connect', SecureApiErrorCode.HTTP_CLIENT_CONNECT_FAILED],
    ['ENOTFOUND', 'getaddrinfo', SecureApiErrorCode.HTTP_CLIENT_CONNECT_FAILED],
    ['EAI_AGAIN', 'getaddrinfo', SecureApiErrorCode.HTTP_CLIENT_CONNECT_FAILED],
    ['ECONNRESET', 'connect', SecureApiErrorCode.HTTP_CLIENT_CONNECT_FAILED],
    ['ERR_TLS_CERT_ALTNAME_INVALID', undefined, SecureApiErrorCode.HTTP_CLIENT_CONNECT_FAILED],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', undefined, SecureApiErrorCode.HTTP_CLIENT_CONNECT_FAILED],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', undefined, SecureApiErrorCode.HTTP_CLIENT_CONNECT_FAILED],
    ['CERT_HAS_EXPIRED', undefined, SecureApiErrorCode.HTTP_CLIENT_CONNECT_FAILED],
    [
      'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
      undefined,
      SecureApiErrorCode.HTTP_CLIENT_CONNECT_FAILED,
    ],
    ['UND_ERR_SOCKET', undefined, SecureApiErrorCode.HTTP_CLIENT_NETWORK_ERROR],
    ['ECONNRESET', 'read', SecureApiErrorCode.HTTP_CLIENT_NETWORK_ERROR],
    ['EPIPE', 'write', SecureApiErrorCode.HTTP_CLIENT_NETWORK_ERROR],
    ['HPE_INVALID_CONSTANT', undefined, SecureApiErrorCode.HTTP_CLIENT_NETWORK_ERROR],
    [
      'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
      undefined,
      SecureApiErrorCode.HTTP_CLIENT_NETWORK_ERROR,
    ],
  ])('%s (syscall %s) is %s', (code, syscall, expected) => {
    const error = withCode(code, syscall);
    const typed = classifyTransportError(error, TARGET, TIMEOUTS);
    expect(typed).toMatchObject({
      code: expected,
      origin: TARGET.origin,
      path: '/x',
      cause: error,
    });
  });

  it('reports the configured timeout with each phase', () => {
    expect(
      classifyTransportError(withCode('UND_ERR_CONNECT_TIMEOUT'), TARGET, TIMEOUTS),
    ).toMatchObject({
      phase: 'connect',
      timeoutMs: 3050,
    });
    const response = classifyTransportError(withCode('UND_ERR_BODY_TIMEOUT'), TARGET, TIMEOUTS);
    expect(response).toBeInstanceOf(HttpClientTimeoutError);
    expect(response).toMatchObject({ phase: 'response', timeoutMs: 27_000 });
  });

  it('reads the code of the first error of an AggregateError (happy eyeballs)', () => {
    const aggregate = new AggregateError([
      withCode('ECONNREFUSED', 'connect'),
      withCode('ECONNREFUSED'),
    ]);
    expect(classifyTransportError(aggregate, TARGET, TIMEOUTS).message).toBe(
      'GET https://api.example.com/x: could not connect (ECONNREFUSED)',
    );
  });

  it('passes other errors through: they are neither retried nor counted', () => {
    const invalid = withCode('UND_ERR_INVALID_ARG');
    expect(classifyTransportError(invalid, TARGET, TIMEOUTS)).toBe(invalid);
    expect(classifyTransportError('odd', TARGET, TIMEOUTS)).toEqual(new Error('odd'));
  });
});
