import {
  ObjectNotFoundError,
  ObjectTooLargeError,
  StorageAccessDeniedError,
  StorageUnavailableError,
  StorageUnexpectedError,
} from '@secure-api-sample/object-storage';
import { ImageRejectedError, type ImageRejectionReason } from './image-rejected.error.js';
import { ImageWorkBusyError } from './image-work-busy.error.js';
import { ImageWorkTimeoutError } from './image-work-timeout.error.js';
import { httpProblemFor } from './thumbnail-error.mapping.js';

describe('httpProblemFor', () => {
  it.each<[ImageRejectionReason, number, string]>([
    ['too-large', 413, 'THUMBNAIL_SOURCE_TOO_LARGE'],
    ['unsupported-format', 415, 'THUMBNAIL_UNSUPPORTED_FORMAT'],
    ['corrupt', 422, 'THUMBNAIL_CORRUPT_IMAGE'],
    ['too-many-pixels', 422, 'THUMBNAIL_TOO_MANY_PIXELS'],
  ])('maps ImageRejectedError %s to %d %s', (reason, status, code) => {
    const problem = httpProblemFor(new ImageRejectedError(reason, 'detail for the log only'));
    expect(problem).toMatchObject({ status, code });
    expect(problem.detail).not.toContain('log only');
    expect(problem.retryAfterSeconds).toBeUndefined();
  });

  it.each<[string, unknown, number, string, number | undefined]>([
    [
      'ObjectNotFoundError',
      new ObjectNotFoundError('temp-uploads', 'a.png'),
      404,
      'THUMBNAIL_SOURCE_NOT_FOUND',
      undefined,
    ],
    [
      'ObjectTooLargeError',
      new ObjectTooLargeError('temp-uploads', 'a.png', 1),
      413,
      'THUMBNAIL_SOURCE_TOO_LARGE',
      undefined,
    ],
    [
      'StorageUnavailableError',
      new StorageUnavailableError('GetObject x', 'SlowDown', 7),
      503,
      'STORAGE_UNAVAILABLE',
      7,
    ],
    ['ImageWorkBusyError', new ImageWorkBusyError(2), 503, 'THUMBNAIL_BUSY', 2],
    ['ImageWorkTimeoutError', new ImageWorkTimeoutError(10_000, 3), 503, 'THUMBNAIL_TIMEOUT', 3],
    [
      'StorageAccessDeniedError',
      new StorageAccessDeniedError('GetObject x', 'AccessDenied'),
      500,
      'THUMBNAIL_INTERNAL_ERROR',
      undefined,
    ],
    [
      'StorageUnexpectedError',
      new StorageUnexpectedError('GetObject x', 'NoSuchBucket'),
      500,
      'THUMBNAIL_INTERNAL_ERROR',
      undefined,
    ],
    ['a plain Error', new Error('bug'), 500, 'THUMBNAIL_INTERNAL_ERROR', undefined],
    ['a thrown string', 'oops', 500, 'THUMBNAIL_INTERNAL_ERROR', undefined],
  ])('maps %s to %d %s', (_name, error, status, code, retryAfterSeconds) => {
    const problem = httpProblemFor(error);
    expect(problem).toMatchObject({ status, code });
    expect(problem.retryAfterSeconds).toBe(retryAfterSeconds);
  });

  it('never puts the storage message (bucket, operation, upstream code) in a 500 detail', () => {
    const problem = httpProblemFor(
      new StorageAccessDeniedError('GetObject temp-uploads/a', 'AccessDenied'),
    );
    expect(problem).toEqual({
      status: 500,
      code: 'THUMBNAIL_INTERNAL_ERROR',
      title: 'Internal Server Error',
      detail: 'The thumbnail could not be made.',
    });
  });

  it('falls back to Retry-After 1 when storage gives no usable value', () => {
    const error = new StorageUnavailableError('GetObject x', 'ECONNRESET', Number.NaN);
    expect(httpProblemFor(error).retryAfterSeconds).toBe(1);
  });
});
