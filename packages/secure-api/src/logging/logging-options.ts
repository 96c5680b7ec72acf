import { type DestinationStream, type LevelWithSilent } from 'pino';
import {
  booleanOption,
  describeValue,
  isRecord,
  knownKeys,
  OptionsError,
  positiveInteger,
} from '../option-checks.js';
import { LOG_LEVEL_TTL_CEILING_SECONDS, SETTABLE_LOG_LEVELS } from './log-level.service.js';
import { type MaskingOptions } from './masker.js';
import { peerPatternProblem } from '../tls/tls-options.js';

/** The `logging` option of `SecureApiModule`: structured JSON logs through nestjs-pino. */
export interface LoggingOptions {
  /**
   * Level of the root logger. Can be changed at run time (`runtimeControl`, `SIGUSR2`).
   * @default 'info'
   */
  level?: LevelWithSilent;
  /**
   * Where the JSON lines go. A pino `DestinationStream` (anything with `write(line)`), or a file
   * descriptor. The default is an asynchronous sonic-boom on stdout whose buffer holds at most
   * `bufferBytes`: when the reader falls behind, lines are dropped and counted rather than
   * blocking requests or growing memory.
   * @default 1 (stdout)
   */
  destination?: DestinationStream | number;
  /**
   * Most bytes the default destination buffers before it drops lines (and counts them).
   * @default 4_194_304 (4 MiB)
   */
  bufferBytes?: number;
  /** Masking rules, added to the built-in ones (see {@link MaskingOptions}). */
  masking?: MaskingOptions;
  /**
   * One line per request when it completes: request id, principal, client address, action,
   * status, duration. `false` keeps the request context (request id and principal on every
   * line logged during a request) without the line.
   * @default true
   */
  requestLog?: boolean;
  /**
   * Use a client's `X-Request-Id` when it matches `^[A-Za-z0-9._-]{1,128}$` (so services that
   * call each other share one id); any other value is replaced by a fresh UUID. `false` always
   * makes a fresh one.
   * @default true
   */
  acceptRequestId?: boolean;
  /**
   * Adds `GET` / `PUT /admin/log-level` (scope `logging.admin`) to read and change the level
   * for a bounded time, and listens to `SIGUSR2` (debug for `defaultTtlSeconds`).
   * @default false
   */
  runtimeControl?: boolean;
  /**
   * How long a level raised by `SIGUSR2` lasts, seconds; at most `maxTtlSeconds`.
   * @default 600 (or `maxTtlSeconds` when smaller)
   */
  defaultTtlSeconds?: number;
  /**
   * Longest `ttlSeconds` `PUT /admin/log-level` accepts; at most 604 800 (7 days).
   * @default 86_400
   */
  maxTtlSeconds?: number;
  /**
   * The mutual-TLS peers (SPIFFE IDs or `dns:` names) that may call `/admin/log-level`, on top
   * of its scope, when the module's `tls` asks for client certificates. Without it, the routes
   * take `tls.allowedPeers`; with neither, the boot fails rather than open the level to any
   * service holding a certificate of the CA.
   * @default undefined (tls.allowedPeers)
   */
  adminPeers?: readonly string[];
}

/** {@link LoggingOptions} after defaults and validation; frozen. */
export interface ResolvedLoggingOptions {
  readonly level: LevelWithSilent;
  readonly destination: DestinationStream | number;
  readonly bufferBytes: number;
  readonly masking: Readonly<MaskingOptions>;
  readonly requestLog: boolean;
  readonly acceptRequestId: boolean;
  readonly runtimeControl: boolean;
  readonly defaultTtlSeconds: number;
  readonly maxTtlSeconds: number;
  readonly adminPeers: readonly string[] | undefined;
}

const LOGGING_OPTION_NAMES = [
  'level',
  'destination',
  'bufferBytes',
  'masking',
  'requestLog',
  'acceptRequestId',
  'runtimeControl',
  'defaultTtlSeconds',
  'maxTtlSeconds',
  'adminPeers',
];

function resolveAdminPeers(value: unknown): readonly string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0) {
    throw new OptionsError('logging.adminPeers', 'must be a non-empty array');
  }
  value.forEach((peer: unknown, index) => {
    const problem = peerPatternProblem(peer);
    if (problem !== undefined) throw new OptionsError(`logging.adminPeers[${index}]`, problem);
  });
  return Object.freeze([...new Set(value as string[])]);
}

function isDestination(value: unknown): value is DestinationStream {
  return isRecord(value) && typeof value.write === 'function';
}

/**
 * Validates the `logging` option once, at bootstrap.
 * @throws OptionsError naming the option path
 */
export function resolveLoggingOptions(value: unknown): ResolvedLoggingOptions | false {
  if (value === false) return false;
  const given = value ?? {};
  if (!isRecord(given)) {
    throw new OptionsError(
      'logging',
      'must be an object or false',
      'e.g. logging: { level: "info" }',
    );
  }
  knownKeys(given, 'logging', LOGGING_OPTION_NAMES);
  const level = given.level ?? 'info';
  if (!SETTABLE_LOG_LEVELS.includes(level as LevelWithSilent)) {
    throw new OptionsError(
      'logging.level',
      `must be one of ${SETTABLE_LOG_LEVELS.join(', ')}, got ${describeValue(level)}`,
    );
  }
  const destination = given.destination ?? 1;
  if (
    !isDestination(destination) &&
    !(typeof destination === 'number' && Number.isInteger(destination) && destination >= 0)
  ) {
    throw new OptionsError(
      'logging.destination',
      `must be a stream with write() or a file descriptor, got ${describeValue(destination)}`,
    );
  }
  const masking = given.masking ?? {};
  if (!isRecord(masking)) throw new OptionsError('logging.masking', 'must be an object');
  const maxTtlSeconds = positiveInteger(
    given.maxTtlSeconds,
    'logging.maxTtlSeconds',
    86_400,
    LOG_LEVEL_TTL_CEILING_SECONDS,
  );
  return Object.freeze({
    level: level as LevelWithSilent,
    destination,
    bufferBytes: positiveInteger(given.bufferBytes, 'logging.bufferBytes', 4 * 1024 * 1024),
    masking: Object.freeze({ ...masking }),
    requestLog: booleanOption(given.requestLog, 'logging.requestLog', true),
    acceptRequestId: booleanOption(given.acceptRequestId, 'logging.acceptRequestId', true),
    runtimeControl: booleanOption(given.runtimeControl, 'logging.runtimeControl', false),
    defaultTtlSeconds: positiveInteger(
      given.defaultTtlSeconds,
      'logging.defaultTtlSeconds',
      Math.min(600, maxTtlSeconds),
      maxTtlSeconds,
    ),
    maxTtlSeconds,
    adminPeers: resolveAdminPeers(given.adminPeers),
  });
}
