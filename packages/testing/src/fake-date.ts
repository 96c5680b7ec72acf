/** The timer APIs Jest can fake, except `Date`. */
type RealTimerApi =
  | 'hrtime'
  | 'nextTick'
  | 'performance'
  | 'queueMicrotask'
  | 'requestAnimationFrame'
  | 'cancelAnimationFrame'
  | 'requestIdleCallback'
  | 'cancelIdleCallback'
  | 'setImmediate'
  | 'clearImmediate'
  | 'setInterval'
  | 'clearInterval'
  | 'setTimeout'
  | 'clearTimeout';

/**
 * Options for `jest.useFakeTimers()` that fake only `Date`: sockets, timeouts, microtasks and
 * the event loop stay real, so a test can move the clock (`jest.setSystemTime()`) while real
 * HTTP requests, JWKS fetches and servers keep running. A fresh object on every call, because
 * Jest's option type wants a mutable array.
 *
 * @example
 * jest.useFakeTimers(fakeDateOnly());
 * jest.setSystemTime(Date.now() + 3_600_000);
 */
export function fakeDateOnly(): { doNotFake: RealTimerApi[] } {
  return {
    doNotFake: [
      'hrtime',
      'nextTick',
      'performance',
      'queueMicrotask',
      'requestAnimationFrame',
      'cancelAnimationFrame',
      'requestIdleCallback',
      'cancelIdleCallback',
      'setImmediate',
      'clearImmediate',
      'setInterval',
      'clearInterval',
      'setTimeout',
      'clearTimeout',
    ],
  };
}
