import os from 'node:os';
import { ImageJobLimiter, resolveImageJobLimiterOptions } from './image-job.limiter.js';
import { ImageWorkBusyError } from './image-work-busy.error.js';
import { ImageWorkTimeoutError } from './image-work-timeout.error.js';

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void; // assigned synchronously by the Promise constructor
  const promise = new Promise<T>((settle) => {
    resolve = settle;
  });
  return { promise, resolve };
}

/** Lets cockatiel's dequeue (a microtask chain) run. */
async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) {
    await Promise.resolve();
  }
}

describe('resolveImageJobLimiterOptions', () => {
  it('defaults to one job per CPU, a queue of twice that, 10 s and Retry-After 1', () => {
    const cpus = os.availableParallelism();
    expect(resolveImageJobLimiterOptions()).toEqual({
      concurrency: cpus,
      queue: cpus * 2,
      timeoutMs: 10_000,
      retryAfterSeconds: 1,
    });
    expect(Object.isFrozen(resolveImageJobLimiterOptions())).toBe(true);
  });

  it('derives the queue from an explicit concurrency', () => {
    expect(resolveImageJobLimiterOptions({ concurrency: 3 }).queue).toBe(6);
  });

  it.each([
    [{ concurrency: 0 }, '"imageJobs.concurrency" must be an integer >= 1, got 0'],
    [{ concurrency: 1.5 }, '"imageJobs.concurrency" must be an integer >= 1, got 1.5'],
    [{ queue: -1 }, '"imageJobs.queue" must be an integer >= 0, got -1'],
    [{ timeoutMs: 0 }, '"imageJobs.timeoutMs" must be an integer >= 1, got 0'],
    [
      { retryAfterSeconds: Number.NaN },
      '"imageJobs.retryAfterSeconds" must be an integer >= 1, got NaN',
    ],
  ])('refuses %j', (options, message) => {
    expect(() => resolveImageJobLimiterOptions(options)).toThrow(message);
  });
});

describe('ImageJobLimiter', () => {
  it('accepts limit + queue jobs and refuses the next with ImageWorkBusyError', async () => {
    expect.assertions(5);
    const limiter = new ImageJobLimiter({ concurrency: 2, queue: 3, retryAfterSeconds: 2 });
    const gates = Array.from({ length: 5 }, () => deferred<number>());
    const started: number[] = [];
    const accepted = gates.map((gate, index) =>
      limiter.run(() => {
        started.push(index);
        return gate.promise;
      }),
    );
    await flush();
    expect(started).toEqual([0, 1]);

    try {
      await limiter.run(() => Promise.resolve(-1));
    } catch (error) {
      expect(error).toBeInstanceOf(ImageWorkBusyError);
      expect((error as ImageWorkBusyError).retryAfterSeconds).toBe(2);
    }

    gates.forEach((gate, index) => gate.resolve(index));
    await expect(Promise.all(accepted)).resolves.toEqual([0, 1, 2, 3, 4]);
    expect(started).toEqual([0, 1, 2, 3, 4]);
  });

  it('starts a queued job as soon as a slot is free', async () => {
    const limiter = new ImageJobLimiter({ concurrency: 1, queue: 1 });
    const first = deferred<string>();
    const running = limiter.run(() => first.promise);
    const queued = limiter.run(() => Promise.resolve('second'));
    await flush();
    expect([limiter.executionSlots, limiter.queueSlots]).toEqual([0, 0]);
    first.resolve('first');
    await expect(Promise.all([running, queued])).resolves.toEqual(['first', 'second']);
    expect([limiter.executionSlots, limiter.queueSlots]).toEqual([1, 1]);
  });

  it('passes job errors through unchanged and frees the slot', async () => {
    const limiter = new ImageJobLimiter({ concurrency: 1, queue: 0 });
    const failure = new Error('boom');
    await expect(limiter.run(() => Promise.reject(failure))).rejects.toBe(failure);
    await expect(limiter.run(() => Promise.resolve('next'))).resolves.toBe('next');
  });

  describe('timeouts', () => {
    beforeEach(() => {
      jest.useFakeTimers();
    });
    afterEach(() => {
      jest.useRealTimers();
    });

    it('answers the caller at once but keeps the slot until the work really ends', async () => {
      expect.assertions(6);
      const limiter = new ImageJobLimiter({ concurrency: 1, queue: 0, timeoutMs: 1000 });
      const work = deferred<string>();
      let jobSignal: AbortSignal | undefined;
      const running = limiter.run((signal) => {
        jobSignal = signal;
        return work.promise;
      });
      const outcome = running.catch((error: unknown) => error);

      await jest.advanceTimersByTimeAsync(1000);
      const error = await outcome;
      expect(error).toBeInstanceOf(ImageWorkTimeoutError);
      expect((error as ImageWorkTimeoutError).timeoutMs).toBe(1000);
      expect(jobSignal?.aborted).toBe(true);

      // The timed-out work still runs (sharp cannot be stopped from here): still no free slot.
      await expect(limiter.run(() => Promise.resolve('too early'))).rejects.toBeInstanceOf(
        ImageWorkBusyError,
      );
      expect(limiter.executionSlots).toBe(0);

      work.resolve('late');
      await flush();
      await expect(limiter.run(() => Promise.resolve('now'))).resolves.toBe('now');
    });

    it('never starts a job that timed out while queued', async () => {
      const limiter = new ImageJobLimiter({ concurrency: 1, queue: 1, timeoutMs: 1000 });
      const work = deferred<string>();
      const running = limiter.run(() => work.promise).catch((error: unknown) => error);
      const queuedJob = jest.fn(() => Promise.resolve('queued'));
      const queued = limiter.run(queuedJob).catch((error: unknown) => error);

      await jest.advanceTimersByTimeAsync(1000);
      await expect(queued).resolves.toBeInstanceOf(ImageWorkTimeoutError);
      await expect(running).resolves.toBeInstanceOf(ImageWorkTimeoutError);

      work.resolve('late');
      await flush();
      expect(queuedJob).not.toHaveBeenCalled();
      expect([limiter.executionSlots, limiter.queueSlots]).toEqual([1, 1]);
    });

    it('rethrows the reason of the caller’s signal, not a timeout, when the caller aborts', async () => {
      const limiter = new ImageJobLimiter({ concurrency: 1, queue: 0, timeoutMs: 1000 });
      const caller = new AbortController();
      const work = deferred<string>();
      const running = limiter
        .run(() => work.promise, caller.signal)
        .catch((error: unknown) => error);
      const reason = new Error('client went away');
      caller.abort(reason);
      await expect(running).resolves.toBe(reason);
      work.resolve('late');
    });
  });
});
