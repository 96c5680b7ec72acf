import { fakeDateOnly } from '@secure-api/testing';
import { OriginBreakerRegistry, type BreakerListener } from './origin-breaker.registry.js';

class Failure extends Error {}

function registry(events: string[]): OriginBreakerRegistry {
  const listener: BreakerListener = {
    opened: (origin, ms) => events.push(`open ${origin} ${ms}`),
    halfOpened: (origin) => events.push(`half-open ${origin}`),
    closed: (origin) => events.push(`close ${origin}`),
  };
  return new OriginBreakerRegistry(
    { consecutiveFailures: 2, halfOpenAfterMs: 1000 },
    (error) => error instanceof Failure,
    listener,
  );
}

const fail = (): Promise<never> => Promise.reject(new Failure('down'));
const refused = (retryAfterMs: number): Error => new Error(`refused, retry in ${retryAfterMs}`);

describe('OriginBreakerRegistry', () => {
  beforeEach(() => {
    jest.useFakeTimers(fakeDateOnly());
    jest.setSystemTime(Date.UTC(2030, 0, 1));
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('opens one origin without touching another, and refuses without calling', async () => {
    const events: string[] = [];
    const breakers = registry(events);
    for (let i = 0; i < 2; i += 1) {
      await expect(breakers.execute('https://a.example', fail, refused)).rejects.toBeInstanceOf(
        Failure,
      );
    }
    const call = jest.fn(() => Promise.resolve('ok'));

    await expect(breakers.execute('https://a.example', call, refused)).rejects.toThrow(
      'refused, retry in 1000',
    );
    await expect(breakers.execute('https://b.example', call, refused)).resolves.toBe('ok');

    expect(call).toHaveBeenCalledTimes(1);
    expect(events).toEqual(['open https://a.example 1000']);
    expect([breakers.state('https://a.example'), breakers.state('https://b.example')]).toEqual([
      'open',
      'closed',
    ]);
  });

  it('counts only what isFailure says, and a success resets the count', async () => {
    const breakers = registry([]);
    await expect(breakers.execute('o', fail, refused)).rejects.toBeInstanceOf(Failure);
    await expect(breakers.execute('o', () => Promise.resolve(1), refused)).resolves.toBe(1);
    await expect(breakers.execute('o', fail, refused)).rejects.toBeInstanceOf(Failure);
    await expect(
      breakers.execute('o', () => Promise.reject(new Error('not a failure')), refused),
    ).rejects.toThrow('not a failure');
    expect(breakers.state('o')).toBe('closed');
  });

  it('half-opens after halfOpenAfterMs on the clock, and closes on a successful trial', async () => {
    const events: string[] = [];
    const breakers = registry(events);
    for (let i = 0; i < 2; i += 1)
      await breakers.execute('o', fail, refused).catch(() => undefined);

    jest.setSystemTime(Date.now() + 600);
    await expect(breakers.execute('o', fail, refused)).rejects.toThrow('refused, retry in 400');
    jest.setSystemTime(Date.now() + 400);
    await expect(breakers.execute('o', () => Promise.resolve('trial'), refused)).resolves.toBe(
      'trial',
    );

    expect(events).toEqual(['open o 1000', 'half-open o', 'close o']);
    expect(breakers.state('o')).toBe('closed');
  });
});
