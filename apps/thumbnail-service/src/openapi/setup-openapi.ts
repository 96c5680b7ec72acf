import { type INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { applySecureApiOpenApi, type OpenApiDocument } from '@secure-api/nestjs';
import { OpenApiDocumentStore } from './openapi-document.store.js';

/**
 * Builds the service's OpenAPI document from its controllers and publishes it at
 * `GET /openapi.json`. Call it after `NestFactory.create()` and before `listen()`.
 */
export function setupOpenApi(app: INestApplication): OpenApiDocument {
  const config = new DocumentBuilder()
    .setTitle('Thumbnail service')
    .setDescription('Image thumbnails, secured by @secure-api/nestjs')
    .setVersion('0.1.0')
    // @nestjs/swagger 12 writes "3.0.0" unless told; the document uses nothing 3.0-only.
    .setOpenAPIVersion('3.1.0')
    .build();
  const document = applySecureApiOpenApi(app, SwaggerModule.createDocument(app, config));
  app.get(OpenApiDocumentStore).publish(document);
  return document;
}
