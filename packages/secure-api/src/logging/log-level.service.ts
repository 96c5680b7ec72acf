import { type OnModuleDestroy } from '@nestjs/common';
import { type LevelWithSilent, type LogFn, type Logger, type LoggerOptions, symbols } from 'pino';
import { type FieldError } from '../errors/problem-details.js';
import { SecureApiError } from '../errors/secure-api.error.js';
import { SecureApiErrorCode } from '../errors/secure-api-error-code.js';
import { SecureApiHttpError } from '../errors/secure-api-http.error.js';
import { OptionsError, positiveInteger } from '../option-checks.js';

/**
 * The levels {@link LogLevelService.set} accepts: pino's standard levels, lowest first, and
 * `silent`.
 *
 * @example SETTABLE_LOG_LEVELS.includes('debug') // true
 */
export const SETTABLE_LOG_LEVELS: readonly LevelWithSilent[] = Object.freeze([
  'trace',
  'debug',
  'info',
  'warn',
  'error',
  'fatal',
  'silent',
]);

// pino's default numbers; pino.levels.values has no `silent`, whose threshold is Infinity.
const LEVEL_VALUES: Readonly<Record<LevelWithSilent, number>> = Object.freeze({
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Infinity,
});

/**
 * What a logger name (the `context` of a Nest logger) must look like to get a level of its
 * own: what Nest class names and dotted or namespaced names use, and nothing that needs
 * escaping in a log query.
 *
 * @example LOG_CONTEXT_PATTERN.test('ThumbnailsService') // true
 */
export const LOG_CONTEXT_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Longest `maxTtlSeconds` a {@link LogLevelService} accepts, and the bound
 * `PUT /admin/log-level` checks before the service applies its own `maxTtlSeconds`: seven
 * days. A raised level is meant to be temporary; it also keeps the revert within what one
 * `setTimeout` can wait (about 24.8 days).
 *
 * @example new LogLevelService(registry, { maxTtlSeconds: LOG_LEVEL_TTL_CEILING_SECONDS })
 */
export const LOG_LEVEL_TTL_CEILING_SECONDS = 604_800;

/**
 * Most loggers that can have a level of their own at the same time. Each override adds one
 * map lookup to every log call while any is active, and an admin token should not be able to
 * grow that map without bound.
 *
 * @example LogLevelService.set() refuses a 101st distinct `logger` with a 400
 */
export const MAX_LOGGER_OVERRIDES = 100;

// The first sweep of dead references comes at this many tracked children; later ones when the
// set has doubled since the last sweep, so a sweep costs O(1) per child amortised.
const MIN_SWEEP_AT = 64;

/** The `hooks.logMethod` signature of pino 10. */
type LogMethodHook = (this: Logger, args: Parameters<LogFn>, method: LogFn, level: number) => void;

/** The pino options {@link LoggerRegistry.pinoOptions} returns, to merge into the root's options. */
export interface LoggerRegistryPinoOptions {
  /** Called by pino for every child, of the root and of children, at any depth. */
  readonly onChild: (child: Logger) => void;
  readonly hooks: {
    /** Drops calls below the level of their logger name while a per-name level is active. */
    readonly logMethod: LogMethodHook;
    readonly streamWrite?: (s: string) => string;
  };
}

/** Options of {@link LoggerRegistry}. */
export interface LoggerRegistryOptions {
  /**
   * Member of the log object that names the logger, as nestjs-pino writes it
   * (`renameContext`).
   * @default 'context'
   */
  contextKey?: string;
  /**
   * Binding that marks a logger as one request's (the `requestId` the module's request log
   * binds, as pino-http does): such loggers, and their children, are not tracked. They live only
   * as long as the request, and one made at its parent's level reads the level through its
   * prototype anyway; tracking the one or two made per request would cost more than the rest of
   * the request log. `false` tracks every child.
   * @default 'requestId'
   */
  requestKey?: string | false;
}

function comparable(level: LevelWithSilent): number {
  return LEVEL_VALUES[level];
}

/**
 * Knows every logger derived from the root, so that a level change reaches them all: pino
 * children copy their parent's level when they are made and never follow it afterwards
 * (pinojs/pino#766, #1330, #2130).
 *
 * Create it before the root logger, merge {@link pinoOptions} into the root's options, then
 * {@link attach} the root. Children are held through `WeakRef`s only, so per-request children
 * are collected as usual; dead references are swept when the set has doubled.
 *
 * A child given a level of its own at creation (`logger.child({}, { level: 'warn' })`) keeps
 * it, and so do its own children; every other logger follows the root.
 *
 * Standard pino levels in ascending order are assumed (no `levelComparison: 'DESC'`, no
 * `useOnlyCustomLevels`). Change levels through {@link LogLevelService} or {@link setLevel},
 * never with `root.level = …`, which children would not follow.
 *
 * @example
 * const registry = new LoggerRegistry();
 * const root = pino({ level: 'info', ...registry.pinoOptions() }, destination);
 * registry.attach(root);
 * const levels = new LogLevelService(registry, { defaultTtlSeconds: 600 });
 */
export class LoggerRegistry {
  /** See {@link LoggerRegistryOptions.contextKey}. */
  readonly contextKey: string;
  private attached: Logger | undefined;
  private base: number = LEVEL_VALUES.info;
  private initialLevel: LevelWithSilent = 'info';
  /** Context name to level value, for the names that currently have a level of their own. */
  private readonly contexts = new Map<string, number>();
  /** Lowest level any context override needs; Infinity when there is none. */
  private floor = Infinity;
  private readonly refs = new Set<WeakRef<Logger>>();
  private sweepAt = MIN_SWEEP_AT;
  /** Own level of the children created with one, and of their descendants. */
  private readonly pinned = new WeakMap<Logger, number>();
  private readonly issuedOnChild = new WeakSet<object>();
  private readonly issuedLogMethod = new WeakSet<object>();
  private readonly handleChild: (child: Logger) => void;
  private readonly logMethod: LogMethodHook;
  /** `"<requestKey>":`, as it appears in a child's serialised bindings. */
  private readonly requestMarker: string | undefined;

  constructor(options: LoggerRegistryOptions = {}) {
    const contextKey = options.contextKey ?? 'context';
    if (typeof contextKey !== 'string' || contextKey === '') {
      throw new OptionsError('contextKey', 'must be a non-empty string');
    }
    this.contextKey = contextKey;
    const requestKey = options.requestKey ?? 'requestId';
    if (requestKey !== false && (typeof requestKey !== 'string' || requestKey === '')) {
      throw new OptionsError('requestKey', 'must be a non-empty string or false');
    }
    this.requestMarker = requestKey === false ? undefined : `${JSON.stringify(requestKey)}:`;
    this.handleChild = (child) => this.track(child);
    const contexts = this.contexts;
    const ownLevel = (logger: Logger): number => this.ownLevel(logger);
    this.logMethod = function logMethod(this: Logger, args, method, level): void {
      // Runs on every enabled log call: with no per-name level active it costs one size read.
      if (contexts.size === 0) {
        method.apply(this, args);
        return;
      }
      const first: unknown = args[0];
      const name =
        typeof first === 'object' && first !== null
          ? (first as Record<string, unknown>)[contextKey]
          : undefined;
      const threshold =
        (typeof name === 'string' ? contexts.get(name) : undefined) ?? ownLevel(this);
      if (level >= threshold) method.apply(this, args);
    };
  }

  /**
   * The pino options the root logger must be created with. Hooks or an `onChild` the
   * application already has are passed in and chained: this registry's `onChild` runs first,
   * and its `logMethod` runs before the given one (it must see the arguments as the caller
   * passed them, before another hook rewrites them). `formatters`, `mixin` and `serializers`
   * are independent of these options; a context added by `mixin` is not seen by the filter.
   *
   * @example pino({ ...appOptions, ...registry.pinoOptions({ hooks: appOptions.hooks }) })
   */
  pinoOptions(existing: Pick<LoggerOptions, 'onChild' | 'hooks'> = {}): LoggerRegistryPinoOptions {
    const { onChild: next, hooks = {} } = existing;
    const inner = hooks.logMethod;
    const own = this.logMethod;
    const handleChild = this.handleChild;
    const onChild =
      next === undefined
        ? handleChild
        : (child: Logger): void => {
            handleChild(child);
            next(child);
          };
    const logMethod: LogMethodHook =
      inner === undefined
        ? own
        : function chained(this: Logger, args, method, level): void {
            own.call(
              this,
              args,
              (...passed: Parameters<LogFn>): void => inner.call(this, passed, method, level),
              level,
            );
          };
    this.issuedOnChild.add(onChild);
    this.issuedLogMethod.add(logMethod);
    return { onChild, hooks: { ...hooks, logMethod } };
  }

  /**
   * Adopts the root logger, which must have been created with {@link pinoOptions}; its level
   * becomes the level every logger returns to ({@link defaultLevel}).
   *
   * @throws OptionsError when `root` is not a logger, lacks this registry's `onChild` or
   * `hooks.logMethod`, or another root is already attached
   * @example registry.attach(PinoLogger.root)
   */
  attach(root: Logger): void {
    if (typeof root !== 'object' || root === null) {
      // nestjs-pino leaves PinoLogger.root undefined with `useExisting`.
      throw new OptionsError('logging', 'has no root logger to attach', 'do not set useExisting');
    }
    if (this.attached === root) return;
    if (this.attached !== undefined) {
      throw new OptionsError('logging', 'has a LoggerRegistry attached to two root loggers');
    }
    const hooks = (root as unknown as Record<symbol, { logMethod?: unknown } | undefined>)[
      symbols.hooksSym
    ];
    if (
      !this.issuedOnChild.has(root.onChild) ||
      !this.issuedLogMethod.has(hooks?.logMethod ?? {})
    ) {
      throw new OptionsError(
        'logging',
        "has a root logger created without the LoggerRegistry's pino options",
        'merge registry.pinoOptions() (onChild and hooks.logMethod) into the options of the root logger',
      );
    }
    const label = root.levels.labels[root.levelVal];
    if (label === undefined || !Object.hasOwn(LEVEL_VALUES, label)) {
      throw new OptionsError(
        'logging.level',
        'must be a standard pino level to be changed at run time',
      );
    }
    this.attached = root;
    this.pinned.delete(root);
    this.initialLevel = label as LevelWithSilent;
    this.base = root.levelVal;
  }

  /**
   * The attached root logger.
   *
   * @throws SecureApiError `ERR_SECURE_API_INVALID_OPTIONS` before {@link attach}
   * @example registry.root.info('ready')
   */
  get root(): Logger {
    if (this.attached === undefined) {
      throw new SecureApiError(
        SecureApiErrorCode.INVALID_OPTIONS,
        'LoggerRegistry: no root logger attached; call registry.attach(root) after creating it',
      );
    }
    return this.attached;
  }

  /**
   * Level of the root at {@link attach}, the level temporary changes return to.
   * @default 'info' before attach
   * @example registry.defaultLevel // 'info'
   */
  get defaultLevel(): LevelWithSilent {
    return this.initialLevel;
  }

  /**
   * Level the root and the children that follow it log at, not counting per-name levels.
   * @example registry.level // 'debug'
   */
  get level(): LevelWithSilent {
    return labelOf(this.base);
  }

  /**
   * References held, dead ones included until the next sweep; for tests and metrics.
   * @example registry.size // 42
   */
  get size(): number {
    return this.refs.size;
  }

  /**
   * Sets the root and every live child that follows it, now, with no time limit. Prefer
   * {@link LogLevelService.set}, which reverts by itself.
   *
   * @example registry.setLevel('debug')
   */
  setLevel(level: LevelWithSilent): void {
    this.base = comparable(level);
    this.applyAll();
  }

  /**
   * Gives the log calls whose object has `[contextKey]: name` a level of their own, or
   * (`undefined`) makes them follow their logger again. Loggers then run at the lowest level
   * needed and the `logMethod` hook drops what is below each call's level.
   *
   * @example registry.setContextLevel('ThumbnailsService', 'debug')
   */
  setContextLevel(name: string, level: LevelWithSilent | undefined): void {
    if (level === undefined) this.contexts.delete(name);
    else this.contexts.set(name, comparable(level));
    this.floor = Math.min(Infinity, ...this.contexts.values());
    this.applyAll();
  }

  /**
   * Drops the references whose logger has been collected; returns how many remain. Runs by
   * itself as children are created.
   *
   * @example registry.sweep() // 3
   */
  sweep(): number {
    for (const ref of this.refs) {
      if (ref.deref() === undefined) this.refs.delete(ref);
    }
    return this.refs.size;
  }

  private ownLevel(logger: Logger): number {
    return this.pinned.get(logger) ?? this.base;
  }

  private track(child: Logger): void {
    const marker = this.requestMarker;
    if (
      marker !== undefined &&
      (child as unknown as Record<symbol, string | undefined>)[symbols.chindingsSym]?.includes(
        marker,
      ) === true
    ) {
      if (this.floor !== Infinity) this.apply(child);
      return;
    }
    const parent = Object.getPrototypeOf(child) as Logger;
    // pino only calls setLevel on a child given a level that differs from its parent's, so a
    // level that differs is one the caller chose.
    if (child.levelVal !== parent.levelVal) this.pinned.set(child, child.levelVal);
    else {
      const inherited = this.pinned.get(parent);
      if (inherited !== undefined) this.pinned.set(child, inherited);
    }
    this.refs.add(new WeakRef(child));
    if (this.refs.size >= this.sweepAt) {
      this.sweepAt = Math.max(MIN_SWEEP_AT, this.sweep() * 2);
    }
    if (this.floor !== Infinity) this.apply(child);
  }

  private apply(logger: Logger): void {
    const target = Math.min(this.ownLevel(logger), this.floor);
    if (logger.levelVal === target) return;
    const label = logger.levels.labels[target] ?? (target === Infinity ? 'silent' : undefined);
    if (label !== undefined) logger.level = label;
  }

  private applyAll(): void {
    const root = this.root;
    this.apply(root);
    for (const ref of this.refs) {
      const logger = ref.deref();
      if (logger === undefined) this.refs.delete(ref);
      else if (logger !== root) this.apply(logger);
    }
  }
}

function labelOf(value: number): LevelWithSilent {
  return SETTABLE_LOG_LEVELS.find((level) => LEVEL_VALUES[level] === value) ?? 'info';
}

/** Options of {@link LogLevelService}. */
export interface LogLevelServiceOptions {
  /**
   * How long the level raised by the signal handler lasts, seconds; at most `maxTtlSeconds`.
   * @default 600, or `maxTtlSeconds` when that is lower
   */
  defaultTtlSeconds?: number;
  /**
   * Longest `ttlSeconds` {@link LogLevelService.set} accepts, seconds; at most
   * {@link LOG_LEVEL_TTL_CEILING_SECONDS}. A day: long enough to catch a daily job, short
   * enough that a forgotten `debug` does not fill the disks for a week.
   * @default 86_400
   */
  maxTtlSeconds?: number;
}

/** A change asked of {@link LogLevelService.set}. */
export interface SetLogLevelRequest {
  /** The new level. */
  level: LevelWithSilent;
  /** How long it lasts, seconds: an integer from 1 to `maxTtlSeconds`. */
  ttlSeconds: number;
  /** Only the log calls whose object has `context` equal to this name; absent: every logger. */
  logger?: string;
  /** Who asked, for the audit line (the principal's subject, `signal:SIGUSR2`). */
  actor?: string;
}

/** What {@link LogLevelService.set} did. */
export interface SetLogLevelResult {
  /** The level now in effect for the root, or for `logger`. */
  readonly level: LevelWithSilent;
  /** The level in effect just before this change. */
  readonly previousLevel: LevelWithSilent;
  /**
   * When the change ends (ISO 8601); `null` when the root was set to its `defaultLevel`, which
   * ends any temporary change at once.
   */
  readonly revertsAt: string | null;
  /** The logger name, for a per-name change. */
  readonly logger?: string;
}

/** A per-name level, as {@link LogLevelService.get} reports it. */
export interface LoggerLevelState {
  readonly level: LevelWithSilent;
  /** ISO 8601. */
  readonly revertsAt: string;
}

/** The levels in effect, as {@link LogLevelService.get} reports them. */
export interface LogLevelState {
  /** Level of the root and of the children that follow it. */
  readonly level: LevelWithSilent;
  /** The level the root returns to when no temporary change is active. */
  readonly defaultLevel: LevelWithSilent;
  /** When a temporary root level ends (ISO 8601); `null` when none is active. */
  readonly revertsAt: string | null;
  /** Per-name levels that are active. */
  readonly loggers: Readonly<Record<string, LoggerLevelState>>;
}

interface PendingRevert {
  readonly level: LevelWithSilent;
  readonly revertsAt: Date;
  readonly timer: NodeJS.Timeout;
}

/**
 * Changes log levels at run time for a bounded time: the root and every logger derived from
 * it, or only the log calls of one logger name (a Nest logger's `context`). Every change ends
 * by itself after `ttlSeconds`, and each one is logged on the root (`logLevelChange`: level,
 * previousLevel, revertsAt, logger, actor) at `warn`, reverts at `info`. The line is written
 * while the more verbose of the two levels is in effect, so it is lost only when both are
 * above the line's own level.
 *
 * A root change replaces any pending one and its timer; when it ends the root returns to
 * {@link LogLevelState.defaultLevel} (not to the level of an earlier temporary change, which
 * would otherwise become permanent). Setting the root to `defaultLevel` ends a temporary change
 * at once. Per-name levels have a timer each and follow the same rule when they end: the name
 * follows its logger again.
 *
 * Register it with a factory (its options are plain values) after the registry is attached;
 * `onModuleDestroy` clears the timers, restores the default levels and removes the signal
 * handler.
 *
 * @example
 * { provide: LogLevelService, useFactory: () => new LogLevelService(registry, { maxTtlSeconds: 3600 }) }
 * levels.set({ level: 'debug', ttlSeconds: 600, actor: principal.subject });
 * levels.set({ level: 'trace', ttlSeconds: 300, logger: 'ThumbnailsService' });
 */
export class LogLevelService implements OnModuleDestroy {
  /** See {@link LogLevelServiceOptions.defaultTtlSeconds}. */
  readonly defaultTtlSeconds: number;
  /** See {@link LogLevelServiceOptions.maxTtlSeconds}. */
  readonly maxTtlSeconds: number;
  private global: PendingRevert | undefined;
  private readonly contexts = new Map<string, PendingRevert>();
  private signal: { readonly name: NodeJS.Signals; readonly dispose: () => void } | undefined;
  private closed = false;

  constructor(
    private readonly registry: LoggerRegistry,
    options: LogLevelServiceOptions = {},
  ) {
    this.maxTtlSeconds = positiveInteger(
      options.maxTtlSeconds,
      'logging.maxTtlSeconds',
      86_400,
      LOG_LEVEL_TTL_CEILING_SECONDS,
    );
    this.defaultTtlSeconds = positiveInteger(
      options.defaultTtlSeconds,
      'logging.defaultTtlSeconds',
      Math.min(600, this.maxTtlSeconds),
      this.maxTtlSeconds,
    );
  }

  /**
   * The levels in effect.
   *
   * @throws SecureApiError `ERR_SECURE_API_INVALID_OPTIONS` before the registry is attached
   * @example levels.get() // { level: 'debug', defaultLevel: 'info', revertsAt: '2026-…Z', loggers: {} }
   */
  get(): LogLevelState {
    void this.registry.root; // throws before attach rather than report a level not in effect
    const loggers: Record<string, LoggerLevelState> = {};
    for (const [name, { level, revertsAt }] of this.contexts) {
      loggers[name] = { level, revertsAt: revertsAt.toISOString() };
    }
    return {
      level: this.registry.level,
      defaultLevel: this.registry.defaultLevel,
      revertsAt: this.global?.revertsAt.toISOString() ?? null,
      loggers,
    };
  }

  /**
   * Sets the level of the root and every logger that follows it, or of one logger name, for
   * `ttlSeconds`.
   *
   * @throws SecureApiHttpError `400 ERR_SECURE_API_VALIDATION_FAILED` for a level that is not
   * one of {@link SETTABLE_LOG_LEVELS}, a `ttlSeconds` that is not an integer from 1 to
   * `maxTtlSeconds`, a `logger` that does not match {@link LOG_CONTEXT_PATTERN}, or a new
   * logger name while {@link MAX_LOGGER_OVERRIDES} are active; `503 ERR_SECURE_API_HTTP_ERROR`
   * after {@link close}; `ERR_SECURE_API_INVALID_OPTIONS` before the registry is attached
   * @example levels.set({ level: 'debug', ttlSeconds: 600, actor: 'alice' })
   * // { level: 'debug', previousLevel: 'info', revertsAt: '2026-12-01T12:10:00.000Z' }
   */
  set(request: SetLogLevelRequest): SetLogLevelResult {
    if (this.closed) {
      throw new SecureApiHttpError(SecureApiErrorCode.HTTP_ERROR, {
        status: 503,
        title: 'Service Unavailable',
        detail: 'The service is shutting down; log levels can no longer be changed.',
      });
    }
    const { level, ttlSeconds, logger, actor } = this.checked(request);
    void this.registry.root; // throws before attach, before any timer is set
    return logger === undefined
      ? this.setRoot(level, ttlSeconds, actor)
      : this.setContext(logger, level, ttlSeconds, actor);
  }

  /**
   * Listens to `signal`: when no temporary root level is active, raises the root to `debug`
   * for `defaultTtlSeconds`; when one is, ends it (so a second signal undoes the first). A root
   * already at `debug` or below is left alone. Returns a function that removes the listener;
   * {@link close} removes it too. Calling it again with the same signal returns the same
   * disposer.
   *
   * Note that a listener replaces the signal's default action (`SIGUSR2` would otherwise end
   * the process), and that nodemon restarts with `SIGUSR2`.
   *
   * @throws SecureApiError `ERR_SECURE_API_INVALID_OPTIONS` when a handler for another signal
   * is installed, or after {@link close}
   * @example const stop = levels.installSignalHandler(); // kill -USR2 <pid>
   */
  installSignalHandler(signal: NodeJS.Signals = 'SIGUSR2'): () => void {
    if (this.closed) {
      throw new SecureApiError(
        SecureApiErrorCode.INVALID_OPTIONS,
        'LogLevelService: closed; no signal handler can be installed',
      );
    }
    if (this.signal !== undefined) {
      if (this.signal.name === signal) return this.signal.dispose;
      throw new SecureApiError(
        SecureApiErrorCode.INVALID_OPTIONS,
        `LogLevelService: already listening to ${this.signal.name}; one signal handler per service`,
      );
    }
    const listener = (): void => this.onSignal(signal);
    const dispose = (): void => {
      process.removeListener(signal, listener);
      if (this.signal?.dispose === dispose) this.signal = undefined;
    };
    process.on(signal, listener);
    this.signal = { name: signal, dispose };
    return dispose;
  }

  /**
   * Clears the timers, restores the default levels and removes the signal handler; later
   * {@link set} calls are refused.
   *
   * @example levels.close()
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.signal?.dispose();
    for (const name of [...this.contexts.keys()]) this.revertContext(name, 'shutdown');
    if (this.global !== undefined) this.revertRoot('shutdown');
  }

  /** Nest lifecycle hook: {@link close}. */
  onModuleDestroy(): void {
    this.close();
  }

  private checked(request: SetLogLevelRequest): Required<Omit<SetLogLevelRequest, 'logger'>> & {
    logger: string | undefined;
  } {
    const given = (typeof request === 'object' && request !== null ? request : {}) as Record<
      string,
      unknown
    >;
    const { level, ttlSeconds, logger, actor } = given;
    const errors: FieldError[] = [];
    if (typeof level !== 'string' || !Object.hasOwn(LEVEL_VALUES, level)) {
      errors.push(fieldError('/level', `must be one of ${SETTABLE_LOG_LEVELS.join(', ')}`));
    }
    if (
      typeof ttlSeconds !== 'number' ||
      !Number.isInteger(ttlSeconds) ||
      ttlSeconds < 1 ||
      ttlSeconds > this.maxTtlSeconds
    ) {
      errors.push(fieldError('/ttlSeconds', `must be an integer from 1 to ${this.maxTtlSeconds}`));
    }
    if (logger !== undefined && (typeof logger !== 'string' || !LOG_CONTEXT_PATTERN.test(logger))) {
      errors.push(
        fieldError(
          '/logger',
          'must be 1 to 128 letters, digits, dots, underscores, colons or hyphens',
        ),
      );
    } else if (
      logger !== undefined &&
      !this.contexts.has(logger) &&
      this.contexts.size >= MAX_LOGGER_OVERRIDES
    ) {
      errors.push(
        fieldError(
          '/logger',
          `at most ${MAX_LOGGER_OVERRIDES} logger names can have their own level`,
        ),
      );
    }
    if (errors.length > 0) {
      throw new SecureApiHttpError(SecureApiErrorCode.VALIDATION_FAILED, {
        status: 400,
        title: 'Validation failed',
        detail: `The log level was not changed: ${errors
          .map((error) => `"${error.pointer.slice(1)}" ${error.detail}`)
          .join('; ')}.`,
        errors,
      });
    }
    return {
      level: level as LevelWithSilent,
      ttlSeconds: ttlSeconds as number,
      logger: logger as string | undefined,
      actor: typeof actor === 'string' ? actor : 'unknown',
    };
  }

  private setRoot(level: LevelWithSilent, ttlSeconds: number, actor: string): SetLogLevelResult {
    const previousLevel = this.registry.level;
    if (this.global !== undefined) clearTimeout(this.global.timer);
    this.global = undefined;
    let revertsAt: Date | undefined;
    if (level !== this.registry.defaultLevel) {
      revertsAt = new Date(Date.now() + ttlSeconds * 1000);
      const timer = setTimeout(() => this.revertRoot('expired'), ttlSeconds * 1000);
      timer.unref();
      this.global = { level, revertsAt, timer };
    }
    const result = { level, previousLevel, revertsAt: revertsAt?.toISOString() ?? null };
    this.changeRoot(level, previousLevel, () =>
      this.registry.root.warn(
        { logLevelChange: { ...result, actor } },
        `Log level set to ${level}${revertsAt ? ` until ${result.revertsAt}` : ''} by ${actor}`,
      ),
    );
    return result;
  }

  private setContext(
    logger: string,
    level: LevelWithSilent,
    ttlSeconds: number,
    actor: string,
  ): SetLogLevelResult {
    const current = this.contexts.get(logger);
    const previousLevel = current?.level ?? this.registry.level;
    if (current !== undefined) clearTimeout(current.timer);
    const revertsAt = new Date(Date.now() + ttlSeconds * 1000);
    const timer = setTimeout(() => this.revertContext(logger, 'expired'), ttlSeconds * 1000);
    timer.unref();
    this.contexts.set(logger, { level, revertsAt, timer });
    this.registry.setContextLevel(logger, level);
    const result = { level, previousLevel, revertsAt: revertsAt.toISOString(), logger };
    this.registry.root.warn(
      { logLevelChange: { ...result, actor } },
      `Log level of ${logger} set to ${level} until ${result.revertsAt} by ${actor}`,
    );
    return result;
  }

  /** `actor` is who or what ended the change: `expired`, `shutdown`, `signal:SIGUSR2`. */
  private revertRoot(actor: string): void {
    const pending = this.global;
    if (pending === undefined) return;
    clearTimeout(pending.timer);
    this.global = undefined;
    const level = this.registry.defaultLevel;
    const previousLevel = this.registry.level;
    this.changeRoot(level, previousLevel, () =>
      this.registry.root.info(
        { logLevelChange: { level, previousLevel, revertsAt: null, actor } },
        `Log level back to ${level} (${actor})`,
      ),
    );
  }

  private revertContext(logger: string, reason: 'expired' | 'shutdown'): void {
    const pending = this.contexts.get(logger);
    if (pending === undefined) return;
    clearTimeout(pending.timer);
    this.contexts.delete(logger);
    this.registry.setContextLevel(logger, undefined);
    const level = this.registry.level;
    this.registry.root.info(
      {
        logLevelChange: {
          level,
          previousLevel: pending.level,
          revertsAt: null,
          logger,
          actor: reason,
        },
      },
      `Log level of ${logger} back to ${level} (${reason})`,
    );
  }

  /** Applies a root level and writes its audit line while the more verbose level is in effect. */
  private changeRoot(level: LevelWithSilent, previous: LevelWithSilent, audit: () => void): void {
    if (comparable(level) < comparable(previous)) {
      this.registry.setLevel(level);
      audit();
    } else {
      audit();
      this.registry.setLevel(level);
    }
  }

  private onSignal(signal: NodeJS.Signals): void {
    try {
      if (this.global !== undefined) this.revertRoot(`signal:${signal}`);
      else if (comparable(this.registry.level) > LEVEL_VALUES.debug) {
        this.set({ level: 'debug', ttlSeconds: this.defaultTtlSeconds, actor: `signal:${signal}` });
      }
    } catch (error) {
      // A throwing signal listener would crash the process.
      process.emitWarning(`LogLevelService: ${signal} not applied: ${String(error)}`);
    }
  }
}

function fieldError(pointer: string, detail: string): FieldError {
  return { in: 'body', pointer, detail };
}
