import type { LoggerService } from '@nestjs/common';

/** One call made to a {@link LogCapture}. */
export interface CapturedLog {
  /** The LoggerService method Nest called. */
  readonly level: 'log' | 'error' | 'warn' | 'debug' | 'verbose' | 'fatal';
  /**
   * The message. An object message with a string `msg` member (the structured form nestjs-pino
   * writes as the fields of one line) gives its `msg` here and the other members in `fields`;
   * any other non-string message (object, Error) is given in its JSON form.
   */
  readonly message: string;
  /** The members of an object message besides `msg`, as passed. */
  readonly fields?: Readonly<Record<string, unknown>>;
  /** The context Nest passed as the last string argument, if any. */
  readonly context?: string;
  /** The other arguments, as passed (for `error`, usually the stack). */
  readonly params: readonly unknown[];
}

/** A Nest `LoggerService` that keeps every call in memory. */
export interface LogCapture extends LoggerService {
  /** Every call so far, oldest first. */
  readonly entries: readonly CapturedLog[];
  /**
   * Every entry JSON-serialised (level, message, context and params; errors with name,
   * message, stack and cause), one per line: for "nothing leaked" assertions.
   *
   * @example
   * expect(logs.text()).not.toContain(token);
   */
  text(): string;
  /** Entries whose message matches (a string matches as a substring). */
  find(pattern: string | RegExp): CapturedLog[];
  /** Forgets every entry. */
  clear(): void;
}

type Level = CapturedLog['level'];

interface Captured {
  readonly entry: CapturedLog;
  readonly rawMessage: unknown;
}

// ConsoleLogger's own test (isStackFormat) for telling a stack from a context.
const STACK_FORMAT = /^(.)+\n\s+at .+:\d+:\d+/;

/**
 * Creates a {@link LogCapture}, to pass as `logger` to `bootApp()` or `NestFactory.create()`.
 *
 * @example
 * const logs = createLogCapture();
 * const booted = await bootApp(AppModule, { adapter: 'express', logger: logs });
 * expect(logs.find(/rejected/)[0]?.context).toBe('SecureApiGuard');
 */
export function createLogCapture(): LogCapture {
  return new LogCaptureService();
}

function isStructured(value: unknown): value is { msg: string } & Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !(value instanceof Error) &&
    typeof (value as { msg?: unknown }).msg === 'string'
  );
}

class LogCaptureService implements LogCapture {
  readonly #captured: Captured[] = [];

  get entries(): readonly CapturedLog[] {
    return Object.freeze(this.#captured.map(({ entry }) => entry));
  }

  log(message: unknown, ...optionalParams: unknown[]): void {
    this.#record('log', message, optionalParams);
  }

  error(message: unknown, ...optionalParams: unknown[]): void {
    this.#record('error', message, optionalParams);
  }

  warn(message: unknown, ...optionalParams: unknown[]): void {
    this.#record('warn', message, optionalParams);
  }

  debug(message: unknown, ...optionalParams: unknown[]): void {
    this.#record('debug', message, optionalParams);
  }

  verbose(message: unknown, ...optionalParams: unknown[]): void {
    this.#record('verbose', message, optionalParams);
  }

  fatal(message: unknown, ...optionalParams: unknown[]): void {
    this.#record('fatal', message, optionalParams);
  }

  text(): string {
    return this.#captured
      .map(({ entry, rawMessage }) =>
        JSON.stringify({
          level: entry.level,
          message: toSerialisable(rawMessage, []),
          context: entry.context,
          params: toSerialisable(entry.params, []),
        }),
      )
      .join('\n');
  }

  find(pattern: string | RegExp): CapturedLog[] {
    return this.#captured
      .map(({ entry }) => entry)
      .filter(({ message }) =>
        typeof pattern === 'string' ? message.includes(pattern) : message.search(pattern) !== -1,
      );
  }

  clear(): void {
    this.#captured.length = 0;
  }

  #record(level: Level, rawMessage: unknown, optionalParams: unknown[]): void {
    const params = [...optionalParams];
    const last = params.at(-1);
    let context: string | undefined;
    if (typeof last === 'string' && !(level === 'error' && STACK_FORMAT.test(last))) {
      context = last;
      params.pop();
    }
    let message: string;
    let fields: Record<string, unknown> | undefined;
    if (typeof rawMessage === 'string') {
      message = rawMessage;
    } else if (isStructured(rawMessage)) {
      const { msg, ...rest } = rawMessage;
      message = msg;
      fields = rest;
    } else {
      message = JSON.stringify(toSerialisable(rawMessage, []));
    }
    const entry: CapturedLog = Object.freeze({
      level,
      message,
      ...(fields === undefined ? {} : { fields: Object.freeze(fields) }),
      ...(context === undefined ? {} : { context }),
      params: Object.freeze(params),
    });
    this.#captured.push({ entry, rawMessage });
  }
}

/** Turns a logged value into plain JSON data, keeping what JSON.stringify would drop or throw on. */
function toSerialisable(value: unknown, ancestors: readonly object[]): unknown {
  if (typeof value === 'bigint') {
    return `${value}n`;
  }
  if (typeof value === 'symbol' || typeof value === 'function') {
    return String(value);
  }
  if (value === undefined) {
    return null;
  }
  if (typeof value !== 'object' || value === null) {
    return value;
  }
  if (ancestors.includes(value)) {
    return '[Circular]';
  }
  const inner = [...ancestors, value];
  if (Array.isArray(value)) {
    return value.map((item: unknown) => toSerialisable(item, inner));
  }
  if (!(value instanceof Error) && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return toSerialisable((value as { toJSON: () => unknown }).toJSON(), inner);
  }
  const plain: Record<string, unknown> = {};
  if (value instanceof Error) {
    plain['name'] = value.name;
    plain['message'] = value.message;
    plain['stack'] = value.stack;
    if (value.cause !== undefined) {
      plain['cause'] = toSerialisable(value.cause, inner);
    }
  }
  for (const [name, item] of Object.entries(value)) {
    plain[name] = toSerialisable(item, inner);
  }
  return plain;
}
