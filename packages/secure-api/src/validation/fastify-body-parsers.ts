import { type IncomingHttpHeaders } from 'node:http';
import { type Readable } from 'node:stream';
import { type ResolvedBodyOptions } from './body-options.js';
import { bodyKindOf, readRequestBody, unsupportedMediaType } from './request-body.reader.js';

/** The part of a Fastify request the parser uses. */
interface FastifyRequestLike {
  headers: IncomingHttpHeaders;
  rawBody?: Buffer;
}

type ContentTypeParser = (request: FastifyRequestLike, payload: Readable) => Promise<unknown>;

/**
 * The part of a Fastify instance this file uses; structural, so that the package does not
 * depend on `fastify` for Express users.
 * @see https://fastify.dev/docs/latest/Reference/ContentTypeParser/
 */
export interface FastifyContentTypeParsers {
  hasContentTypeParser(contentType: string | RegExp): boolean;
  removeContentTypeParser(contentType: string | RegExp): void;
  addContentTypeParser(contentType: string | RegExp, parser: ContentTypeParser): void;
}

/**
 * Parsers the module replaces: Fastify's JSON and text parsers (1 MiB limit, no depth limit,
 * `text/plain` handed to JSON routes as a string) and the urlencoded one Nest registers.
 */
const REPLACED = ['application/json', 'text/plain', 'application/x-www-form-urlencoded'];

/** `application/<anything>+json`, as Fastify matches a RegExp: against the whole header. */
const JSON_SUFFIX_TYPE = /^application\/[^\s/;]+\+json\s*(?:;|$)/i;

/**
 * Installs the module's body parsing on a Fastify instance, before it is ready: the same
 * {@link readRequestBody} as on Express, so both adapters accept and refuse the same bodies. A
 * media type with no parser left is refused by Fastify itself with `415`.
 */
export function registerFastifyBodyParsers(
  instance: FastifyContentTypeParsers,
  options: ResolvedBodyOptions,
): void {
  for (const type of REPLACED) {
    if (instance.hasContentTypeParser(type)) instance.removeContentTypeParser(type);
  }
  const parse: ContentTypeParser = async (request, payload) => {
    const contentType = request.headers['content-type'];
    const { kind, charset } = bodyKindOf(contentType, options);
    if (kind !== 'json' && kind !== 'urlencoded') throw unsupportedMediaType(contentType);
    const parsed = await readRequestBody(payload, request.headers, kind, charset, options);
    if (options.rawBody) request.rawBody = parsed.raw;
    return parsed.value;
  };
  instance.addContentTypeParser('application/json', parse);
  instance.addContentTypeParser(JSON_SUFFIX_TYPE, parse);
  if (options.urlencoded) instance.addContentTypeParser('application/x-www-form-urlencoded', parse);
}
