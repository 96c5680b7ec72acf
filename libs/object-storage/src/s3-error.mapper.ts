import {
  StorageAccessDeniedError,
  StorageUnavailableError,
  StorageUnexpectedError,
  type StorageError,
} from './storage.errors.js';

const UNAVAILABLE_CODES = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'SlowDown',
  'ServiceUnavailable',
  'InternalError',
  'Throttling',
  'ThrottlingException',
  'RequestLimitExceeded',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

// Programming errors are not outages, even though no server answered.
const PROGRAMMING_ERRORS = new Set(['TypeError', 'RangeError', 'ReferenceError', 'SyntaxError']);

const DENIED_CODES = new Set(['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch']);

/** What the mapper reads from an SDK or socket error. */
interface ErrorShape {
  name?: unknown;
  code?: unknown;
  Code?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

/**
 * The S3 error code (`NoSuchKey`), Node's system code (`ECONNREFUSED`) or the error name.
 *
 * @param error anything thrown by the SDK
 */
export function s3ErrorCode(error: unknown): string {
  if (typeof error !== 'object' || error === null) return 'Unknown';
  const wrapped = wrappedCode(error);
  if (wrapped !== undefined) return wrapped;
  const shape = error as ErrorShape;
  for (const candidate of [shape.Code, shape.code, shape.name]) {
    if (typeof candidate === 'string' && candidate !== '' && candidate !== 'Error') {
      return candidate;
    }
  }
  return 'Unknown';
}

// The SDK's retry middleware replaces errors that fail `instanceof Error` (errors from another
// realm, e.g. Node's socket errors seen from a Jest VM context) by
// `new Error('AWS SDK error wrapper for <String(error)>')`, dropping `name` and `code`.
const WRAPPED = /^AWS SDK error wrapper for (\w+)?/;
const SYSTEM_CODE = /\b(E[A-Z]{3,})\b/;

function wrappedCode(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const wrapped = WRAPPED.exec(error.message);
  if (wrapped === null) return undefined;
  return SYSTEM_CODE.exec(error.message)?.[1] ?? wrapped[1] ?? 'ConnectionError';
}

/**
 * HTTP status of an SDK error, when the server answered.
 *
 * @param error anything thrown by the SDK
 */
export function s3ErrorStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const status = (error as ErrorShape).$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

/**
 * Whether GetObject failed because the key does not exist. A missing bucket is a 404 as well,
 * but it is a configuration error, not the client's missing object.
 *
 * @param error anything thrown by the SDK
 */
export function isS3ObjectMissing(error: unknown): boolean {
  const code = s3ErrorCode(error);
  return code === 'NoSuchKey' || (s3ErrorStatus(error) === 404 && code !== 'NoSuchBucket');
}

/**
 * Maps an error that is not about the object itself to the port's error types. The message
 * keeps the operation and the upstream code only: SDK messages can echo request details.
 *
 * @param operation e.g. `GetObject temp-uploads/a.png`
 * @param error what the SDK threw
 * @param retryAfterSeconds reported with `StorageUnavailableError`
 */
export function mapS3Error(
  operation: string,
  error: unknown,
  retryAfterSeconds: number,
): StorageError {
  const code = s3ErrorCode(error);
  const status = s3ErrorStatus(error);
  if (DENIED_CODES.has(code) || status === 403) {
    return new StorageAccessDeniedError(operation, code, { cause: error });
  }
  if (
    UNAVAILABLE_CODES.has(code) ||
    (status !== undefined && (status >= 500 || status === 429)) ||
    // Connection-level failures without an answer (socket hang up, aborted by our timeout).
    (status === undefined && code !== 'Unknown' && !PROGRAMMING_ERRORS.has(code))
  ) {
    return new StorageUnavailableError(operation, code, retryAfterSeconds, { cause: error });
  }
  return new StorageUnexpectedError(operation, code, { cause: error });
}
