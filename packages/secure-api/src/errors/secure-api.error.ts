import { type SecureApiErrorCode } from './secure-api-error-code.js';

/**
 * Base class of every error raised by `@secure-api/nestjs`.
 *
 * @example
 * if (err instanceof SecureApiError && err.code === SecureApiErrorCode.INVALID_OPTIONS) { ... }
 */
export class SecureApiError extends Error {
  /** Stable, documented code; see {@link SecureApiErrorCode}. */
  readonly code: SecureApiErrorCode;

  constructor(code: SecureApiErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}
