import { fakeDateOnly } from './fake-date.js';

describe('fakeDateOnly()', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('fakes Date and leaves setTimeout and setImmediate real', async () => {
    jest.useFakeTimers(fakeDateOnly());
    jest.setSystemTime(Date.UTC(2040, 0, 1));
    expect(new Date().getUTCFullYear()).toBe(2040);
    // Real timers fire without jest.advanceTimersByTime(); a faked one would hang the test.
    await new Promise<void>((resolve) => setTimeout(resolve, 1));
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(jest.getTimerCount()).toBe(0);
  });
});
