import { type DynamicModule, Module } from '@nestjs/common';
import { SecureApiModule } from '@secure-api/nestjs';
import { type ServiceConfig } from './config/service.config.js';
import { HealthController } from './health/health.controller.js';
import { OpenApiController } from './openapi/openapi.controller.js';
import { OpenApiDocumentStore } from './openapi/openapi-document.store.js';
import { ThumbnailsController } from './thumbnails/thumbnails.controller.js';

/** The thumbnail service, configured from {@link ServiceConfig}. */
@Module({})
export class AppModule {
  static register(config: ServiceConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        SecureApiModule.forRoot({
          auth: { issuer: config.authIssuer, audience: config.authAudience },
          // GET/PUT /admin/log-level (scope logging.admin) and SIGUSR2: debug for a while.
          logging: { runtimeControl: true },
        }),
      ],
      controllers: [HealthController, OpenApiController, ThumbnailsController],
      providers: [OpenApiDocumentStore],
    };
  }
}
