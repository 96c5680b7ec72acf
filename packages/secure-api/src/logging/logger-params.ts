import { type IncomingMessage, type ServerResponse } from 'node:http';
import { type Params } from 'nestjs-pino';
import {
  type DestinationStream,
  type Logger,
  destination as pinoDestination,
  type LoggerOptions,
  stdTimeFunctions,
} from 'pino';
import { type Options as PinoHttpOptions } from 'pino-http';
import { OptionsError } from '../option-checks.js';
import { LoggerRegistry } from './log-level.service.js';
import {
  type ResolvedLoggingOptions,
  resolveLoggingOptions,
  type LoggingOptions,
} from './logging-options.js';
import { Masker, maskingPinoOptions } from './masker.js';
import {
  actionOf,
  clientAddressOf,
  isPrincipalBound,
  type LoggedPrincipal,
  principalOf,
} from './request-context.js';

/** Longest request path and user agent written into a request log line. */
const MAX_PATH_LENGTH = 1024;
const MAX_USER_AGENT_LENGTH = 256;

/** Counts of what the log destination could not take; one set per process (see below). */
export interface LoggingStats {
  /** Lines dropped because the destination's buffer was full (a slow or blocked reader). */
  readonly droppedLines: number;
  /** Write errors of the destination (the lines concerned are lost). */
  readonly destinationErrors: number;
}

/**
 * What the process's root logger was built with. nestjs-pino keeps one root logger per
 * process, built from the first `LoggerModule` params it sees; every
 * later app in the same process logs through that root. So the masker, the registry the
 * runtime level acts on and the destination's counters are per process too.
 */
interface LoggingRuntime {
  readonly params: Params;
  readonly masker: Masker;
  readonly registry: LoggerRegistry;
  readonly requestLog: RequestLog;
}

/**
 * How the module's request-id middleware logs each request (see `RequestIdMiddleware`): with
 * the process's params, whether a completion line is written (`logging.requestLog`), and the
 * line itself.
 */
export interface RequestLog {
  /** Key of the request id binding of each request's logger. */
  readonly requestIdKey: string;
  /** Whether the completion line is written. */
  readonly completionLine: boolean;
  /**
   * Writes `logger`'s completion line once `response` is done (finished, closed or failed):
   * `info` below 400, `warn` for 4xx, `error` for 5xx or an error, with the fields of
   * {@link completionFields}.
   */
  watch(request: IncomingMessage, response: ServerResponse, logger: Logger): void;
  /**
   * Adds the principal, masked, to the bindings of `logger` (the request's own, made by the
   * middleware) in place: what nestjs-pino's `assign()` does with a second child logger.
   */
  bindPrincipal(logger: Logger, principal: LoggedPrincipal): void;
}

let runtime: LoggingRuntime | undefined;
const counters = { droppedLines: 0, destinationErrors: 0 };

/** How requests are logged, once a logger was configured by the module (see {@link RequestLog}). */
export function requestLogOf(): RequestLog | undefined {
  return runtime?.requestLog;
}

/** The registry of the process's loggers, once a logger was configured by the module. */
export function loggerRegistry(): LoggerRegistry | undefined {
  return runtime?.registry;
}

/** What the log destinations of {@link createLogDestination} lost so far in this process. */
export function loggingStats(): LoggingStats {
  return { ...counters };
}

function masker(options: ResolvedLoggingOptions): Masker {
  try {
    return new Masker(options.masking);
  } catch (error) {
    throw new OptionsError(
      'logging.masking',
      error instanceof Error ? `is not valid: ${error.message}` : 'is not valid',
      undefined,
      error,
    );
  }
}

/** Options of {@link createLogDestination}. */
export interface LogDestinationOptions {
  /**
   * Most bytes buffered before lines are dropped (and counted in {@link loggingStats}).
   * @default 4_194_304 (4 MiB)
   */
  bufferBytes?: number;
  /**
   * Bytes gathered before a write: fewer system calls under load.
   * @default 8192
   */
  batchBytes?: number;
  /**
   * Longest time a line waits in the batch, milliseconds.
   * @default 250
   */
  flushMs?: number;
}

/**
 * The destination the module writes to when `logging.destination` is a file descriptor: an
 * asynchronous sonic-boom that gathers up to `batchBytes` per write (and writes at least every
 * `flushMs`) and holds at most `bufferBytes`. A reader that falls behind costs lines, counted in
 * {@link loggingStats}, never a blocked event loop or unbounded memory; a write error is counted,
 * never thrown. Pending lines are written when the process exits normally (pino's exit hook).
 *
 * @example
 * logging: { destination: createLogDestination(openSync('/var/log/thumbs.log', 'a')) }
 */
export function createLogDestination(
  fd: number,
  {
    bufferBytes = 4 * 1024 * 1024,
    batchBytes = 16 * 1024,
    flushMs = 250,
  }: LogDestinationOptions = {},
): DestinationStream {
  const stream = pinoDestination({
    dest: fd,
    sync: false,
    minLength: batchBytes,
    // sonic-boom refuses a batch that is not smaller than the most it writes at once.
    maxWrite: Math.max(16 * 1024, batchBytes * 2),
    periodicFlush: flushMs,
    maxLength: bufferBytes,
  });
  stream.on('drop', () => {
    counters.droppedLines++;
  });
  // pino's own listener stops writing on EPIPE and re-emits any other error, which would
  // otherwise be an unhandled 'error' event: the process must outlive its log destination.
  stream.on('error', () => {
    counters.destinationErrors++;
  });
  return stream;
}

function destinationOf(options: ResolvedLoggingOptions): DestinationStream {
  return typeof options.destination === 'number'
    ? createLogDestination(options.destination, { bufferBytes: options.bufferBytes })
    : options.destination;
}

/** A serializer that leaves its key out of the line. */
const omitted = (): undefined => undefined;

type Request = IncomingMessage;
type Response = ServerResponse;

/**
 * The URL the client asked for. Middleware mounted on a path sees `req.url` relative to it
 * (Express, and @fastify/middie on Fastify, keep the original in `originalUrl`), and a request
 * a middleware answered keeps it that way.
 */
function requestPath(request: Request & { originalUrl?: unknown }): string {
  return typeof request.originalUrl === 'string' ? request.originalUrl : (request.url ?? '');
}

/**
 * The fields of a request's completion line: what was done (`action`), by whom (`principal`),
 * from where (`ip`), with what result (`status`, `durationMs`). The request id is already a
 * binding of the request's logger. A request that reached no route is logged with its path
 * (masked and cut); a routed one with its route template only.
 */
function completionFields(
  masking: Masker,
  request: Request,
  response: Response,
  durationMs: number,
): Record<string, unknown> {
  const action = actionOf(request);
  const principal = principalOf(request);
  const ip = clientAddressOf(request);
  const userAgent = request.headers['user-agent'];
  return {
    action: action ?? { method: request.method },
    ...(action === undefined
      ? { path: masking.maskUrl(masking.sanitize(requestPath(request), MAX_PATH_LENGTH)) }
      : {}),
    ...(principal === undefined || isPrincipalBound(request) ? {} : { principal }),
    ...(ip === undefined ? {} : { ip }),
    ...(typeof userAgent === 'string'
      ? { userAgent: masking.sanitize(userAgent, MAX_USER_AGENT_LENGTH) }
      : {}),
    status: response.statusCode,
    durationMs,
  };
}

/** The binding that carries a request's id in every line logged during the request. */
const REQUEST_ID_KEY = 'requestId';

function createRequestLog(masking: Masker, completionLine: boolean): RequestLog {
  // The masked form of each principal: the verified-token cache hands every request of a token
  // the same (frozen) logged principal, so it is masked once. setBindings() does not run the
  // root's onChild, which masks the bindings of a child logger.
  const masked = new WeakMap<LoggedPrincipal, unknown>();
  return {
    requestIdKey: REQUEST_ID_KEY,
    completionLine,
    bindPrincipal(logger, principal) {
      let value = masked.get(principal);
      if (value === undefined) {
        value = masking.mask(principal);
        masked.set(principal, value);
      }
      logger.setBindings({ principal: value });
    },
    watch(request, response, logger) {
      const startedAt = Date.now();
      const done = (error?: unknown): void => {
        response.removeListener('finish', done);
        response.removeListener('close', done);
        response.removeListener('error', done);
        const failure = error ?? (response as Response & { err?: unknown }).err;
        const failed = failure !== undefined || response.statusCode >= 500;
        const level = failed ? 'error' : response.statusCode >= 400 ? 'warn' : 'info';
        const fields = completionFields(masking, request, response, Date.now() - startedAt);
        // The error behind a 5xx is logged by the exception filter, with its cause chain.
        logger[level](fields, failed ? 'request failed' : 'request completed');
      };
      response.on('finish', done);
      response.on('close', done);
      response.on('error', done);
    },
  };
}

/**
 * The nestjs-pino `LoggerModule` params the module uses: JSON lines, masked (see
 * {@link Masker}), an asynchronous bounded destination, the request id of
 * `X-Request-Id`, one completion line per request, the hooks of the runtime log level.
 *
 * For an app that configures nestjs-pino itself: set `logging: false` in the module options
 * and import `SecureApiRequestIdModule`, then `LoggerModule.forRoot(SecureApiModule.loggerParams({
 * ... }))`: the params mount no middleware of nestjs-pino's; `SecureApiRequestIdModule`'s gives
 * each request its id, its logger (in nestjs-pino's request context) and its completion line.
 *
 * Built once per process, like the root logger nestjs-pino builds from them: a later call
 * returns the params of the first.
 *
 * @throws OptionsError naming the option path when `logging` is not valid
 */
export function secureLoggerParams(given?: LoggingOptions | ResolvedLoggingOptions): Params {
  const options = resolveLoggingOptions(given ?? {});
  if (options === false) {
    throw new OptionsError('logging', 'must be an object to build logger params');
  }
  if (runtime !== undefined) return runtime.params;
  const built = {
    masker: masker(options),
    registry: new LoggerRegistry(),
  };
  const masking = maskingPinoOptions(built.masker);
  // The masker's onChild masks each child's bindings (pino 10 applies formatters.bindings to
  // `base` only); the registry chains it after its own, as attach() expects.
  const levels = built.registry.pinoOptions({ onChild: masking.onChild });
  const pinoOptions: LoggerOptions = {
    level: options.level,
    // pino's default epoch milliseconds: an ISO string costs a Date and its formatting per
    // line, which the request log pays on every request; log stores and pino-pretty read both.
    timestamp: stdTimeFunctions.epochTime,
    formatters: {
      level: (label) => ({ level: label }),
      ...masking.formatters,
    },
    serializers: {
      ...masking.serializers,
      // A raw request or response given as `req` / `res` (as pino-http would bind them) is left
      // out: pino would otherwise stringify the whole IncomingMessage. The request line is
      // built by completionFields() instead.
      req: omitted,
      res: omitted,
    },
    onChild: levels.onChild,
    hooks: levels.hooks,
  };
  // The root logger nestjs-pino builds (and exposes as PinoLogger.root) from these options. Its
  // pino-http middleware is not mounted (no routes below): each request gets one child logger
  // and its completion line from the module's request-id middleware, which is what pino-http
  // did with two children, a listener array and its own bookkeeping per request.
  const rootOptions: PinoHttpOptions<Request, Response> = {
    ...pinoOptions,
    // pino-http would wrap the serializers and run pino's own error serializer over errors the
    // masker has already turned into plain objects (reporting them as type "Object").
    wrapSerializers: false,
  };
  const params: Params = { pinoHttp: [rootOptions, destinationOf(options)], forRoutes: [] };
  const requestLog = createRequestLog(built.masker, options.requestLog);
  runtime = { ...built, params, requestLog };
  return params;
}
