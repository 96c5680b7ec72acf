import {
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
  isBrokenCircuitError,
  type CircuitBreakerPolicy,
} from 'cockatiel';

/** State of one origin's circuit. */
export type CircuitStateName = 'closed' | 'open' | 'half-open';

/** Settings of {@link OriginBreakerRegistry}. */
export interface BreakerSettings {
  readonly consecutiveFailures: number;
  readonly halfOpenAfterMs: number;
}

/** Called when an origin's circuit changes state. */
export interface BreakerListener {
  opened(origin: string, halfOpenAfterMs: number): void;
  halfOpened(origin: string): void;
  closed(origin: string): void;
}

interface OriginBreaker {
  readonly policy: CircuitBreakerPolicy;
  openedAt: number | undefined;
}

/**
 * Origins whose breakers are kept at most; past it, the oldest closed one is dropped (it holds
 * only a failure count), so that `allowedOrigins: '*'` cannot grow the map without bound.
 */
const MAX_ORIGINS = 1024;

/**
 * One cockatiel circuit breaker (`ConsecutiveBreaker`) per origin, so that one failing upstream
 * does not cut the others off. Open → half-open is decided on `Date.now()` (cockatiel compares
 * the open time with the clock on the next call), so a faked `Date` moves it.
 */
export class OriginBreakerRegistry {
  readonly #breakers = new Map<string, OriginBreaker>();

  constructor(
    private readonly settings: BreakerSettings,
    private readonly isFailure: (error: unknown) => boolean,
    private readonly listener: BreakerListener,
  ) {}

  /**
   * Runs `fn` through the origin's breaker.
   * @param refused makes the error thrown, without calling `fn`, while the circuit is open
   */
  async execute<T>(
    origin: string,
    fn: () => Promise<T>,
    refused: (retryAfterMs: number) => Error,
  ): Promise<T> {
    const breaker = this.#breakerFor(origin);
    try {
      return await breaker.policy.execute(fn);
    } catch (error) {
      if (!isBrokenCircuitError(error)) throw error;
      const openedAt = breaker.openedAt ?? Date.now();
      throw refused(Math.max(0, openedAt + this.settings.halfOpenAfterMs - Date.now()));
    }
  }

  /** The origin's state; an origin never called is `'closed'`. */
  state(origin: string): CircuitStateName {
    const state = this.#breakers.get(origin)?.policy.state ?? CircuitState.Closed;
    if (state === CircuitState.Closed) return 'closed';
    return state === CircuitState.HalfOpen ? 'half-open' : 'open';
  }

  #breakerFor(origin: string): OriginBreaker {
    const known = this.#breakers.get(origin);
    if (known) return known;
    if (this.#breakers.size >= MAX_ORIGINS) this.#evictOneClosed();
    const policy = circuitBreaker(
      handleWhen((error) => this.isFailure(error)),
      {
        breaker: new ConsecutiveBreaker(this.settings.consecutiveFailures),
        halfOpenAfter: this.settings.halfOpenAfterMs,
      },
    );
    const breaker: OriginBreaker = { policy, openedAt: undefined };
    policy.onBreak(() => {
      breaker.openedAt = Date.now();
      this.listener.opened(origin, this.settings.halfOpenAfterMs);
    });
    policy.onHalfOpen(() => this.listener.halfOpened(origin));
    policy.onReset(() => {
      breaker.openedAt = undefined;
      this.listener.closed(origin);
    });
    this.#breakers.set(origin, breaker);
    return breaker;
  }

  #evictOneClosed(): void {
    for (const [origin, breaker] of this.#breakers) {
      if (breaker.policy.state === CircuitState.Closed) {
        this.#breakers.delete(origin);
        return;
      }
    }
  }
}
