/**
 * Every image-work slot and queue place is taken; the request was not started. Answer `503`
 * with `Retry-After: retryAfterSeconds`.
 */
export class ImageWorkBusyError extends Error {
  override readonly name = 'ImageWorkBusyError';

  /**
   * @param retryAfterSeconds Seconds the client should wait before trying again.
   * @param options `cause`: cockatiel's `BulkheadRejectedError`.
   */
  constructor(
    readonly retryAfterSeconds: number,
    options?: { cause?: unknown },
  ) {
    super(`image work is at capacity; retry after ${retryAfterSeconds} s`, options);
  }
}
