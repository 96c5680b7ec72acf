import { type IncomingMessage, type ServerResponse } from 'node:http';
import {
  Global,
  Inject,
  Injectable,
  type MiddlewareConsumer,
  Module,
  type NestMiddleware,
  type NestModule,
  RequestMethod,
} from '@nestjs/common';
import { SECURE_API_OPTIONS } from '../secure-api.constants.js';
import { type ResolvedSecureApiOptions } from '../secure-api.options.js';
import { acceptsClientRequestId, assignRequestId } from './request-id.js';

/**
 * Gives every request its id before pino-http binds one: pino-http uses `req.id` when it is
 * set, and on Fastify @fastify/middie sets it to Fastify's own counter before any middleware
 * runs.
 */
@Injectable()
export class RequestIdMiddleware implements NestMiddleware<IncomingMessage, ServerResponse> {
  private readonly accept: boolean;

  constructor(@Inject(SECURE_API_OPTIONS) options: ResolvedSecureApiOptions) {
    this.accept = acceptsClientRequestId(options);
  }

  use(request: IncomingMessage, response: ServerResponse, next: () => void): void {
    assignRequestId(request, response, this.accept);
    next();
  }
}

/**
 * Mounts {@link RequestIdMiddleware}. Global, like nestjs-pino's `LoggerModule` and
 * `SecureApiModule`, and imported ahead of them: Nest mounts the middleware of global modules
 * in the order it found the modules.
 */
@Global()
@Module({ providers: [RequestIdMiddleware] })
export class SecureApiRequestIdModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(RequestIdMiddleware).forRoutes({ path: '{*path}', method: RequestMethod.ALL });
  }
}
