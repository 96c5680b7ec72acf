import { type ApplicationErrorCode, SecureApiError } from './secure-api.error.js';
import { type SecureApiErrorCode } from './secure-api-error-code.js';
import { type FieldError } from './problem-details.js';

/** What {@link SecureApiHttpError} carries besides its code. */
export interface SecureApiHttpErrorInit {
  /** HTTP status code (4xx or 5xx). */
  status: number;
  /** Short, human-readable summary of the problem type (RFC 9457 §3.1.4). */
  title: string;
  /** Explanation for this occurrence. Never contains anything the client sent. */
  detail: string;
  /** Response headers to add, such as `WWW-Authenticate` or `Retry-After`. */
  headers?: Readonly<Record<string, string>>;
  /**
   * The checks that failed, sent as the problem's `errors` extension member. Each entry must
   * be free of anything the client sent except member names.
   */
  errors?: readonly FieldError[];
  /** Internal reason for the log (a `TokenRejectionReason` for token errors); never sent. */
  reason?: string;
  cause?: unknown;
}

/**
 * An error that becomes an HTTP response: the global exception filter renders it as
 * `application/problem+json` with its status, code and headers. Applications raise their own
 * problems with it too, under their own codes (`ERR_THUMBNAIL_…`).
 *
 * `statusCode` mirrors `status` so that Nest's own exception handling (when an app replaces the
 * filter) still answers with the right status instead of a 500.
 */
export class SecureApiHttpError extends SecureApiError {
  readonly status: number;
  readonly statusCode: number;
  readonly title: string;
  readonly detail: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly reason: string | undefined;
  readonly errors: readonly FieldError[] | undefined;

  constructor(code: SecureApiErrorCode | ApplicationErrorCode, init: SecureApiHttpErrorInit) {
    super(code, init.detail, { cause: init.cause });
    this.status = init.status;
    this.statusCode = init.status;
    this.title = init.title;
    this.detail = init.detail;
    this.headers = Object.freeze({ ...init.headers });
    this.reason = init.reason;
    this.errors = init.errors && Object.freeze([...init.errors]);
  }
}
