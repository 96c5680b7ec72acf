import { type IncomingMessage } from 'node:http';
import { SecureApiHttpError } from '../errors/secure-api-http.error.js';
import { SecureApiErrorCode } from '../errors/secure-api-error-code.js';
import { methodRefusalOf } from './method-refusal.js';

function request(method: string, headers: Record<string, string> = {}): IncomingMessage {
  return { method, headers } as unknown as IncomingMessage;
}

describe('methodRefusalOf', () => {
  // TRACK never gets past Node's HTTP parser (the e2e suite pins that); a front end that
  // forwards it over another transport must still be refused here.
  it.each(['TRACE', 'TRACK', 'trace', 'Track'])('refuses %s with 405', (method) => {
    const refusal = methodRefusalOf(request(method));
    expect(refusal).toBeInstanceOf(SecureApiHttpError);
    expect(refusal).toMatchObject({
      code: SecureApiErrorCode.METHOD_NOT_ALLOWED,
      status: 405,
      headers: {},
    });
  });

  it.each(['x-http-method-override', 'x-http-method', 'x-method-override'])(
    'refuses %s with 400 without quoting its value',
    (name) => {
      const refusal = methodRefusalOf(request('POST', { [name]: 'DELETE-marker' }));
      expect(refusal).toMatchObject({ code: SecureApiErrorCode.METHOD_OVERRIDE, status: 400 });
      expect(refusal?.message).not.toContain('DELETE-marker');
      expect(refusal?.detail).not.toContain('DELETE-marker');
    },
  );

  it.each(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])(
    'lets %s through',
    (method) => {
      expect(methodRefusalOf(request(method, { 'x-forwarded-method': 'DELETE' }))).toBeUndefined();
    },
  );
});
