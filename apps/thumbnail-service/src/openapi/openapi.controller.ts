import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import {
  type OpenApiDocument,
  Public,
  SecureApiErrorCode,
  SecureApiHttpError,
} from '@secure-api/nestjs';
import { OpenApiDocumentStore } from './openapi-document.store.js';

/**
 * Serves the OpenAPI document. A controller rather than `SwaggerModule.setup()`: it goes
 * through the guards, filter and route audit like every other route, and `@Public()` says so.
 */
@ApiExcludeController()
@Public()
@Controller()
export class OpenApiController {
  constructor(private readonly store: OpenApiDocumentStore) {}

  /** The OpenAPI 3.1 document of the service. */
  @Get('openapi.json')
  @Header('content-type', 'application/json; charset=utf-8')
  document(): OpenApiDocument {
    const document = this.store.document;
    if (document === undefined) {
      throw new SecureApiHttpError(SecureApiErrorCode.NOT_FOUND, {
        status: 404,
        title: 'Not Found',
        detail: 'The OpenAPI document is not published.',
      });
    }
    return document;
  }
}
