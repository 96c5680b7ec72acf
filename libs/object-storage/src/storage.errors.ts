/**
 * Stable codes carried by every {@link StorageError}. The service maps them to HTTP statuses;
 * tests assert them instead of messages.
 */
export type StorageErrorCode =
  | 'ERR_STORAGE_OBJECT_NOT_FOUND'
  | 'ERR_STORAGE_OBJECT_TOO_LARGE'
  | 'ERR_STORAGE_UNAVAILABLE'
  | 'ERR_STORAGE_ACCESS_DENIED'
  | 'ERR_STORAGE_UNEXPECTED';

/**
 * Base class of every error the storage ports report. Messages name the bucket, the key and
 * the upstream error code, never credentials, signatures or signed URLs.
 */
export class StorageError extends Error {
  /**
   * @param code stable machine-readable code
   * @param message human-readable description, safe to log
   * @param options `cause` keeps the upstream error for the log
   */
  constructor(
    readonly code: StorageErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The requested object does not exist (S3 `NoSuchKey`, HTTP 404). The service answers 404. */
export class ObjectNotFoundError extends StorageError {
  /**
   * @param bucket the bucket that was read
   * @param key the missing key
   */
  constructor(
    readonly bucket: string,
    readonly key: string,
    options?: { cause?: unknown },
  ) {
    super(
      'ERR_STORAGE_OBJECT_NOT_FOUND',
      `object "${key}" not found in bucket "${bucket}"`,
      options,
    );
  }
}

/**
 * The object is larger than the caller's limit: announced by `Content-Length` or observed while
 * streaming. Reading stopped there. The service answers 413.
 */
export class ObjectTooLargeError extends StorageError {
  /**
   * @param bucket the bucket that was read
   * @param key the oversized object's key
   * @param maxBytes the limit that was exceeded
   */
  constructor(
    readonly bucket: string,
    readonly key: string,
    readonly maxBytes: number,
    options?: { cause?: unknown },
  ) {
    super(
      'ERR_STORAGE_OBJECT_TOO_LARGE',
      `object "${key}" in bucket "${bucket}" is larger than ${maxBytes} bytes`,
      options,
    );
  }
}

/**
 * Storage is down or slow: connection refused or reset, a timeout, a 5xx answer or throttling.
 * Transient; the service answers 503 with `Retry-After: retryAfterSeconds`.
 */
export class StorageUnavailableError extends StorageError {
  /**
   * @param operation what was attempted, e.g. `GetObject temp-uploads/a.png`
   * @param reason short upstream reason (`TimeoutError`, `ECONNREFUSED`, `SlowDown`, …)
   * @param retryAfterSeconds how long a client should wait before retrying
   */
  constructor(
    readonly operation: string,
    readonly reason: string,
    readonly retryAfterSeconds: number,
    options?: { cause?: unknown },
  ) {
    super('ERR_STORAGE_UNAVAILABLE', `storage unavailable for ${operation}: ${reason}`, options);
  }
}

/**
 * Storage refused the request (403: `AccessDenied`, `InvalidAccessKeyId`,
 * `SignatureDoesNotMatch`). With least-privilege policies this is a bug in our code or
 * configuration, never the client's fault: the service answers 500 and logs it.
 */
export class StorageAccessDeniedError extends StorageError {
  /**
   * @param operation what was attempted, e.g. `PutObject temp-uploads/a.png`
   * @param upstreamCode the S3 error code
   */
  constructor(
    readonly operation: string,
    readonly upstreamCode: string,
    options?: { cause?: unknown },
  ) {
    super('ERR_STORAGE_ACCESS_DENIED', `storage denied ${operation}: ${upstreamCode}`, options);
  }
}

/** Any other storage failure (e.g. `NoSuchBucket`): a configuration problem, answered with 500. */
export class StorageUnexpectedError extends StorageError {
  /**
   * @param operation what was attempted
   * @param upstreamCode the S3 error code or error name
   */
  constructor(
    readonly operation: string,
    readonly upstreamCode: string,
    options?: { cause?: unknown },
  ) {
    super('ERR_STORAGE_UNEXPECTED', `storage failed ${operation}: ${upstreamCode}`, options);
  }
}
