import {
  ExponentialBackoff,
  handleWhen,
  retry,
  type IBackoff,
  type IBackoffFactory,
  type IRetryBackoffContext,
  type RetryPolicy,
} from 'cockatiel';

/** Settings of {@link createRetryPolicy}. */
export interface RetrySettings {
  /** Attempts in all, the first included. */
  readonly attempts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}

/** Tells whether a failure is worth another attempt, and how long it asks to wait. */
export interface RetryClassifier {
  /** `true` to retry after this error. */
  shouldRetry(error: unknown): boolean;
  /** The delay the error asks for (its `Retry-After`), or `undefined` for the backoff's. */
  retryAfterMs(error: unknown): number | undefined;
}

type RetryContext = IRetryBackoffContext<unknown>;

/**
 * Exponential backoff with decorrelated jitter (cockatiel's `ExponentialBackoff`), except that a
 * failure carrying a `Retry-After` waits exactly that long. The exponential sequence advances
 * either way, so a later failure without `Retry-After` still backs off further.
 */
class RetryAfterBackoff implements IBackoff<RetryContext> {
  constructor(
    private readonly exponential: IBackoff<unknown>,
    readonly duration: number,
    private readonly classifier: RetryClassifier,
  ) {}

  next(context: RetryContext): IBackoff<RetryContext> {
    return backoffFor(this.exponential.next(context), context, this.classifier);
  }
}

function backoffFor(
  exponential: IBackoff<unknown>,
  context: RetryContext,
  classifier: RetryClassifier,
): IBackoff<RetryContext> {
  const asked =
    'error' in context.result ? classifier.retryAfterMs(context.result.error) : undefined;
  return new RetryAfterBackoff(exponential, asked ?? Math.round(exponential.duration), classifier);
}

/**
 * The retry policy of the client: `attempts - 1` retries of the failures `classifier` accepts,
 * backing off as {@link RetryAfterBackoff} says.
 */
export function createRetryPolicy(
  settings: RetrySettings,
  classifier: RetryClassifier,
): RetryPolicy {
  const exponential = new ExponentialBackoff({
    initialDelay: settings.initialDelayMs,
    maxDelay: settings.maxDelayMs,
  });
  const factory: IBackoffFactory<RetryContext> = {
    next: (context) => backoffFor(exponential.next(), context, classifier),
  };
  return retry(
    handleWhen((error) => classifier.shouldRetry(error)),
    { maxAttempts: settings.attempts - 1, backoff: factory },
  );
}
