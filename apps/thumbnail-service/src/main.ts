import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { loadServiceConfig } from './config/service.config.js';
import { setupOpenApi } from './openapi/setup-openapi.js';

async function bootstrap(): Promise<void> {
  const config = loadServiceConfig();
  // SecureApiModule reads request bodies itself, with its limits and prototype checks.
  const app = await NestFactory.create(AppModule.register(config), { bodyParser: false });
  app.enableShutdownHooks();
  setupOpenApi(app);
  await app.listen(config.port, config.host);
  new Logger('ThumbnailService').log(
    `listening on ${await app.getUrl()} (issuer ${config.authIssuer}, audience ${config.authAudience})`,
  );
}

void bootstrap();
