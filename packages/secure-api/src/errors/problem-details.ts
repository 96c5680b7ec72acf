import { STATUS_CODES } from 'node:http';

/** The `application/problem+json` media type (RFC 9457 §3). */
export const PROBLEM_JSON = 'application/problem+json';

/** An RFC 9457 problem details object with the members this package always sets. */
export interface ProblemDetails {
  /** URI reference identifying the problem type; `urn:secure-api:problem:<name>`. */
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  /** Stable machine-readable code; see `SecureApiErrorCode`. */
  readonly code: string;
  readonly [extension: string]: unknown;
}

/**
 * One failed check of a request's body, query string or route parameters, as listed in the
 * `errors` member of a `ERR_SECURE_API_VALIDATION_FAILED` problem.
 *
 * @example { in: 'body', pointer: '/size/width', detail: 'must not be greater than 4096' }
 */
export interface FieldError {
  /** Which part of the request failed: the JSON body, the query string or the path. */
  readonly in: 'body' | 'query' | 'path';
  /**
   * JSON Pointer (RFC 6901) to the failing member: `/items/0/name` in the body, `/page` for
   * the query parameter `page`, `/id` for the route parameter `id`; `''` for the whole part.
   */
  readonly pointer: string;
  /** What is wrong, without the property name and without the submitted value. */
  readonly detail: string;
}

/**
 * Maps a code such as `ERR_SECURE_API_TOKEN_INVALID` to the problem type
 * `urn:secure-api:problem:token-invalid`. A URN, because the project owns no domain whose
 * pages it could promise to keep; the `code` member is what clients should match on.
 */
export function problemTypeFor(code: string): string {
  const name = code
    .replace(/^ERR_(SECURE_API_)?/, '')
    .toLowerCase()
    .replace(/_/g, '-');
  return `urn:secure-api:problem:${name}`;
}

/** The reason phrase for a status, for titles of errors that carry none of their own. */
export function statusTitle(status: number): string {
  return STATUS_CODES[status] ?? 'Error';
}

/** Builds a problem details object. */
export function problemDetails(
  code: string,
  status: number,
  title: string,
  detail: string,
  extensions?: Readonly<Record<string, unknown>>,
): ProblemDetails {
  return { type: problemTypeFor(code), title, status, detail, code, ...extensions };
}
