import { type SecureApiErrorCode } from './secure-api-error-code.js';

/**
 * A code an application gives its own problems, e.g. `'ERR_THUMBNAIL_SOURCE_TOO_LARGE'`, so that
 * they go through the module's exception filter like its own: `new SecureApiHttpError(code, …)`.
 * The `ERR_SECURE_API_` prefix is the module's.
 */
export type ApplicationErrorCode = `ERR_${string}`;

/**
 * Base class of every error raised by `@secure-api/nestjs`.
 *
 * @example
 * if (err instanceof SecureApiError && err.code === SecureApiErrorCode.INVALID_OPTIONS) { ... }
 */
export class SecureApiError extends Error {
  /** Stable, documented code; see {@link SecureApiErrorCode} (or the application's own). */
  readonly code: SecureApiErrorCode | ApplicationErrorCode;

  constructor(
    code: SecureApiErrorCode | ApplicationErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}
