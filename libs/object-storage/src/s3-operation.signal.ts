import { StorageUnavailableError } from './storage.errors.js';
import { mapS3Error } from './s3-error.mapper.js';

/**
 * The abort signals of one port call: the caller's and the overall operation timeout.
 */
export class S3OperationSignal {
  /** Fires when the caller aborts or the operation timeout elapses. */
  readonly signal: AbortSignal;
  private readonly timeout: AbortSignal;

  /**
   * @param operation e.g. `GetObject temp-uploads/a.png`, used in error messages
   * @param timeoutMs overall time allowed
   * @param retryAfterSeconds reported when the call fails transiently
   * @param callerSignal the caller's signal, if any
   */
  constructor(
    readonly operation: string,
    timeoutMs: number,
    private readonly retryAfterSeconds: number,
    private readonly callerSignal: AbortSignal | undefined,
  ) {
    this.timeout = AbortSignal.timeout(timeoutMs);
    this.signal =
      callerSignal === undefined ? this.timeout : AbortSignal.any([callerSignal, this.timeout]);
  }

  /**
   * Turns whatever the call threw into what the port reports. A caller's abort is rethrown as
   * the caller's reason: the caller asked for it and knows what it means.
   *
   * @param error what the SDK or the body stream threw
   */
  fail(error: unknown): unknown {
    if (this.callerSignal?.aborted === true) return this.callerSignal.reason;
    if (this.timeout.aborted) {
      return new StorageUnavailableError(
        this.operation,
        'OperationTimeout',
        this.retryAfterSeconds,
        {
          cause: error,
        },
      );
    }
    return mapS3Error(this.operation, error, this.retryAfterSeconds);
  }
}
