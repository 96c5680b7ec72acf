import { type IncomingMessage, type ServerResponse } from 'node:http';
import {
  Global,
  Inject,
  Injectable,
  type MiddlewareConsumer,
  Module,
  type NestMiddleware,
  type NestModule,
  Optional,
  RequestMethod,
} from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { SECURE_API_OPTIONS } from '../secure-api.constants.js';
import { type ResolvedSecureApiOptions } from '../secure-api.options.js';
import { requestLogOf } from './logger-params.js';
import { setRequestLogger } from './request-context.js';
import { acceptsClientRequestId, assignRequestId } from './request-id.js';

/**
 * First middleware of every request: gives it its id (`X-Request-Id`), and, when the process's
 * logger was configured by the module (its `logging`, or `SecureApiModule.loggerParams()`),
 * runs the rest of the request in nestjs-pino's request context with a child logger bound to
 * that id (what `PinoLogger` and `assign()` use), sets it as `req.log`, and writes the
 * request's completion line when the response is done. On Fastify @fastify/middie has set
 * `req.id` to Fastify's own counter by then; the module's id replaces it.
 */
@Injectable()
export class RequestIdMiddleware implements NestMiddleware<IncomingMessage, ServerResponse> {
  private readonly accept: boolean;

  constructor(
    @Inject(SECURE_API_OPTIONS) options: ResolvedSecureApiOptions,
    @Optional() private readonly pino?: PinoLogger,
  ) {
    this.accept = acceptsClientRequestId(options);
  }

  use(request: IncomingMessage, response: ServerResponse, next: () => void): void {
    const id = assignRequestId(request, response, this.accept);
    const pino = this.pino;
    const log = requestLogOf();
    if (pino === undefined || log === undefined) {
      next();
      return;
    }
    pino.runInContext(
      () => {
        // runInContext made the context's logger: the root's child with the request id.
        const logger = pino.logger;
        (request as IncomingMessage & { log?: unknown }).log = logger;
        setRequestLogger(request, logger);
        if (log.completionLine) log.watch(request, response, logger);
        next();
      },
      { bindings: { [log.requestIdKey]: id } },
    );
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
