import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpException,
  Logger,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { requestIdOf } from '../logging/request-id.js';
import { logSecurityEvent, SecurityEvent } from '../logging/security-event.js';
import { bodyParseFailureOf } from './body-parse-failure.js';
import { SecureApiHttpError } from './secure-api-http.error.js';
import { SecureApiErrorCode } from './secure-api-error-code.js';
import {
  PROBLEM_JSON,
  type ProblemDetails,
  problemDetails,
  statusTitle,
} from './problem-details.js';

const GENERIC_DETAIL: Readonly<Record<number, string>> = {
  400: 'The request is not valid.',
  401: 'This resource requires authentication.',
  403: 'Access to this resource is denied.',
  404: 'The requested resource does not exist.',
  405: 'The method is not allowed for this resource.',
  406: 'No acceptable representation is available.',
  408: 'The request took too long.',
  409: 'The request conflicts with the current state of the resource.',
  413: 'The request body is too large.',
  415: 'The request body has an unsupported media type.',
  429: 'Too many requests.',
  500: 'An unexpected error occurred.',
  501: 'The method is not implemented.',
  502: 'An upstream service failed.',
  503: 'The service is unavailable right now.',
  504: 'An upstream service did not answer in time.',
};

/** Refusals of what a request carries, logged as {@link SecurityEvent.VALIDATION_REJECTED}. */
const VALIDATION_CODES: ReadonlySet<string> = new Set([
  SecureApiErrorCode.VALIDATION_FAILED,
  SecureApiErrorCode.MALFORMED_BODY,
  SecureApiErrorCode.BODY_TOO_LARGE,
  SecureApiErrorCode.UNSUPPORTED_MEDIA_TYPE,
  SecureApiErrorCode.BODY_FORBIDDEN_MEMBER,
  SecureApiErrorCode.BODY_TOO_DEEP,
  SecureApiErrorCode.METHOD_OVERRIDE,
]);

/**
 * The one exception filter: every error becomes an `application/problem+json` response
 * (RFC 9457) with a stable `code` and the `requestId` also sent as `X-Request-Id`, and nothing the client sent (token, body, path) and no stack
 * trace is written into it. Errors this package raises keep their status, code and headers;
 * Nest's and the application's `HttpException`s keep their status with a generic detail (their
 * messages may quote the request, such as Nest's "Cannot GET /path"); a body the adapter
 * refused (malformed JSON, too large, unsupported media type) gets its own code on Express
 * and Fastify alike; any other error is a 500.
 * Details of every 5xx go only to the log.
 */
@Catch()
export class SecureApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('SecureApi');

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const { problem, headers } = this.toProblem(exception);
    const adapter = this.adapterHost.httpAdapter;
    const http = host.switchToHttp();
    const response: unknown = http.getResponse();
    const requestId = requestIdOf(http.getRequest());
    const body = requestId === undefined ? problem : { ...problem, requestId };
    for (const [name, value] of Object.entries(headers)) adapter.setHeader(response, name, value);
    adapter.setHeader(response, 'content-type', PROBLEM_JSON);
    // Errors about credentials or from a handler must never be stored by a shared cache.
    adapter.setHeader(response, 'cache-control', 'no-store');
    adapter.reply(response, JSON.stringify(body), problem.status);
  }

  private toProblem(exception: unknown): {
    problem: ProblemDetails;
    headers: Readonly<Record<string, string>>;
  } {
    if (exception instanceof SecureApiHttpError) {
      this.logEvent(exception);
      return {
        problem: problemDetails(
          exception.code,
          exception.status,
          exception.title,
          exception.detail,
          exception.errors === undefined ? undefined : { errors: exception.errors },
        ),
        headers: exception.headers,
      };
    }
    const bodyFailure = bodyParseFailureOf(exception);
    if (bodyFailure !== undefined) {
      const { code, status, detail } = bodyFailure;
      logSecurityEvent(this.logger, SecurityEvent.VALIDATION_REJECTED, `Request refused: ${code}`, {
        code,
      });
      return { problem: problemDetails(code, status, statusTitle(status), detail), headers: {} };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      if (status >= 500) {
        this.logger.error({ msg: `HTTP ${status} raised while serving a request`, err: exception });
      }
      const code = status === 404 ? SecureApiErrorCode.NOT_FOUND : SecureApiErrorCode.HTTP_ERROR;
      return {
        problem: problemDetails(
          code,
          status,
          statusTitle(status),
          GENERIC_DETAIL[status] ?? 'The request could not be processed.',
        ),
        headers: {},
      };
    }
    // The error itself, not its stack: the log's masker then walks its `cause` chain too.
    this.logger.error({
      msg: 'Unhandled error while serving a request',
      err: exception instanceof Error ? exception : String(exception),
    });
    return {
      problem: problemDetails(
        SecureApiErrorCode.INTERNAL,
        500,
        statusTitle(500),
        'An unexpected error occurred.',
      ),
      headers: {},
    };
  }

  /**
   * The refusals no guard logs itself (authentication and authorization failures are logged
   * where their reason is known) become security events: schema and body refusals with their
   * JSON Pointers, rate-limit hits with their tier, refused API keys.
   */
  private logEvent(error: SecureApiHttpError): void {
    const { code } = error;
    if (code === SecureApiErrorCode.RATE_LIMITED) {
      const tier = error.reason ?? 'unknown';
      logSecurityEvent(this.logger, SecurityEvent.RATE_LIMITED, `Rate limit hit: tier ${tier}`, {
        tier,
      });
    } else if (code === SecureApiErrorCode.API_KEY_INVALID) {
      const reason = `api-key-${error.reason ?? 'invalid'}`;
      logSecurityEvent(this.logger, SecurityEvent.AUTH_FAILURE, `API key refused: ${reason}`, {
        reason,
      });
    } else if (VALIDATION_CODES.has(code)) {
      const pointers = (error.errors ?? []).map(({ pointer }) => pointer);
      logSecurityEvent(this.logger, SecurityEvent.VALIDATION_REJECTED, `Request refused: ${code}`, {
        code,
        ...(pointers.length === 0 ? {} : { pointers }),
      });
    }
  }
}
