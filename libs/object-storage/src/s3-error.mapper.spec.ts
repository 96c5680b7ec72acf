import { isS3ObjectMissing, mapS3Error, s3ErrorCode } from './s3-error.mapper.js';
import {
  StorageAccessDeniedError,
  StorageUnavailableError,
  StorageUnexpectedError,
} from './storage.errors.js';

function sdkError(name: string, status: number | undefined): Error {
  return Object.assign(new Error('upstream message with X-Amz-Signature=abc'), {
    name,
    $metadata: { httpStatusCode: status },
  });
}

describe('mapS3Error', () => {
  it.each([
    ['AccessDenied', 403, StorageAccessDeniedError],
    ['InvalidAccessKeyId', 403, StorageAccessDeniedError],
    ['SignatureDoesNotMatch', 403, StorageAccessDeniedError],
    ['SlowDown', 503, StorageUnavailableError],
    ['ServiceUnavailable', 503, StorageUnavailableError],
    ['InternalError', 500, StorageUnavailableError],
    ['TooManyRequests', 429, StorageUnavailableError],
    ['TimeoutError', undefined, StorageUnavailableError],
    ['NoSuchBucket', 404, StorageUnexpectedError],
    ['InvalidArgument', 400, StorageUnexpectedError],
    ['TypeError', undefined, StorageUnexpectedError],
  ] as const)('%s (%s) → %p', (name, status, type) => {
    const mapped = mapS3Error('GetObject b/k', sdkError(name, status), 3);
    expect(mapped).toBeInstanceOf(type);
    expect(mapped.message).toBe(
      type === StorageAccessDeniedError
        ? `storage denied GetObject b/k: ${name}`
        : type === StorageUnavailableError
          ? `storage unavailable for GetObject b/k: ${name}`
          : `storage failed GetObject b/k: ${name}`,
    );
    expect(mapped.message).not.toContain('Signature=');
  });

  it('keeps retryAfterSeconds and the cause', () => {
    const cause = sdkError('SlowDown', 503);
    expect(mapS3Error('op', cause, 9)).toMatchObject({ retryAfterSeconds: 9, cause });
  });

  it('maps a system error code without an answer', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), {
      code: 'ECONNREFUSED',
      $metadata: {},
    });
    expect(mapS3Error('op', refused, 1)).toMatchObject({ reason: 'ECONNREFUSED' });
  });

  it("reads the SDK retry middleware's wrapper of a foreign-realm error", () => {
    const wrapped = new Error('AWS SDK error wrapper for Error: connect ECONNREFUSED 127.0.0.1:9');
    expect(s3ErrorCode(wrapped)).toBe('ECONNREFUSED');
    expect(s3ErrorCode(new Error('AWS SDK error wrapper for TimeoutError: socket hang up'))).toBe(
      'TimeoutError',
    );
  });
});

describe('isS3ObjectMissing', () => {
  it.each([
    ['NoSuchKey', 404, true],
    ['NotFound', 404, true],
    ['NoSuchBucket', 404, false],
    ['AccessDenied', 403, false],
  ] as const)('%s (%i) → %s', (name, status, missing) => {
    expect(isS3ObjectMissing(sdkError(name, status))).toBe(missing);
  });
});
