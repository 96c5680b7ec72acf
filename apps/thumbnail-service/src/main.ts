import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { createHttpsOptions } from '@secure-api/nestjs';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module.js';
import { loadServiceConfig, ServiceConfigError } from './config/service.config.js';
import { setupOpenApi } from './openapi/setup-openapi.js';

async function bootstrap(): Promise<void> {
  let config;
  try {
    config = loadServiceConfig();
  } catch (error) {
    if (!(error instanceof ServiceConfigError)) throw error;
    // Before the app exists there is no logger to give it to; one line on stderr says what to fix.
    process.stderr.write(`${error.message}\n`);
    process.exitCode = 1;
    return;
  }
  // HTTPS with client certificates required: the files are read and checked here, and watched
  // by the module for rotation. SecureApiModule reads request bodies itself, with its limits and
  // prototype checks. Boot messages wait for the module's masked JSON logger (nestjs-pino).
  const app = await NestFactory.create(AppModule.register(config), {
    bodyParser: false,
    bufferLogs: true,
    httpsOptions: createHttpsOptions({
      certFile: config.tls.certFile,
      keyFile: config.tls.keyFile,
      caFile: config.tls.caFile,
      clientCertificate: 'require',
    }),
  });
  const logger = app.get(Logger);
  app.useLogger(logger);
  app.enableShutdownHooks();
  setupOpenApi(app);
  await app.listen(config.port, config.host);
  logger.log(
    {
      msg: `listening on ${await app.getUrl()}`,
      issuer: config.authIssuer,
      audience: config.authAudience,
      storage: config.s3Endpoint ?? 'AWS S3',
      rateLimits: config.redisUrl === undefined ? 'memory' : 'redis',
    },
    'ThumbnailService',
  );
}

void bootstrap();
