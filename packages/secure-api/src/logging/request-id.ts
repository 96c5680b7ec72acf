import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type ServerResponse } from 'node:http';

const REQUEST_ID = Symbol('secure-api.requestId');

type WithRequestId = IncomingMessage & { [REQUEST_ID]?: string };

/** The response header that carries the request id. */
export const REQUEST_ID_HEADER = 'x-request-id';

/**
 * Gives the request a fresh random id (a UUID), sends it as `X-Request-Id` and keeps it on the
 * raw request, where problem+json errors and log lines find it. An id the client sends is not
 * reused: it would let a client choose what operators search the logs for.
 */
export function assignRequestId(request: IncomingMessage, response: ServerResponse): string {
  const id = randomUUID();
  (request as WithRequestId)[REQUEST_ID] = id;
  response.setHeader(REQUEST_ID_HEADER, id);
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
