import {
  ObjectNotFoundError,
  ObjectTooLargeError,
  StorageUnavailableError,
} from '@secure-api-sample/object-storage';
import { ImageRejectedError, type ImageRejectionReason } from './image-rejected.error.js';
import { ImageWorkBusyError } from './image-work-busy.error.js';
import { ImageWorkTimeoutError } from './image-work-timeout.error.js';

/** Stable codes of the problems `POST /v1/thumbnails` answers with. */
export type ThumbnailProblemCode =
  | 'THUMBNAIL_SOURCE_TOO_LARGE'
  | 'THUMBNAIL_UNSUPPORTED_FORMAT'
  | 'THUMBNAIL_CORRUPT_IMAGE'
  | 'THUMBNAIL_TOO_MANY_PIXELS'
  | 'THUMBNAIL_SOURCE_NOT_FOUND'
  | 'THUMBNAIL_BUSY'
  | 'THUMBNAIL_TIMEOUT'
  | 'STORAGE_UNAVAILABLE'
  | 'THUMBNAIL_INTERNAL_ERROR';

/** What to answer for an error: the fields of a problem+json body and one header. */
export interface ThumbnailProblem {
  /** HTTP status. */
  readonly status: number;
  /** Stable code, for the body's `code`. */
  readonly code: ThumbnailProblemCode;
  /** Short, fixed summary of the kind of problem. */
  readonly title: string;
  /** Fixed, client-safe explanation; never the error's message (that one is for the log). */
  readonly detail: string;
  /** `Retry-After` value in seconds, for 503 answers. */
  readonly retryAfterSeconds?: number;
}

const REJECTIONS: Readonly<Record<ImageRejectionReason, ThumbnailProblem>> = Object.freeze({
  'too-large': {
    status: 413,
    code: 'THUMBNAIL_SOURCE_TOO_LARGE',
    title: 'Payload Too Large',
    detail: 'The source image is larger than 25 MiB.',
  },
  'unsupported-format': {
    status: 415,
    code: 'THUMBNAIL_UNSUPPORTED_FORMAT',
    title: 'Unsupported Media Type',
    detail: 'The source is not a JPEG, PNG, WebP, GIF or AVIF image.',
  },
  corrupt: {
    status: 422,
    code: 'THUMBNAIL_CORRUPT_IMAGE',
    title: 'Unprocessable Content',
    detail: 'The source image is truncated or corrupt.',
  },
  'too-many-pixels': {
    status: 422,
    code: 'THUMBNAIL_TOO_MANY_PIXELS',
    title: 'Unprocessable Content',
    detail: 'The source image has more than 50 megapixels.',
  },
});

const INTERNAL: ThumbnailProblem = Object.freeze({
  status: 500,
  code: 'THUMBNAIL_INTERNAL_ERROR',
  title: 'Internal Server Error',
  detail: 'The thumbnail could not be made.',
});

/**
 * The answer to give for an error thrown by `ThumbnailService.create()`.
 *
 * | error                                   | status | code                           |
 * | --------------------------------------- | ------ | ------------------------------ |
 * | `ImageRejectedError` `too-large`        | 413    | `THUMBNAIL_SOURCE_TOO_LARGE`   |
 * | `ImageRejectedError` `unsupported-format` | 415  | `THUMBNAIL_UNSUPPORTED_FORMAT` |
 * | `ImageRejectedError` `corrupt`          | 422    | `THUMBNAIL_CORRUPT_IMAGE`      |
 * | `ImageRejectedError` `too-many-pixels`  | 422    | `THUMBNAIL_TOO_MANY_PIXELS`    |
 * | `ObjectNotFoundError`                   | 404    | `THUMBNAIL_SOURCE_NOT_FOUND`   |
 * | `ObjectTooLargeError`                   | 413    | `THUMBNAIL_SOURCE_TOO_LARGE`   |
 * | `StorageUnavailableError`               | 503 + Retry-After | `STORAGE_UNAVAILABLE` |
 * | `ImageWorkBusyError`                    | 503 + Retry-After | `THUMBNAIL_BUSY`      |
 * | `ImageWorkTimeoutError`                 | 503 + Retry-After | `THUMBNAIL_TIMEOUT`   |
 * | anything else (`StorageAccessDeniedError`, `StorageUnexpectedError`: our misconfiguration) | 500 | `THUMBNAIL_INTERNAL_ERROR` |
 *
 * `detail` is always a fixed text; log the error itself (its message and `cause`) beside the
 * answer, above all for 500s.
 */
export function httpProblemFor(error: unknown): ThumbnailProblem {
  if (error instanceof ImageRejectedError) {
    return REJECTIONS[error.reason];
  }
  if (error instanceof ImageWorkBusyError) {
    return {
      status: 503,
      code: 'THUMBNAIL_BUSY',
      title: 'Service Unavailable',
      detail: 'Too many thumbnails are being made; retry later.',
      retryAfterSeconds: error.retryAfterSeconds,
    };
  }
  if (error instanceof ImageWorkTimeoutError) {
    return {
      status: 503,
      code: 'THUMBNAIL_TIMEOUT',
      title: 'Service Unavailable',
      detail: 'The thumbnail took too long to make; retry later.',
      retryAfterSeconds: error.retryAfterSeconds,
    };
  }
  if (error instanceof ObjectNotFoundError) {
    return {
      status: 404,
      code: 'THUMBNAIL_SOURCE_NOT_FOUND',
      title: 'Not Found',
      detail: 'No upload has this source key.',
    };
  }
  if (error instanceof ObjectTooLargeError) {
    return REJECTIONS['too-large'];
  }
  if (error instanceof StorageUnavailableError) {
    const retryAfter = error.retryAfterSeconds;
    return {
      status: 503,
      code: 'STORAGE_UNAVAILABLE',
      title: 'Service Unavailable',
      detail: 'Storage is unavailable; retry later.',
      retryAfterSeconds: Number.isSafeInteger(retryAfter) && retryAfter > 0 ? retryAfter : 1,
    };
  }
  return INTERNAL;
}
