import { SecureApiErrorCode } from './secure-api-error-code.js';

/** The stable code, status and client-facing detail of a body the adapter refused. */
export interface BodyParseFailure {
  readonly code: SecureApiErrorCode;
  readonly status: 400 | 413 | 415;
  readonly detail: string;
}

const MALFORMED: BodyParseFailure = {
  code: SecureApiErrorCode.MALFORMED_BODY,
  status: 400,
  detail: 'The request body could not be parsed.',
};
const TOO_LARGE: BodyParseFailure = {
  code: SecureApiErrorCode.BODY_TOO_LARGE,
  status: 413,
  detail: 'The request body is too large.',
};
const UNSUPPORTED: BodyParseFailure = {
  code: SecureApiErrorCode.UNSUPPORTED_MEDIA_TYPE,
  status: 415,
  detail: 'The request body has an unsupported media type.',
};

/**
 * Express's body-parser errors, by their `type` (the `http-errors` it raises; Nest wraps them
 * in an `HttpException` whose `cause` is the original).
 * @see https://github.com/expressjs/body-parser#errors
 */
const BY_BODY_PARSER_TYPE: Readonly<Record<string, BodyParseFailure>> = {
  'entity.parse.failed': MALFORMED,
  'entity.verify.failed': MALFORMED,
  'request.size.invalid': MALFORMED,
  'entity.too.large': TOO_LARGE,
  'charset.unsupported': UNSUPPORTED,
  'encoding.unsupported': UNSUPPORTED,
};

/**
 * Fastify's content-type parser errors, by their `code`; Nest's Fastify adapter also wraps
 * them in an `HttpException` with the original as `cause`. Fastify reports a body holding
 * `__proto__` or `constructor.prototype` (refused by secure-json-parse) as an invalid JSON body.
 * @see https://fastify.dev/docs/latest/Reference/Errors/
 */
const BY_FASTIFY_CODE: Readonly<Record<string, BodyParseFailure>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: MALFORMED,
  FST_ERR_CTP_EMPTY_JSON_BODY: MALFORMED,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: MALFORMED,
  FST_ERR_CTP_BODY_TOO_LARGE: TOO_LARGE,
  FST_ERR_CTP_INVALID_MEDIA_TYPE: UNSUPPORTED,
};

function stringMember(value: unknown, name: 'type' | 'code'): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const member: unknown = (value as Record<string, unknown>)[name];
  return typeof member === 'string' ? member : undefined;
}

function classify(error: unknown): BodyParseFailure | undefined {
  const type = stringMember(error, 'type');
  const code = stringMember(error, 'code');
  return (
    (type !== undefined && Object.hasOwn(BY_BODY_PARSER_TYPE, type)
      ? BY_BODY_PARSER_TYPE[type]
      : undefined) ??
    (code !== undefined && Object.hasOwn(BY_FASTIFY_CODE, code) ? BY_FASTIFY_CODE[code] : undefined)
  );
}

/**
 * Recognises an adapter's refusal of a request body (malformed JSON, too large, unsupported
 * media type), raised as is or wrapped by Nest with the original as `cause`. Their messages
 * quote the body ("Unexpected token x in JSON at position 3"), so only the code is kept.
 */
export function bodyParseFailureOf(exception: unknown): BodyParseFailure | undefined {
  return (
    classify(exception) ??
    (exception instanceof Error && exception.cause !== undefined
      ? classify(exception.cause)
      : undefined)
  );
}
