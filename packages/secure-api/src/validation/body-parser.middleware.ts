import { type IncomingMessage, type ServerResponse } from 'node:http';
import { Inject, Injectable, type NestMiddleware } from '@nestjs/common';
import { SecureApiError } from '../errors/secure-api.error.js';
import { SecureApiErrorCode } from '../errors/secure-api-error-code.js';
import { SECURE_API_OPTIONS } from '../secure-api.constants.js';
import { type ResolvedSecureApiOptions } from '../secure-api.options.js';
import { type ResolvedBodyOptions } from './body-options.js';
import {
  bodyKindOf,
  hasRequestBody,
  readRequestBody,
  unsupportedMediaType,
} from './request-body.reader.js';

type ParsedRequest = IncomingMessage & { body?: unknown; rawBody?: Buffer; _body?: boolean };

/**
 * The module's body parser on Express, mounted after the security headers so that a refused
 * body is answered with them: reads JSON, `application/*+json` and urlencoded bodies with the
 * limits of the `body` option (see {@link readRequestBody}), leaves `body.passthrough` types
 * unread, and refuses any other body with `415`. A request without a body is not touched.
 *
 * Express apps must be created with `{ bodyParser: false }`; `SecureApiModule` refuses to boot
 * otherwise, and this middleware refuses a request that a framework parser has already read.
 */
@Injectable()
export class BodyParserMiddleware implements NestMiddleware<IncomingMessage, ServerResponse> {
  private readonly body: ResolvedBodyOptions | false;

  constructor(@Inject(SECURE_API_OPTIONS) options: ResolvedSecureApiOptions) {
    this.body = options.body;
  }

  // Nest's middleware proxy awaits use() and hands a rejection to the exception filter.
  async use(request: ParsedRequest, _response: ServerResponse, next: () => void): Promise<void> {
    const options = this.body;
    if (options === false || !hasRequestBody(request.headers)) {
      next();
      return;
    }
    if (request._body === true) {
      // body-parser marks what it has read; its JSON.parse kept any "__proto__" member.
      throw new SecureApiError(
        SecureApiErrorCode.INVALID_OPTIONS,
        'SecureApiModule: a framework body parser read this request first. Potential solution: create the app with NestFactory.create(AppModule, { bodyParser: false }).',
      );
    }
    const contentType = request.headers['content-type'];
    const { kind, charset } = bodyKindOf(contentType, options);
    if (kind === 'passthrough') {
      next();
      return;
    }
    if (kind === 'unsupported') throw unsupportedMediaType(contentType);
    const parsed = await readRequestBody(request, request.headers, kind, charset, options);
    request.body = parsed.value;
    if (options.rawBody) request.rawBody = parsed.raw;
    next();
  }
}
