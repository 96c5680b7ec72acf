import {
  booleanOption,
  isRecord,
  knownKeys,
  OptionsError,
  positiveInteger,
} from '../option-checks.js';

/**
 * How the module reads and parses request bodies, on both adapters, before any guard, pipe or
 * handler sees them.
 */
export interface BodyOptions {
  /**
   * Largest body accepted, in bytes, counted after decompression; a larger one is a `413`.
   * @default 102_400 (100 KiB)
   */
  limit?: number;
  /**
   * Deepest nesting of objects and arrays in a JSON body; a deeper one is a `400
   * ERR_SECURE_API_BODY_TOO_DEEP`. Deep documents cost stack and time in every recursive
   * walker after the parser (validators, loggers, serialisers).
   * @default 32
   */
  maxDepth?: number;
  /**
   * Longest array anywhere in a body; a longer one is a `400 ERR_SECURE_API_VALIDATION_FAILED`
   * pointing at it. A default for every route: a DTO's `@ArrayMaxSize()` should be tighter.
   * @default 1000
   */
  maxArrayLength?: number;
  /**
   * Longest string (value or member name) anywhere in a body, in UTF-16 code units; a longer one
   * is a `400 ERR_SECURE_API_VALIDATION_FAILED` pointing at it. A DTO's `@MaxLength()` should be
   * tighter.
   * @default 10_000
   */
  maxStringLength?: number;
  /**
   * Most parameters in an `application/x-www-form-urlencoded` body; more is a `413`.
   * @default 1000
   */
  parameterLimit?: number;
  /**
   * Parse `application/x-www-form-urlencoded` bodies. `false` makes them a `415`.
   * @default true
   */
  urlencoded?: boolean;
  /**
   * Accept bodies sent with `Content-Encoding: gzip`, `deflate` or `br`; `limit` applies to the
   * inflated bytes, so a small compressed bomb is refused as soon as it inflates past it.
   * `false` makes every encoding but `identity` a `415`.
   * @default true
   */
  inflate?: boolean;
  /**
   * Media types the module leaves unread, for a route that reads the stream itself (an upload
   * interceptor reading `multipart/form-data`). Express only: on Fastify a media type is read by
   * the content-type parser registered for it (`@fastify/multipart`), and a type with none is
   * a `415` there.
   * @default []
   */
  passthrough?: readonly string[];
  /**
   * Keep the bytes of a parsed body as `req.rawBody` (a `Buffer`), for signature checks such as
   * webhooks. Nest's own `rawBody` option has no effect once the module parses bodies.
   * @default false
   */
  rawBody?: boolean;
}

/** {@link BodyOptions} after defaults and validation; frozen. */
export interface ResolvedBodyOptions {
  readonly limit: number;
  readonly maxDepth: number;
  readonly maxArrayLength: number;
  readonly maxStringLength: number;
  readonly parameterLimit: number;
  readonly urlencoded: boolean;
  readonly inflate: boolean;
  readonly passthrough: readonly string[];
  readonly rawBody: boolean;
}

/** A media type as RFC 9110 §8.3.1 spells it: `type/subtype`, lower-cased by the resolver. */
const MEDIA_TYPE = /^[!#$%&'*+\-.^_`|~0-9a-z]+\/[!#$%&'*+\-.^_`|~0-9a-z]+$/;

/** Types the module parses itself, which cannot also be passed through unread. */
const PARSED_TYPES = ['application/json', 'application/x-www-form-urlencoded'];

export const BODY_DEFAULTS: ResolvedBodyOptions = Object.freeze({
  limit: 100 * 1024,
  maxDepth: 32,
  maxArrayLength: 1000,
  maxStringLength: 10_000,
  parameterLimit: 1000,
  urlencoded: true,
  inflate: true,
  passthrough: Object.freeze([]),
  rawBody: false,
});

/** Largest `limit` accepted: beyond it a body belongs in object storage, streamed. */
const MAX_LIMIT = 64 * 1024 * 1024;

function resolvePassthrough(value: unknown): readonly string[] {
  if (value === undefined) return BODY_DEFAULTS.passthrough;
  if (!Array.isArray(value)) {
    throw new OptionsError(
      'body.passthrough',
      'must be an array of media types',
      "e.g. ['multipart/form-data']",
    );
  }
  return Object.freeze(
    value.map((item: unknown, index) => {
      const type = typeof item === 'string' ? item.trim().toLowerCase() : '';
      if (!MEDIA_TYPE.test(type)) {
        throw new OptionsError(
          `body.passthrough[${index}]`,
          'must be a media type without parameters',
          "e.g. 'multipart/form-data'",
        );
      }
      if (PARSED_TYPES.includes(type) || type.endsWith('+json')) {
        throw new OptionsError(
          `body.passthrough[${index}]`,
          'is a type the module parses',
          'set body: false to leave all body parsing to the framework',
        );
      }
      return type;
    }),
  );
}

/** Resolves the `body` option; `false` means the framework's own parsers are used. */
export function resolveBodyOptions(value: unknown): ResolvedBodyOptions | false {
  if (value === false) return false;
  if (value === undefined) return BODY_DEFAULTS;
  if (!isRecord(value)) {
    throw new OptionsError('body', 'must be an object or false', 'leave it out for the defaults');
  }
  knownKeys(value, 'body', Object.keys(BODY_DEFAULTS));
  return Object.freeze({
    limit: positiveInteger(value.limit, 'body.limit', BODY_DEFAULTS.limit, MAX_LIMIT),
    maxDepth: positiveInteger(value.maxDepth, 'body.maxDepth', BODY_DEFAULTS.maxDepth, 1000),
    maxArrayLength: positiveInteger(
      value.maxArrayLength,
      'body.maxArrayLength',
      BODY_DEFAULTS.maxArrayLength,
      1_000_000,
    ),
    maxStringLength: positiveInteger(
      value.maxStringLength,
      'body.maxStringLength',
      BODY_DEFAULTS.maxStringLength,
      MAX_LIMIT,
    ),
    parameterLimit: positiveInteger(
      value.parameterLimit,
      'body.parameterLimit',
      BODY_DEFAULTS.parameterLimit,
      100_000,
    ),
    urlencoded: booleanOption(value.urlencoded, 'body.urlencoded', BODY_DEFAULTS.urlencoded),
    inflate: booleanOption(value.inflate, 'body.inflate', BODY_DEFAULTS.inflate),
    passthrough: resolvePassthrough(value.passthrough),
    rawBody: booleanOption(value.rawBody, 'body.rawBody', BODY_DEFAULTS.rawBody),
  });
}
