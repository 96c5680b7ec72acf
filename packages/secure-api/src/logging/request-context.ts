import { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { type Principal } from '../auth/principal.js';
import {
  resolveClientAddress,
  TRUST_NONE,
  type TrustFunction,
} from '../throttling/client-address.js';

/** Who made a request, as it is logged: never the token, never the scopes. */
export interface LoggedPrincipal {
  /** The token's `sub`. */
  readonly sub?: string;
  /** The token's `client_id` (or `azp`). */
  readonly client_id?: string;
  /** The configured id of the API key, on a `@Public()` route that was sent one. */
  readonly api_key_id?: string;
  /** The mutual-TLS peer: its SPIFFE ID, else its certificate subject. */
  readonly peer?: string;
  readonly authMethod: 'bearer' | 'api-key' | 'mtls';
}

/** What a request was routed to, as it is logged: the route template, not the URL. */
export interface LoggedAction {
  /** `ControllerName.handler`. */
  readonly handler: string;
  readonly method: string;
  /** The route template (`/thumbnails/:id`), or `undefined` where the adapter does not say. */
  readonly route: string | undefined;
}

const ACTION = Symbol('secure-api.action');
const PRINCIPAL = Symbol('secure-api.principal');
const TRUST = Symbol('secure-api.trust');
const ADDRESS = Symbol('secure-api.clientAddress');
const LOGGER = Symbol('secure-api.requestLogger');
const PRINCIPAL_BOUND = Symbol('secure-api.principalBound');

interface Stamped {
  [ACTION]?: LoggedAction;
  [PRINCIPAL]?: LoggedPrincipal;
  [LOGGER]?: object;
  [PRINCIPAL_BOUND]?: true;
  [TRUST]?: TrustFunction;
  [ADDRESS]?: string | null;
}

type AnyRequest = IncomingMessage | { raw: IncomingMessage };

/** What {@link clientAddressOf} reads: a Node request, or a Fastify one wrapping it. */
export interface AddressedRequest {
  readonly headers: IncomingHttpHeaders;
  readonly socket?: { readonly remoteAddress?: string | undefined };
  readonly raw?: { readonly socket?: { readonly remoteAddress?: string | undefined } };
}

/**
 * The Node request under a Fastify request (`request.raw`), or the request itself: the
 * per-request facts below are kept on the Node request, where the request log, which sees only
 * that one, finds them on both adapters.
 */
export function rawRequestOf(request: AnyRequest): IncomingMessage & Stamped {
  return 'raw' in request ? request.raw : request;
}

/**
 * The request's connection: its socket on Express (`request.socket`) and Fastify
 * (`request.raw.socket`). What a keep-alive client repeats on every request (its token, its API
 * key) can be remembered per connection, in a `WeakMap` that lets go with the socket.
 */
export function connectionOf(request: unknown): object | undefined {
  const holder = request as { socket?: unknown; raw?: { socket?: unknown } } | null | undefined;
  const socket = holder?.raw?.socket ?? holder?.socket;
  return typeof socket === 'object' && socket !== null ? socket : undefined;
}

/**
 * What each connection last sent (a token, an API key) and what it came to, so that a keep-alive
 * client repeating it costs a string comparison instead of the computation. Held weakly by the
 * connection; a connection is only ever answered from what it sent itself.
 */
export class ConnectionMemo<T> {
  private readonly last = new WeakMap<object, { readonly input: string; readonly output: T }>();

  /** `compute(input)`, or what it gave for the same input last time on `connection`. */
  get(connection: object | undefined, input: string, compute: (input: string) => T): T {
    if (connection === undefined) return compute(input);
    const last = this.last.get(connection);
    if (last?.input === input) return last.output;
    const output = compute(input);
    this.last.set(connection, { input, output });
    return output;
  }
}

/** Records the route a request reached; done by the first guard, once per request. */
export function setAction(request: AnyRequest, action: LoggedAction): void {
  rawRequestOf(request)[ACTION] = action;
}

/** The route the request reached, if it reached one. */
export function actionOf(request: AnyRequest): LoggedAction | undefined {
  return rawRequestOf(request)[ACTION];
}

/**
 * The logged form of each principal object: the verified-token cache hands the same principal
 * to every request of a token, which then logs the same frozen object instead of a new one.
 */
const loggedPrincipals = new WeakMap<Principal, LoggedPrincipal>();

/** The logged form of a verified principal (frozen; the same object for the same principal). */
export function loggedPrincipal(principal: Principal): LoggedPrincipal {
  let logged = loggedPrincipals.get(principal);
  if (logged === undefined) {
    logged = Object.freeze(loggedFormOf(principal));
    loggedPrincipals.set(principal, logged);
  }
  return logged;
}

function loggedFormOf(principal: Principal): LoggedPrincipal {
  return {
    ...(principal.subject === undefined ? {} : { sub: principal.subject }),
    ...(principal.clientId === undefined ? {} : { client_id: principal.clientId }),
    ...(principal.peer === undefined
      ? {}
      : { peer: principal.peer.spiffeId ?? principal.peer.subject }),
    authMethod: principal.authMethod,
  };
}

/** Records who made the request, once authenticated (or identified by an API key). */
export function setPrincipal(request: AnyRequest, principal: LoggedPrincipal): void {
  rawRequestOf(request)[PRINCIPAL] = principal;
}

/** Who made the request, if anyone was authenticated. */
export function principalOf(request: AnyRequest): LoggedPrincipal | undefined {
  return rawRequestOf(request)[PRINCIPAL];
}

/** Records the logger the module made for the request (its request context's). */
export function setRequestLogger(request: AnyRequest, logger: object): void {
  rawRequestOf(request)[LOGGER] = logger;
}

/** The logger the module made for the request, if it made one. */
export function requestLoggerOf(request: AnyRequest): object | undefined {
  return rawRequestOf(request)[LOGGER];
}

/** Records that the principal is a binding of the request's own logger. */
export function markPrincipalBound(request: AnyRequest): void {
  rawRequestOf(request)[PRINCIPAL_BOUND] = true;
}

/**
 * Whether the principal is a binding of the request's own logger, so that the completion line,
 * written by that logger, has it already.
 */
export function isPrincipalBound(request: AnyRequest): boolean {
  return rawRequestOf(request)[PRINCIPAL_BOUND] === true;
}

/**
 * Which proxies the app believes (`throttle.trustProxy`; none without rate limits): the one
 * trust every part of the module resolves the client's address with.
 */
export function clientTrustOf(options: {
  readonly throttle: false | { readonly trust: TrustFunction };
}): TrustFunction {
  return options.throttle === false ? TRUST_NONE : options.throttle.trust;
}

/**
 * Records which proxies the app believes, so that every part of the module (rate limiter,
 * request log) resolves the client's address the same way, from {@link clientAddressOf}.
 */
export function setClientTrust(request: AnyRequest, trust: TrustFunction): void {
  rawRequestOf(request)[TRUST] = trust;
}

/**
 * The client's address per `throttle.trustProxy` (the socket peer unless proxies are trusted),
 * resolved once per request; `undefined` when it cannot be told.
 * @param trust used when the request carries none of its own (a request that never passed the
 *   module's middleware)
 */
export function clientAddressOf(
  request: AddressedRequest,
  trust: TrustFunction = TRUST_NONE,
): string | undefined {
  const raw = (request.raw ?? request) as Stamped;
  const cached = raw[ADDRESS];
  if (cached !== undefined) return cached ?? undefined;
  const socket = request.raw?.socket ?? request.socket;
  const address = resolveClientAddress(
    socket?.remoteAddress,
    request.headers['x-forwarded-for'],
    raw[TRUST] ?? trust,
  );
  raw[ADDRESS] = address ?? null;
  return address;
}
