import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { PinoLogger } from 'nestjs-pino';
import { pino, type Logger, type LoggerOptions } from 'pino';
import { Reflector } from '@nestjs/core';
import { type Principal } from '../auth/principal.js';
import { ScopesMetadata } from '../auth/scopes.decorator.js';
import { SecureApiError } from '../errors/secure-api.error.js';
import { SecureApiHttpError } from '../errors/secure-api-http.error.js';
import { type ResolvedSecureApiOptions } from '../secure-api.options.js';
import { SecureValidationPipe } from '../validation/secure-validation.pipe.js';
import { LogLevelController } from './log-level.controller.js';
import { SetLogLevelDto } from './log-level.dto.js';
import {
  LoggerRegistry,
  LogLevelService,
  type LogLevelServiceOptions,
  MAX_LOGGER_OVERRIDES,
  type SetLogLevelRequest,
} from './log-level.service.js';

interface Line {
  level: number;
  msg?: string;
  context?: string;
  logLevelChange?: Record<string, unknown>;
}

const T0 = '2026-12-01T12:00:00.000Z';
const DEBUG = 20;

function setup(serviceOptions?: LogLevelServiceOptions, extra: LoggerOptions = {}) {
  const lines: Line[] = [];
  const stream = { write: (line: string) => void lines.push(JSON.parse(line) as Line) };
  const registry = new LoggerRegistry();
  const root = pino(
    { level: 'info', base: undefined, timestamp: false, ...extra, ...registry.pinoOptions(extra) },
    stream,
  );
  registry.attach(root);
  const service = new LogLevelService(registry, serviceOptions);
  /** Messages written since the last call. */
  const take = (level?: number): string[] => {
    const taken = lines.splice(0);
    return taken.filter((l) => level === undefined || l.level === level).map((l) => l.msg ?? '');
  };
  return { lines, root, registry, service, take };
}

// Real V8 collection: the flag can still be set at run time, and the sweep test fails when it
// cannot rather than pass without collecting anything.
const gc: (() => void) | undefined = (() => {
  try {
    setFlagsFromString('--expose-gc');
    const fn: unknown = runInNewContext('gc');
    return typeof fn === 'function' ? (fn as () => void) : undefined;
  } catch {
    return undefined;
  }
})();

describe('LogLevelService', () => {
  let close: (() => void) | undefined;

  beforeEach(() => {
    jest.useFakeTimers({ now: new Date(T0) });
  });

  afterEach(() => {
    close?.();
    close = undefined;
    jest.useRealTimers();
  });

  function started(serviceOptions?: LogLevelServiceOptions, extra?: LoggerOptions) {
    const ctx = setup(serviceOptions, extra);
    close = () => ctx.service.close();
    return ctx;
  }

  it('raises the root, children made before and after, and grandchildren, then reverts', () => {
    const { root, service, take, lines } = started();
    const child = root.child({ module: 'long-lived' });
    const grandchild = child.child({ part: 'inner' });
    const writeAll = (children: Logger[]) => {
      root.debug('root');
      children.forEach((logger, i) => logger.debug(`child ${i}`));
    };

    writeAll([child, grandchild]);
    expect(take(DEBUG)).toEqual([]);

    const result = service.set({ level: 'debug', ttlSeconds: 600, actor: 'alice' });
    expect(result).toEqual({
      level: 'debug',
      previousLevel: 'info',
      revertsAt: '2026-12-01T12:10:00.000Z',
    });
    expect(lines[0]).toMatchObject({
      level: 40,
      logLevelChange: {
        level: 'debug',
        previousLevel: 'info',
        revertsAt: '2026-12-01T12:10:00.000Z',
        actor: 'alice',
      },
    });
    const after = root.child({ module: 'made-after' });
    writeAll([child, grandchild, after]);
    expect(take(DEBUG)).toEqual(['root', 'child 0', 'child 1', 'child 2']);
    expect(service.get()).toEqual({
      level: 'debug',
      defaultLevel: 'info',
      revertsAt: '2026-12-01T12:10:00.000Z',
      loggers: {},
    });

    jest.advanceTimersByTime(599_999);
    root.debug('still');
    expect(take(DEBUG)).toEqual(['still']);

    jest.advanceTimersByTime(1);
    expect(lines[0]).toMatchObject({
      level: 30,
      logLevelChange: { level: 'info', previousLevel: 'debug', revertsAt: null, actor: 'expired' },
    });
    writeAll([child, grandchild, after]);
    expect(take(DEBUG)).toEqual([]);
    expect([root.level, child.level, grandchild.level, after.level]).toEqual([
      'info',
      'info',
      'info',
      'info',
    ]);
    expect(service.get()).toEqual({
      level: 'info',
      defaultLevel: 'info',
      revertsAt: null,
      loggers: {},
    });
    expect(jest.getTimerCount()).toBe(0);
  });

  it('replaces the pending revert on a second change, and reverts to the default level', () => {
    const { root, service } = started();
    service.set({ level: 'debug', ttlSeconds: 600 });
    jest.advanceTimersByTime(300_000);

    expect(service.set({ level: 'trace', ttlSeconds: 600 })).toEqual({
      level: 'trace',
      previousLevel: 'debug',
      revertsAt: '2026-12-01T12:15:00.000Z',
    });
    expect(jest.getTimerCount()).toBe(1);

    jest.advanceTimersByTime(300_000); // when the first change would have ended
    expect(root.level).toBe('trace');
    jest.advanceTimersByTime(300_000);
    expect(root.level).toBe('info');
  });

  it('ends a temporary change at once when set to the default level', () => {
    const { root, service } = started();
    service.set({ level: 'debug', ttlSeconds: 600 });
    expect(service.set({ level: 'info', ttlSeconds: 1 })).toEqual({
      level: 'info',
      previousLevel: 'debug',
      revertsAt: null,
    });
    expect(root.level).toBe('info');
    expect(jest.getTimerCount()).toBe(0);
  });

  it('can lower the root, and writes the audit line before doing so', () => {
    const { root, service, lines } = started();
    service.set({ level: 'error', ttlSeconds: 60, actor: 'bob' });
    expect(lines.map((l) => l.logLevelChange?.level)).toEqual(['error']);
    root.warn('hidden');
    expect(lines).toHaveLength(1);
  });

  it('gives one logger name its own level, each with its own revert', () => {
    const { root, service, take } = started();
    const child = root.child({ module: 'long-lived' });
    const writeAll = () => {
      root.debug({ context: 'A' }, 'A debug');
      child.debug({ context: 'A' }, 'A debug from child');
      root.debug({ context: 'C' }, 'C debug');
      root.debug('no context debug');
      root.info({ context: 'B' }, 'B info');
      root.warn({ context: 'B' }, 'B warn');
      root.info({ context: 'C' }, 'C info');
    };

    expect(service.set({ level: 'debug', ttlSeconds: 60, logger: 'A' })).toEqual({
      level: 'debug',
      previousLevel: 'info',
      revertsAt: '2026-12-01T12:01:00.000Z',
      logger: 'A',
    });
    expect(service.set({ level: 'warn', ttlSeconds: 120, logger: 'B' })).toEqual({
      level: 'warn',
      previousLevel: 'info',
      revertsAt: '2026-12-01T12:02:00.000Z',
      logger: 'B',
    });
    take();
    writeAll();
    expect(take()).toEqual(['A debug', 'A debug from child', 'B warn', 'C info']);
    expect(service.get()).toEqual({
      level: 'info',
      defaultLevel: 'info',
      revertsAt: null,
      loggers: {
        A: { level: 'debug', revertsAt: '2026-12-01T12:01:00.000Z' },
        B: { level: 'warn', revertsAt: '2026-12-01T12:02:00.000Z' },
      },
    });

    jest.advanceTimersByTime(60_000);
    take();
    writeAll();
    expect(take()).toEqual(['B warn', 'C info']);
    expect(root.level).toBe('info');

    jest.advanceTimersByTime(60_000);
    take();
    writeAll();
    expect(take()).toEqual(['B info', 'B warn', 'C info']);
    expect(service.get().loggers).toEqual({});
    expect(jest.getTimerCount()).toBe(0);
  });

  it('filters the context that nestjs-pino writes, through pino-http children', () => {
    const lines: Line[] = [];
    const registry = new LoggerRegistry();
    const stream = { write: (line: string) => void lines.push(JSON.parse(line) as Line) };
    const nest = new PinoLogger({
      pinoHttp: [{ level: 'info', base: undefined, ...registry.pinoOptions() }, stream],
    });
    registry.attach(PinoLogger.root);
    const service = new LogLevelService(registry);
    close = () => service.close();
    nest.setContext('ThumbnailsService');
    const other = new PinoLogger({ pinoHttp: {} });
    other.setContext('UploadsService');

    service.set({ level: 'debug', ttlSeconds: 60, logger: 'ThumbnailsService' });
    lines.splice(0);
    nest.debug('thumbnail debug');
    other.debug('upload debug');
    PinoLogger.root.child({ req: 1 }).debug({ context: 'ThumbnailsService' }, 'request debug');
    expect(lines.map((l) => [l.context, l.msg])).toEqual([
      ['ThumbnailsService', 'thumbnail debug'],
      ['ThumbnailsService', 'request debug'],
    ]);
  });

  it('keeps the level of a child given one at creation, and of its children', () => {
    const { root, service } = started();
    const quiet = root.child({ lib: 'noisy' }, { level: 'warn' });
    const quietChild = quiet.child({ part: 1 });
    const chatty = root.child({ lib: 'watched' }, { level: 'debug' });
    service.set({ level: 'trace', ttlSeconds: 60 });
    expect([root.level, quiet.level, quietChild.level, chatty.level]).toEqual([
      'trace',
      'warn',
      'warn',
      'debug',
    ]);
    jest.advanceTimersByTime(60_000);
    expect([root.level, quiet.level, quietChild.level, chatty.level]).toEqual([
      'info',
      'warn',
      'warn',
      'debug',
    ]);
  });

  it.each<[string, Record<string, unknown>, string, string]>([
    [
      'an unknown level',
      { level: 'verbose', ttlSeconds: 60 },
      '/level',
      'must be one of trace, debug, info, warn, error, fatal, silent',
    ],
    [
      'a missing level',
      { ttlSeconds: 60 },
      '/level',
      'must be one of trace, debug, info, warn, error, fatal, silent',
    ],
    [
      'ttlSeconds 0',
      { level: 'debug', ttlSeconds: 0 },
      '/ttlSeconds',
      'must be an integer from 1 to 86400',
    ],
    [
      'a negative ttlSeconds',
      { level: 'debug', ttlSeconds: -5 },
      '/ttlSeconds',
      'must be an integer from 1 to 86400',
    ],
    [
      'a fractional ttlSeconds',
      { level: 'debug', ttlSeconds: 1.5 },
      '/ttlSeconds',
      'must be an integer from 1 to 86400',
    ],
    [
      'ttlSeconds over the maximum',
      { level: 'debug', ttlSeconds: 86_401 },
      '/ttlSeconds',
      'must be an integer from 1 to 86400',
    ],
    [
      'ttlSeconds as a string',
      { level: 'debug', ttlSeconds: '600' },
      '/ttlSeconds',
      'must be an integer from 1 to 86400',
    ],
    [
      'ttlSeconds NaN',
      { level: 'debug', ttlSeconds: Number.NaN },
      '/ttlSeconds',
      'must be an integer from 1 to 86400',
    ],
    [
      'a missing ttlSeconds',
      { level: 'debug' },
      '/ttlSeconds',
      'must be an integer from 1 to 86400',
    ],
    [
      'a logger name with a space',
      { level: 'debug', ttlSeconds: 60, logger: 'a b' },
      '/logger',
      'must be 1 to 128 letters, digits, dots, underscores, colons or hyphens',
    ],
    [
      'a null logger name',
      { level: 'debug', ttlSeconds: 60, logger: null },
      '/logger',
      'must be 1 to 128 letters, digits, dots, underscores, colons or hyphens',
    ],
  ])('refuses %s and changes nothing', (_case, request, pointer, detail) => {
    const { root, service, lines } = started();
    let caught: unknown;
    try {
      service.set(request as unknown as SetLogLevelRequest);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(SecureApiHttpError);
    const error = caught as SecureApiHttpError;
    expect(error.code).toBe('ERR_SECURE_API_VALIDATION_FAILED');
    expect(error.status).toBe(400);
    expect(error.errors).toEqual([{ in: 'body', pointer, detail }]);
    expect(error.message).toBe(`The log level was not changed: "${pointer.slice(1)}" ${detail}.`);
    expect(root.level).toBe('info');
    expect(lines).toEqual([]);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('applies the configured maxTtlSeconds and refuses options it cannot honour', () => {
    const { service } = started({ maxTtlSeconds: 3600 });
    expect(() => service.set({ level: 'debug', ttlSeconds: 3601 })).toThrow(
      'The log level was not changed: "ttlSeconds" must be an integer from 1 to 3600.',
    );
    expect(service.set({ level: 'debug', ttlSeconds: 3600 }).revertsAt).toBe(
      '2026-12-01T13:00:00.000Z',
    );
    const registry = new LoggerRegistry();
    expect(() => new LogLevelService(registry, { maxTtlSeconds: 604_801 })).toThrow(
      'SecureApiModule: "logging.maxTtlSeconds" must be at most 604800.',
    );
    expect(new LogLevelService(registry, { maxTtlSeconds: 60 }).defaultTtlSeconds).toBe(60);
    expect(
      () => new LogLevelService(registry, { maxTtlSeconds: 60, defaultTtlSeconds: 61 }),
    ).toThrow('SecureApiModule: "logging.defaultTtlSeconds" must be at most 60.');
  });

  it(`refuses a logger name beyond ${MAX_LOGGER_OVERRIDES} active ones, but not a repeated one`, () => {
    const { service } = started();
    for (let i = 0; i < 100; i += 1)
      service.set({ level: 'debug', ttlSeconds: 60, logger: `L${i}` });
    expect(() => service.set({ level: 'debug', ttlSeconds: 60, logger: 'L100' })).toThrow(
      'The log level was not changed: "logger" at most 100 logger names can have their own level.',
    );
    expect(service.set({ level: 'trace', ttlSeconds: 60, logger: 'L7' }).previousLevel).toBe(
      'debug',
    );
  });

  it('raises to debug for the default TTL on SIGUSR2, toggles back, and removes its listener', () => {
    const { root, service, lines } = started({ defaultTtlSeconds: 120 });
    const before = process.listenerCount('SIGUSR2');
    const dispose = service.installSignalHandler();
    expect(service.installSignalHandler('SIGUSR2')).toBe(dispose);
    expect(process.listenerCount('SIGUSR2')).toBe(before + 1);
    expect(() => service.installSignalHandler('SIGHUP')).toThrow(SecureApiError);

    process.emit('SIGUSR2');
    expect(root.level).toBe('debug');
    expect(service.get().revertsAt).toBe('2026-12-01T12:02:00.000Z');
    expect(lines[0]?.logLevelChange).toEqual({
      level: 'debug',
      previousLevel: 'info',
      revertsAt: '2026-12-01T12:02:00.000Z',
      actor: 'signal:SIGUSR2',
    });

    process.emit('SIGUSR2');
    expect(root.level).toBe('info');
    expect(service.get().revertsAt).toBeNull();
    expect(lines[1]?.logLevelChange).toMatchObject({ level: 'info', actor: 'signal:SIGUSR2' });

    dispose();
    expect(process.listenerCount('SIGUSR2')).toBe(before);
  });

  it('leaves a root already at debug alone on the signal', () => {
    const { root, service, lines } = started(undefined, { level: 'trace' });
    service.installSignalHandler();
    process.emit('SIGUSR2');
    expect(root.level).toBe('trace');
    expect(lines).toEqual([]);
  });

  it('clears timers, restores levels and removes the listener on close', () => {
    const { root, service } = started();
    const before = process.listenerCount('SIGUSR2');
    service.installSignalHandler();
    service.set({ level: 'debug', ttlSeconds: 600 });
    service.set({ level: 'trace', ttlSeconds: 600, logger: 'A' });
    expect(jest.getTimerCount()).toBe(2);

    service.onModuleDestroy();
    expect(jest.getTimerCount()).toBe(0);
    expect(process.listenerCount('SIGUSR2')).toBe(before);
    expect(root.level).toBe('info');
    expect(service.get()).toEqual({
      level: 'info',
      defaultLevel: 'info',
      revertsAt: null,
      loggers: {},
    });
    expect(() => service.set({ level: 'debug', ttlSeconds: 60 })).toThrow(
      expect.objectContaining({ status: 503, code: 'ERR_SECURE_API_HTTP_ERROR' }) as Error,
    );
    expect(() => service.installSignalHandler()).toThrow(SecureApiError);
  });
});

describe('LoggerRegistry', () => {
  it('does not track request-bound loggers, which follow the root through their prototype', () => {
    const registry = new LoggerRegistry();
    const written: string[] = [];
    const root = pino(
      { ...registry.pinoOptions() },
      { write: (line: string) => written.push(line) },
    );
    registry.attach(root);
    const before = registry.size;
    const request = root.child({ requestId: 'r-1' });
    request.child({ principal: { sub: 'a' } });
    expect(registry.size).toBe(before);
    registry.setLevel('debug');
    const next = root.child({ requestId: 'r-2' });
    next.debug('made after the change');
    // pino sets no level of its own on a child made at its parent's level: it reads the
    // parent's methods through its prototype, so an untracked one follows as well.
    request.debug('made before the change');
    expect(written.map((line) => (JSON.parse(line) as { msg: string }).msg)).toEqual([
      'made after the change',
      'made before the change',
    ]);
    registry.setLevel('info');

    const tracking = new LoggerRegistry({ requestKey: false });
    const other = pino({ ...tracking.pinoOptions() }, { write: () => undefined });
    tracking.attach(other);
    const size = tracking.size;
    other.child({ requestId: 'r-3' });
    expect(tracking.size).toBe(size + 1);
    expect(() => new LoggerRegistry({ requestKey: '' })).toThrow('"requestKey" must be');
  });

  it('refuses a root created without its pino options', () => {
    const registry = new LoggerRegistry();
    const halfway = pino({ onChild: registry.pinoOptions().onChild });
    expect(() => registry.attach(pino())).toThrow(
      'SecureApiModule: "logging" has a root logger created without the LoggerRegistry\'s pino options.',
    );
    expect(() => registry.attach(halfway)).toThrow(SecureApiError);
    expect(() => registry.attach(undefined as unknown as Logger)).toThrow(
      'SecureApiModule: "logging" has no root logger to attach. Potential solution: do not set useExisting.',
    );
    expect(() => registry.root).toThrow('no root logger attached');
  });

  it('refuses changes before the root is attached, without leaving a timer', () => {
    jest.useFakeTimers();
    try {
      const service = new LogLevelService(new LoggerRegistry());
      expect(() => service.set({ level: 'debug', ttlSeconds: 60 })).toThrow(
        'LoggerRegistry: no root logger attached; call registry.attach(root) after creating it',
      );
      expect(() => service.set({ level: 'debug', ttlSeconds: 60, logger: 'A' })).toThrow(
        SecureApiError,
      );
      expect(() => service.get()).toThrow(SecureApiError);
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });

  it('chains the hooks and onChild the application already has, its own filter first', () => {
    const seen: string[] = [];
    const children: unknown[] = [];
    const lines: Line[] = [];
    const registry = new LoggerRegistry();
    const root = pino(
      {
        base: undefined,
        ...registry.pinoOptions({
          onChild: (child) => children.push(child),
          hooks: {
            logMethod(args, method) {
              seen.push(String(args[1]));
              method.apply(this, [{ ...(args[0] as object), tagged: true }, args[1]]);
            },
          },
        }),
      },
      { write: (line: string) => void lines.push(JSON.parse(line) as Line) },
    );
    registry.attach(root);
    registry.setContextLevel('A', 'debug');
    const child = root.child({ c: 1 });
    child.debug({ context: 'A' }, 'kept');
    child.debug({ context: 'B' }, 'dropped');
    expect(seen).toEqual(['kept']);
    expect(lines).toMatchObject([{ msg: 'kept', tagged: true }]);
    expect(children).toEqual([child]);
  });

  it('drops the references of collected children when the set doubles', async () => {
    expect(typeof gc).toBe('function');
    const registry = new LoggerRegistry();
    const root = pino({ ...registry.pinoOptions() }, { write: () => undefined });
    registry.attach(root);
    const kept = root.child({ kept: true });
    (() => {
      for (let i = 0; i < 99; i += 1) root.child({ i });
    })();
    // Swept once at 64 (all alive), next sweep at 128.
    expect(registry.size).toBe(100);

    // WeakRef targets stay alive until the job that created them ends.
    await new Promise((resolve) => setImmediate(resolve));
    gc?.();
    for (let i = 0; i < 27; i += 1) root.child({ j: i });
    expect(registry.size).toBe(127);
    root.child({ j: 27 }); // the 128th: sweep, 99 collected
    expect(registry.size).toBe(29);
    expect(kept.bindings()).toEqual({ kept: true });
  });
});

describe('LogLevelController and SetLogLevelDto', () => {
  const pipe = new SecureValidationPipe({ validation: true } as ResolvedSecureApiOptions);
  const body = (value: unknown) =>
    pipe.transform(value, { type: 'body', metatype: SetLogLevelDto, data: undefined });
  const problems = async (value: unknown) => {
    try {
      await body(value);
    } catch (error) {
      return (error as SecureApiHttpError).errors?.map((e) => `${e.pointer} ${e.detail}`);
    }
    return [];
  };

  it('accepts a valid body and refuses every invalid member', async () => {
    await expect(
      body({ level: 'debug', ttlSeconds: 600, logger: 'Thumbs.v2:x-y_z' }),
    ).resolves.toEqual(
      Object.assign(new SetLogLevelDto(), {
        level: 'debug',
        ttlSeconds: 600,
        logger: 'Thumbs.v2:x-y_z',
      }),
    );
    expect(await problems({ level: 'verbose', ttlSeconds: 600 })).toEqual([
      '/level must be one of the following values: trace, debug, info, warn, error, fatal, silent',
    ]);
    expect(await problems({ level: 'debug', ttlSeconds: '600' })).toEqual([
      '/ttlSeconds must not be greater than 604800',
      '/ttlSeconds must not be less than 1',
      '/ttlSeconds must be an integer number',
    ]);
    expect(await problems({ level: 'debug', ttlSeconds: 0 })).toEqual([
      '/ttlSeconds must not be less than 1',
    ]);
    expect(await problems({ level: 'debug', ttlSeconds: 604_801 })).toEqual([
      '/ttlSeconds must not be greater than 604800',
    ]);
    expect(await problems({ level: 'debug', ttlSeconds: 60, logger: null })).toEqual([
      '/logger must match /^[A-Za-z0-9._:-]{1,128}$/ regular expression',
      '/logger must be a string',
    ]);
    expect(await problems({ level: 'debug', ttlSeconds: 60, logger: 'x'.repeat(129) })).toEqual([
      '/logger must match /^[A-Za-z0-9._:-]{1,128}$/ regular expression',
    ]);
    expect(await problems({ level: 'debug', ttlSeconds: 60, isAdmin: true })).toEqual([
      '/isAdmin is not allowed',
    ]);
  });

  it('requires logging.admin and logs the subject of the caller as the actor', () => {
    jest.useFakeTimers({ now: new Date(T0) });
    const { service, lines } = setup();
    try {
      expect(new Reflector().get(ScopesMetadata, LogLevelController)).toEqual(['logging.admin']);
      expect(Reflect.getMetadata('path', LogLevelController)).toBe('admin/log-level');
      const controller = new LogLevelController(service);
      const dto = Object.assign(new SetLogLevelDto(), { level: 'debug', ttlSeconds: 60 });
      expect(controller.set(dto, { subject: 'alice' } as Principal)).toEqual({
        level: 'debug',
        previousLevel: 'info',
        revertsAt: '2026-12-01T12:01:00.000Z',
      });
      expect(lines[0]?.logLevelChange).toMatchObject({ actor: 'alice' });
      expect(controller.get().level).toBe('debug');
    } finally {
      service.close();
      jest.useRealTimers();
    }
  });
});
