import os from 'node:os';
import { Inject, Injectable, Optional } from '@nestjs/common';
import {
  bulkhead,
  type BulkheadPolicy,
  isBulkheadRejectedError,
  isTaskCancelledError,
  timeout,
  TimeoutStrategy,
  wrap,
} from 'cockatiel';
import { ImageWorkBusyError } from './image-work-busy.error.js';
import { ImageWorkTimeoutError } from './image-work-timeout.error.js';

/** Options of {@link ImageJobLimiter}. */
export interface ImageJobLimiterOptions {
  /**
   * Jobs running at the same time.
   * @default os.availableParallelism()
   */
  readonly concurrency?: number;
  /**
   * Jobs waiting for a slot; beyond them a job is refused with {@link ImageWorkBusyError}.
   * @default concurrency * 2
   */
  readonly queue?: number;
  /**
   * Time budget of one job, queue wait included, in milliseconds.
   * @default 10_000
   */
  readonly timeoutMs?: number;
  /**
   * `Retry-After` suggested when refusing, in seconds.
   * @default 1
   */
  readonly retryAfterSeconds?: number;
}

/** {@link ImageJobLimiterOptions} with defaults applied. */
export type ResolvedImageJobLimiterOptions = Readonly<Required<ImageJobLimiterOptions>>;

/** Injection token of {@link ImageJobLimiterOptions}; optional, the defaults apply without it. */
export const IMAGE_JOB_LIMITER_OPTIONS = Symbol('IMAGE_JOB_LIMITER_OPTIONS');

/**
 * Applies the defaults of {@link ImageJobLimiterOptions} and refuses invalid values.
 *
 * @throws {Error} naming the option, e.g. `"imageJobs.queue" must be an integer >= 0`.
 */
export function resolveImageJobLimiterOptions(
  options: ImageJobLimiterOptions = {},
): ResolvedImageJobLimiterOptions {
  const {
    concurrency = os.availableParallelism(),
    queue = concurrency * 2,
    timeoutMs = 10_000,
    retryAfterSeconds = 1,
  } = options;
  requireInteger('concurrency', concurrency, 1);
  requireInteger('queue', queue, 0);
  requireInteger('timeoutMs', timeoutMs, 1);
  requireInteger('retryAfterSeconds', retryAfterSeconds, 1);
  return Object.freeze({ concurrency, queue, timeoutMs, retryAfterSeconds });
}

function requireInteger(name: string, value: unknown, min: number): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new Error(`"imageJobs.${name}" must be an integer >= ${min}, got ${String(value)}`);
  }
}

/**
 * Bounds image work so that a burst cannot exhaust memory: at most `concurrency` jobs run, at
 * most `queue` wait, and the rest are refused at once with {@link ImageWorkBusyError}. Built on
 * cockatiel's bulkhead, inside an aggressive timeout.
 *
 * On timeout the caller gets {@link ImageWorkTimeoutError} at once, but a running job keeps its
 * slot until it really ends: `sharp` work cannot be cancelled from JavaScript (the renderer sets
 * libvips' own timeout, which does stop it), and freeing the slot early would let more decoded
 * images into memory than the limit says. A job that times out while still queued is never
 * started.
 */
@Injectable()
export class ImageJobLimiter {
  /** The options in force. */
  readonly options: ResolvedImageJobLimiterOptions;

  private readonly bulkhead: BulkheadPolicy;
  private readonly policy;

  /** @param options See {@link ImageJobLimiterOptions}. */
  constructor(@Optional() @Inject(IMAGE_JOB_LIMITER_OPTIONS) options?: ImageJobLimiterOptions) {
    this.options = resolveImageJobLimiterOptions(options);
    this.bulkhead = bulkhead(this.options.concurrency, this.options.queue);
    // Timeout outside, bulkhead inside: the timeout answers the caller, the bulkhead keeps
    // counting the job until its promise settles.
    this.policy = wrap(timeout(this.options.timeoutMs, TimeoutStrategy.Aggressive), this.bulkhead);
  }

  /** Free slots now, for health and metrics. */
  get executionSlots(): number {
    return this.bulkhead.executionSlots;
  }

  /** Free queue places now, for health and metrics. */
  get queueSlots(): number {
    return this.bulkhead.queueSlots;
  }

  /**
   * Runs `job` when a slot is free.
   *
   * @param job The work; its signal aborts on timeout or when `signal` aborts.
   * @param signal Aborts waiting (e.g. the client went away); rethrown as the signal's reason.
   * @throws {ImageWorkBusyError} when every slot and queue place is taken.
   * @throws {ImageWorkTimeoutError} when the job has not finished within `timeoutMs`.
   */
  async run<T>(job: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    try {
      return await this.policy.execute(({ signal: jobSignal }) => job(jobSignal), signal);
    } catch (error) {
      if (isBulkheadRejectedError(error)) {
        throw new ImageWorkBusyError(this.options.retryAfterSeconds, { cause: error });
      }
      if (isTaskCancelledError(error)) {
        if (signal?.aborted) {
          throw signal.reason;
        }
        throw new ImageWorkTimeoutError(this.options.timeoutMs, this.options.retryAfterSeconds, {
          cause: error,
        });
      }
      throw error;
    }
  }
}
