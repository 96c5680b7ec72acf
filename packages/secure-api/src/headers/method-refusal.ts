import { type IncomingMessage } from 'node:http';
import { SecureApiHttpError } from '../errors/secure-api-http.error.js';
import { SecureApiErrorCode } from '../errors/secure-api-error-code.js';

/**
 * Methods that echo the request back (cross-site tracing: a script reads the cookies and the
 * `Authorization` header it could not otherwise see). `TRACK` is IIS's variant; Node's HTTP
 * parser already refuses it, but a front end that forwards it must not get it through here.
 */
const TRACING_METHODS: ReadonlySet<string> = new Set(['TRACE', 'TRACK']);

/**
 * Headers with which clients ask a framework or proxy to treat a POST as another method.
 * Node lower-cases header names.
 */
const METHOD_OVERRIDE_HEADERS = ['x-http-method-override', 'x-http-method', 'x-method-override'];

/**
 * Why the request is refused before any routing, or `undefined` when it is not. The error
 * never quotes the header's value: it is whatever the client chose to send.
 */
export function methodRefusalOf(request: IncomingMessage): SecureApiHttpError | undefined {
  if (request.method !== undefined && TRACING_METHODS.has(request.method.toUpperCase())) {
    return new SecureApiHttpError(SecureApiErrorCode.METHOD_NOT_ALLOWED, {
      status: 405,
      title: 'Method Not Allowed',
      detail: 'The method is not allowed.',
      reason: 'tracing_method',
    });
  }
  const { headers } = request;
  if (METHOD_OVERRIDE_HEADERS.some((name) => headers[name] !== undefined)) {
    return new SecureApiHttpError(SecureApiErrorCode.METHOD_OVERRIDE, {
      status: 400,
      title: 'Bad Request',
      detail: 'Method-override headers are not accepted.',
      reason: 'method_override',
    });
  }
  return undefined;
}
