import { Injectable } from '@nestjs/common';
import { type OpenApiDocument } from '@secure-api/nestjs';

/**
 * Holds the OpenAPI document built at bootstrap by {@link setupOpenApi}. The document is
 * built from the application itself, which no provider can inject, so bootstrap hands it in.
 */
@Injectable()
export class OpenApiDocumentStore {
  private current: OpenApiDocument | undefined;

  /** The published document; `undefined` until bootstrap has built it. */
  get document(): OpenApiDocument | undefined {
    return this.current;
  }

  /** Called once by {@link setupOpenApi}. */
  publish(document: OpenApiDocument): void {
    this.current = Object.freeze(document);
  }
}
