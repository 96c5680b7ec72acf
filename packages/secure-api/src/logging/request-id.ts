import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type ServerResponse } from 'node:http';

const REQUEST_ID = Symbol('secure-api.requestId');

type WithRequestId = IncomingMessage & { [REQUEST_ID]?: string };

/**
 * Whether a client's well-formed `X-Request-Id` is used (`logging.acceptRequestId`; with logging
 * off, the default). One answer for every part of the module that assigns the id.
 */
export function acceptsClientRequestId(options: {
  readonly logging: false | { readonly acceptRequestId: boolean };
}): boolean {
  return options.logging === false || options.logging.acceptRequestId;
}

/** The response header that carries the request id. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** What a client-sent `X-Request-Id` must look like to be used: short, and safe in any log. */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * Gives the request its id, once: the client's `X-Request-Id` when `accept` is set and it is
 * one header matching {@link REQUEST_ID_PATTERN} (so that a chain of services shares one id),
 * otherwise a fresh random UUID. Sends it back as `X-Request-Id` and keeps it on the raw request,
 * where problem+json errors and log lines find it. A second call returns the id already given.
 *
 * Anything else a client sends (too long, control characters, two headers) is dropped rather
 * than cleaned: a cleaned id would no longer match what the client logged.
 */
export function assignRequestId(
  request: IncomingMessage,
  response: ServerResponse,
  accept = true,
): string {
  const given = (request as WithRequestId)[REQUEST_ID];
  if (given !== undefined) return given;
  const header = request.headers[REQUEST_ID_HEADER];
  const id =
    accept && typeof header === 'string' && REQUEST_ID_PATTERN.test(header) ? header : randomUUID();
  (request as WithRequestId)[REQUEST_ID] = id;
  // `req.id` too, as pino-http and other middleware read it; @fastify/middie sets it to
  // Fastify's own request counter before any middleware runs.
  (request as WithRequestId & { id?: unknown }).id = id;
  if (!response.headersSent) response.setHeader(REQUEST_ID_HEADER, id);
  return id;
}

/**
 * The id {@link assignRequestId} gave the request, from the raw Node request or from a
 * Fastify request wrapping it (`request.raw`); `undefined` when the request never reached the
 * module's middleware.
 */
export function requestIdOf(request: unknown): string | undefined {
  if (typeof request !== 'object' || request === null) return undefined;
  const raw: unknown = 'raw' in request ? request.raw : request;
  if (typeof raw !== 'object' || raw === null) return undefined;
  return (raw as WithRequestId)[REQUEST_ID];
}
