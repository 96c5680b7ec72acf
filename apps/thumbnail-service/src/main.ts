import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module.js';
import { loadServiceConfig } from './config/service.config.js';
import { setupOpenApi } from './openapi/setup-openapi.js';

async function bootstrap(): Promise<void> {
  const config = loadServiceConfig();
  // SecureApiModule reads request bodies itself, with its limits and prototype checks. Boot
  // messages wait for the module's masked JSON logger (nestjs-pino), which then takes Nest's and
  // the service's own log calls.
  const app = await NestFactory.create(AppModule.register(config), {
    bodyParser: false,
    bufferLogs: true,
  });
  const logger = app.get(Logger);
  app.useLogger(logger);
  app.enableShutdownHooks();
  setupOpenApi(app);
  await app.listen(config.port, config.host);
  logger.log(
    `listening on ${await app.getUrl()} (issuer ${config.authIssuer}, audience ${config.authAudience})`,
    'ThumbnailService',
  );
}

void bootstrap();
