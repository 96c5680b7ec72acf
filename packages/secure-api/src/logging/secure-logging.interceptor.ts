import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
  Optional,
} from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { type Observable, tap } from 'rxjs';
import { actionOf } from './request-context.js';

interface HandledRequest {
  readonly body?: unknown;
  readonly query?: unknown;
  readonly params?: unknown;
}

/** Most top-level member names listed in a response summary. */
const MAX_SUMMARY_KEYS = 20;

/** What a response body was, without its values: its type, size and top-level member names. */
function summarise(value: unknown): Record<string, unknown> {
  if (Array.isArray(value)) return { type: 'array', length: value.length };
  if (value === null || value === undefined) return { type: String(value) };
  if (Buffer.isBuffer(value)) return { type: 'buffer', bytes: value.length };
  if (typeof value === 'object') {
    const keys = Object.keys(value);
    return {
      type: 'object',
      keys: keys.slice(0, MAX_SUMMARY_KEYS),
      ...(keys.length > MAX_SUMMARY_KEYS ? { moreKeys: keys.length - MAX_SUMMARY_KEYS } : {}),
    };
  }
  return typeof value === 'string'
    ? { type: 'string', length: value.length }
    : { type: typeof value };
}

/**
 * Logs, at `debug`, what a handler was given (the validated body, query and route parameters)
 * and a summary of what it answered (type, size, member names, never values), so that turning
 * the level to `debug` during an incident shows what happened. Everything goes through the
 * masker like any other line. At `info` and above it costs one level check per request.
 *
 * Installed globally by `SecureApiModule` when logging is on; exported for apps that want it on
 * some controllers only (`@UseInterceptors(SecureLoggingInterceptor)`).
 */
@Injectable()
export class SecureLoggingInterceptor implements NestInterceptor {
  constructor(@Optional() private readonly pino?: PinoLogger) {
    pino?.setContext(SecureLoggingInterceptor.name);
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const pino = this.pino;
    if (
      pino === undefined ||
      context.getType() !== 'http' ||
      !pino.logger.isLevelEnabled('debug')
    ) {
      return next.handle();
    }
    const request = context.switchToHttp().getRequest<HandledRequest>();
    const action = actionOf(request as Parameters<typeof actionOf>[0]);
    pino.debug(
      { action, body: request.body, query: request.query, params: request.params },
      'handler called',
    );
    return next.handle().pipe(
      tap({
        next: (value: unknown) => {
          pino.debug({ action, response: summarise(value) }, 'handler returned');
        },
        error: (error: unknown) => {
          pino.debug({ action, err: error }, 'handler threw');
        },
      }),
    );
  }
}
