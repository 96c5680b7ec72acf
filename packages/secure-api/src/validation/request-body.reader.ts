import { type IncomingHttpHeaders } from 'node:http';
import { parse as parseQueryString } from 'node:querystring';
import { type Readable, type Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { safeParse as parseContentType } from 'fast-content-type-parse';
import getRawBody from 'raw-body';
import secureJson from 'secure-json-parse';
import { SecureApiErrorCode } from '../errors/secure-api-error-code.js';
import { SecureApiHttpError } from '../errors/secure-api-http.error.js';
import { type ResolvedBodyOptions } from './body-options.js';
import { validationFailed } from './field-errors.js';
import { appendPointer, type PointerPath, pointerOf } from './json-pointer.js';

/** What the module does with a request body, by its media type. */
export type BodyKind = 'json' | 'urlencoded' | 'passthrough' | 'unsupported';

/** A body the module has read and parsed. */
export interface ParsedBody {
  /** The parsed value; `undefined` for an empty body. */
  readonly value: unknown;
  /** The bytes after decompression, for `body.rawBody`. */
  readonly raw: Buffer;
}

const JSON_SUFFIX = '+json';
/** secure-json-parse's message for both `__proto__` and `constructor.prototype`. */
const POISONED = 'Object contains forbidden prototype property';
const UTF8 = new TextDecoder('utf-8', { fatal: true });

function bodyError(
  code: SecureApiErrorCode,
  status: 400 | 413 | 415,
  detail: string,
  cause?: unknown,
): SecureApiHttpError {
  return new SecureApiHttpError(code, {
    status,
    title:
      status === 413
        ? 'Content Too Large'
        : status === 415
          ? 'Unsupported Media Type'
          : 'Bad Request',
    detail,
    // The rest of a refused body may still be on its way; reading it only to discard it would
    // keep the connection busy for the attacker.
    headers: { connection: 'close' },
    cause,
  });
}

const unsupported = (detail: string): SecureApiHttpError =>
  bodyError(SecureApiErrorCode.UNSUPPORTED_MEDIA_TYPE, 415, detail);
const malformed = (cause?: unknown): SecureApiHttpError =>
  bodyError(SecureApiErrorCode.MALFORMED_BODY, 400, 'The request body could not be parsed.', cause);

/**
 * Whether the request carries a body at all (RFC 9112 §6.3): a `Transfer-Encoding`, or a
 * `Content-Length` other than 0. A request without one is never read.
 */
export function hasRequestBody(headers: IncomingHttpHeaders): boolean {
  if (headers['transfer-encoding'] !== undefined) return true;
  const length = headers['content-length'];
  return length !== undefined && length !== '0';
}

/**
 * Decides, from the `Content-Type` header, whether the module parses the body (JSON,
 * `application/*+json`, urlencoded), leaves it unread (`body.passthrough`) or refuses it (`415`).
 * A missing or unparseable header is unsupported: a body route must say what it sends.
 */
export function bodyKindOf(
  contentType: string | undefined,
  options: ResolvedBodyOptions,
): { kind: BodyKind; charset: string | undefined } {
  if (contentType === undefined) return { kind: 'unsupported', charset: undefined };
  const { type, parameters } = parseContentType(contentType);
  const charset = parameters.charset?.toLowerCase();
  if (
    type === 'application/json' ||
    (type.startsWith('application/') && type.endsWith(JSON_SUFFIX))
  ) {
    return { kind: 'json', charset };
  }
  if (type === 'application/x-www-form-urlencoded' && options.urlencoded) {
    return { kind: 'urlencoded', charset };
  }
  if (type !== '' && options.passthrough.includes(type)) return { kind: 'passthrough', charset };
  return { kind: 'unsupported', charset };
}

function decoderFor(encoding: string | undefined, inflate: boolean): Transform | undefined {
  const name = (encoding ?? 'identity').trim().toLowerCase();
  if (name === 'identity' || name === '') return undefined;
  if (!inflate) throw unsupported('The request body has an unsupported content encoding.');
  switch (name) {
    case 'gzip':
    case 'x-gzip':
      return createGunzip();
    case 'deflate':
      return createInflate();
    case 'br':
      return createBrotliDecompress();
    default:
      // Several codings ("gzip, br") or an unknown one (RFC 9110 §8.4.1: 415).
      throw unsupported('The request body has an unsupported content encoding.');
  }
}

function isRawBodyError(error: unknown): error is Error & { type: string } {
  return error instanceof Error && typeof (error as { type?: unknown }).type === 'string';
}

/**
 * Reads the body, inflating it when it is compressed, and stops at `options.limit` bytes of
 * inflated content (raw-body counts what comes out of the decompressor, so a gzip bomb is
 * refused after `limit` bytes, never fully expanded). A declared `Content-Length` above the
 * limit is refused before anything is read.
 */
async function readBytes(
  stream: Readable,
  headers: IncomingHttpHeaders,
  options: ResolvedBodyOptions,
): Promise<Buffer> {
  const encodingHeader = headers['content-encoding'];
  const decoder = decoderFor(encodingHeader, options.inflate);
  let source: Readable = stream;
  if (decoder !== undefined) {
    // pipe(), not pipeline(): on an error the request must stay open for the 4xx response.
    stream.pipe(decoder);
    source = decoder;
  }
  try {
    return await getRawBody(source, {
      limit: options.limit,
      // Only the identity coding has a length to check against; a compressed body's length is
      // that of the compressed bytes.
      length: decoder === undefined ? headers['content-length'] : undefined,
    });
  } catch (error) {
    if (decoder !== undefined) {
      stream.unpipe(decoder);
      decoder.destroy();
    }
    if (isRawBodyError(error) && error.type === 'entity.too.large') {
      throw bodyError(
        SecureApiErrorCode.BODY_TOO_LARGE,
        413,
        'The request body is too large.',
        error,
      );
    }
    // A length mismatch, an aborted request, or bytes the decompressor cannot inflate.
    throw malformed(error);
  }
}

function assertUtf8Charset(charset: string | undefined): void {
  // RFC 8259 §8.1: JSON exchanged between systems is UTF-8; so are the forms this module reads.
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw unsupported('The request body has an unsupported charset.');
  }
}

function decodeUtf8(bytes: Buffer): string {
  try {
    // TextDecoder drops a leading byte order mark, which RFC 8259 allows parsers to ignore.
    return UTF8.decode(bytes);
  } catch (error) {
    throw malformed(error);
  }
}

/**
 * Walks a parsed body once, iteratively (a document nested ten thousand levels deep costs no
 * stack), and returns the first limit it breaks: nesting deeper than `maxDepth` (a 400 of its
 * own), or an array or string longer than `maxArrayLength` / `maxStringLength` (a validation
 * failure pointing at the member, like a DTO's `@ArrayMaxSize()` / `@MaxLength()`).
 */
function shapeError(value: unknown, options: ResolvedBodyOptions): SecureApiHttpError | undefined {
  const { maxDepth, maxArrayLength, maxStringLength } = options;
  const tooLong = (pointer: string, detail: string): SecureApiHttpError =>
    validationFailed([{ in: 'body', pointer, detail }]);
  if (typeof value === 'string' && value.length > maxStringLength) {
    return tooLong('', `must be shorter than or equal to ${maxStringLength} characters`);
  }
  const pending: { node: unknown; depth: number; path: PointerPath | undefined }[] = [
    { node: value, depth: 1, path: undefined },
  ];
  for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
    const { node, depth, path } = item;
    if (typeof node !== 'object' || node === null) continue;
    if (depth > maxDepth) {
      return bodyError(
        SecureApiErrorCode.BODY_TOO_DEEP,
        400,
        `The request body is nested more than ${maxDepth} levels deep.`,
      );
    }
    if (Array.isArray(node) && node.length > maxArrayLength) {
      return tooLong(pointerOf(path), `must contain no more than ${maxArrayLength} elements`);
    }
    for (const [key, child] of Object.entries(node)) {
      if (key.length > maxStringLength) {
        return tooLong(
          pointerOf(path),
          `has a member name longer than ${maxStringLength} characters`,
        );
      }
      if (typeof child === 'string') {
        if (child.length > maxStringLength) {
          return tooLong(
            appendPointer(pointerOf(path), key),
            `must be shorter than or equal to ${maxStringLength} characters`,
          );
        }
      } else if (typeof child === 'object' && child !== null) {
        pending.push({ node: child, depth: depth + 1, path: { key, up: path } });
      }
    }
  }
  return undefined;
}

const forbiddenMember = (): SecureApiHttpError =>
  bodyError(
    SecureApiErrorCode.BODY_FORBIDDEN_MEMBER,
    400,
    'The request body contains a "__proto__" or "constructor.prototype" member.',
  );

function parseJson(text: string): unknown {
  try {
    // The parser refuses `__proto__` and `constructor.prototype` members instead of creating
    // them: nothing downstream ever holds such an object, however it copies or merges it.
    return secureJson.parse(text, undefined, {
      protoAction: 'error',
      constructorAction: 'error',
    });
  } catch (error) {
    if (error instanceof SyntaxError && error.message === POISONED) throw forbiddenMember();
    throw malformed(error);
  }
}

function parseUrlencoded(text: string, parameterLimit: number): unknown {
  let count = 0;
  for (let at = text.indexOf('&'); at !== -1; at = text.indexOf('&', at + 1)) count += 1;
  if (count + 1 > parameterLimit) {
    throw bodyError(
      SecureApiErrorCode.BODY_TOO_LARGE,
      413,
      `The request body has more than ${parameterLimit} parameters.`,
    );
  }
  // node:querystring gives a prototype-less object of strings (and arrays for repeated names),
  // the same shape as Nest's query strings, so one DTO works for a query and a form. A
  // `__proto__` field would be an own member of it, refused here as in JSON.
  const form = parseQueryString(text, '&', '=', { maxKeys: 0 });
  if (Object.hasOwn(form, '__proto__')) throw forbiddenMember();
  return form;
}

/**
 * Reads and parses a JSON or urlencoded body with the module's limits. The same function
 * serves the Express middleware and the Fastify content-type parser, so both adapters refuse
 * the same bodies with the same codes.
 *
 * @throws SecureApiHttpError `413 ERR_SECURE_API_BODY_TOO_LARGE`, `415
 * ERR_SECURE_API_UNSUPPORTED_MEDIA_TYPE`, `400 ERR_SECURE_API_MALFORMED_BODY`, `400
 * ERR_SECURE_API_BODY_FORBIDDEN_MEMBER`, `400 ERR_SECURE_API_BODY_TOO_DEEP` or `400
 * ERR_SECURE_API_VALIDATION_FAILED` (an array or string over its limit); none of their
 * messages quotes the body.
 */
export async function readRequestBody(
  stream: Readable,
  headers: IncomingHttpHeaders,
  kind: 'json' | 'urlencoded',
  charset: string | undefined,
  options: ResolvedBodyOptions,
): Promise<ParsedBody> {
  assertUtf8Charset(charset);
  const raw = await readBytes(stream, headers, options);
  // An empty body is no body (a client that sends a content type on a bodiless POST): the
  // route's DTO, if it has one, then reports each missing member.
  if (raw.length === 0) return { value: undefined, raw };
  const text = decodeUtf8(raw);
  const value = kind === 'json' ? parseJson(text) : parseUrlencoded(text, options.parameterLimit);
  const refusal = shapeError(value, options);
  if (refusal !== undefined) throw refusal;
  return { value, raw };
}

/** The `415` for a body whose media type the module neither parses nor passes through. */
export function unsupportedMediaType(contentType: string | undefined): SecureApiHttpError {
  return unsupported(
    contentType === undefined
      ? 'The request has a body but no Content-Type.'
      : 'The request body has an unsupported media type.',
  );
}
