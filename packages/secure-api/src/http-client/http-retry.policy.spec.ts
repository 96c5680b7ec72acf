import { createRetryPolicy, type RetryClassifier } from './http-retry.policy.js';

class Transient extends Error {
  constructor(readonly retryAfterMs?: number) {
    super('transient');
  }
}

const CLASSIFIER: RetryClassifier = {
  shouldRetry: (error) => error instanceof Transient,
  retryAfterMs: (error) => (error instanceof Transient ? error.retryAfterMs : undefined),
};

/** A task that throws the given errors in turn, then returns 'done'; counts its calls. */
function task(failures: Error[]): { run: () => Promise<string>; calls: () => number } {
  let calls = 0;
  return {
    run: () => {
      const failure = failures[calls];
      calls += 1;
      return failure ? Promise.reject(failure) : Promise.resolve('done');
    },
    calls: () => calls,
  };
}

describe('createRetryPolicy()', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('waits exactly the Retry-After an error asks for', async () => {
    const policy = createRetryPolicy(
      { attempts: 2, initialDelayMs: 10, maxDelayMs: 50 },
      CLASSIFIER,
    );
    const { run, calls } = task([new Transient(2500)]);

    const result = policy.execute(run);
    await jest.advanceTimersByTimeAsync(2499);
    expect(calls()).toBe(1);
    await jest.advanceTimersByTimeAsync(1);

    await expect(result).resolves.toBe('done');
    expect(calls()).toBe(2);
  });

  it('backs off exponentially (decorrelated jitter) up to maxDelayMs otherwise', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0.5);
    const policy = createRetryPolicy(
      { attempts: 7, initialDelayMs: 100, maxDelayMs: 1000 },
      CLASSIFIER,
    );
    const delays: number[] = [];
    policy.onRetry((event) => delays.push(event.delay));
    const { run } = task([1, 2, 3, 4, 5, 6].map(() => new Transient()));

    const result = policy.execute(run);
    await jest.runAllTimersAsync();

    await expect(result).resolves.toBe('done');
    // About 1x, 1.2x, 2x, 4x, 8x the initial delay, then the cap.
    expect(delays).toEqual([90, 109, 204, 405, 808, 1000]);
  });

  it('jitters: two runs with other random draws wait differently', async () => {
    const draws: number[][] = [];
    for (const random of [0.1, 0.9]) {
      jest.spyOn(Math, 'random').mockReturnValue(random);
      const policy = createRetryPolicy(
        { attempts: 3, initialDelayMs: 100, maxDelayMs: 10_000 },
        CLASSIFIER,
      );
      const delays: number[] = [];
      policy.onRetry((event) => delays.push(event.delay));
      const result = policy.execute(task([new Transient(), new Transient()]).run);
      await jest.runAllTimersAsync();
      await result;
      draws.push(delays);
    }
    expect(draws[0]).not.toEqual(draws[1]);
  });

  it('advances the exponential sequence across a Retry-After', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0.5);
    const policy = createRetryPolicy(
      { attempts: 3, initialDelayMs: 100, maxDelayMs: 10_000 },
      CLASSIFIER,
    );
    const delays: number[] = [];
    policy.onRetry((event) => delays.push(event.delay));
    const plain = createRetryPolicy(
      { attempts: 3, initialDelayMs: 100, maxDelayMs: 10_000 },
      CLASSIFIER,
    );
    const plainDelays: number[] = [];
    plain.onRetry((event) => plainDelays.push(event.delay));

    const a = policy.execute(task([new Transient(7), new Transient()]).run);
    const b = plain.execute(task([new Transient(), new Transient()]).run);
    await jest.runAllTimersAsync();
    await Promise.all([a, b]);

    expect(delays[0]).toBe(7);
    expect(delays[1]).toBe(plainDelays[1]);
  });

  it('throws at once what it must not retry, and retries at most attempts - 1 times', async () => {
    const policy = createRetryPolicy({ attempts: 3, initialDelayMs: 1, maxDelayMs: 1 }, CLASSIFIER);
    const permanent = task([new Error('permanent')]);
    await expect(policy.execute(permanent.run)).rejects.toThrow('permanent');
    expect(permanent.calls()).toBe(1);

    const stubborn = task([new Transient(), new Transient(), new Transient(), new Transient()]);
    const result = policy.execute(stubborn.run);
    const settled = expect(result).rejects.toBeInstanceOf(Transient);
    await jest.runAllTimersAsync();
    await settled;
    expect(stubborn.calls()).toBe(3);
  });
});
