/**
 * An image job did not finish (queue wait included) within its time budget. Answer `503` with
 * `Retry-After: retryAfterSeconds`: a job that passed the header checks is slow because the
 * process is loaded, not because of the request.
 */
export class ImageWorkTimeoutError extends Error {
  override readonly name = 'ImageWorkTimeoutError';

  /**
   * @param timeoutMs The budget that ran out, in milliseconds.
   * @param retryAfterSeconds Seconds the client should wait before trying again.
   * @param options `cause`: cockatiel's `TaskCancelledError`, or `sharp`'s timeout error.
   */
  constructor(
    readonly timeoutMs: number,
    readonly retryAfterSeconds: number,
    options?: { cause?: unknown },
  ) {
    super(`image job did not finish within ${timeoutMs} ms`, options);
  }
}
