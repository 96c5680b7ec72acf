import { type Logger } from '@nestjs/common';
import {
  allowInsecureRequests,
  ClientError,
  clientCredentialsGrant,
  ClientSecretBasic,
  ClientSecretPost,
  Configuration,
  customFetch,
  discovery,
  ResponseBodyError,
  WWWAuthenticateChallengeError,
  type CustomFetch,
} from 'openid-client';
import {
  HttpClientError,
  type OutboundTarget,
  TokenRequestFailedError,
} from './http-client.errors.js';
import { type ResolvedClientCredentials } from './http-client-options.js';

/** What {@link ClientCredentialsTokenSource} needs from the client. */
export interface TokenSourceDependencies {
  /** Sends the token (and discovery) requests: the client's dispatcher, so mTLS applies. */
  readonly fetch: CustomFetch;
  readonly allowInsecureHttp: boolean;
  /** openid-client's own timeout, as a backstop of the fetch's. */
  readonly timeoutMs: number;
  readonly logger: Logger;
}

interface CachedToken {
  readonly value: string;
  /** Epoch ms from which the token is replaced before use. */
  readonly refreshAt: number;
  /** Epoch ms of `expires_in`, measured from the request's start. */
  readonly expiresAt: number;
}

// RFC 6750 §2.1 b64token: what may follow "Bearer " without breaking the header.
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
// RFC 6749 §5.2: error codes are printable ASCII without '"' and '\'.
const OAUTH_ERROR = /^[\x20\x21\x23-\x5b\x5d-\x7e]{1,64}$/;

/**
 * Gets OAuth 2.0 access tokens with the client credentials grant (RFC 6749 §4.4, through
 * openid-client) and caches one in memory. Concurrent callers share one token request; the
 * token is replaced `refreshBeforeExpirySeconds` (at most half its lifetime) before
 * `expires_in` runs out, and while a still-valid token exists a failed refresh falls back to
 * it. Neither the secret nor a token is ever logged or put in an error; openid-client's errors
 * are not kept as `cause` because some hold the token response.
 */
export class ClientCredentialsTokenSource {
  #configuration: Promise<Configuration> | undefined;
  #cached: CachedToken | undefined;
  #inflight: Promise<string> | undefined;
  #warnedNoExpiry = false;

  constructor(
    private readonly options: ResolvedClientCredentials,
    private readonly dependencies: TokenSourceDependencies,
  ) {}

  /**
   * A token valid for now: the cached one, or a new one.
   * @throws TokenRequestFailedError
   */
  async token(): Promise<string> {
    const cached = this.#cached;
    const now = Date.now();
    if (cached && now < cached.refreshAt) return cached.value;
    this.#inflight ??= this.#request().finally(() => {
      this.#inflight = undefined;
    });
    if (cached === undefined || now >= cached.expiresAt) return this.#inflight;
    try {
      return await this.#inflight;
    } catch (error) {
      // The old token is still valid: a refresh failure need not fail the request.
      this.dependencies.logger.warn({
        msg: 'token refresh failed; the current token is used until it expires',
        code: error instanceof HttpClientError ? error.code : undefined,
        expiresInMs: cached.expiresAt - now,
      });
      return cached.value;
    }
  }

  /**
   * Drops the cached token if it is `token` (the upstream refused it), so that the next call
   * gets a new one; a token cached since by another caller is kept.
   */
  invalidate(token: string): void {
    if (this.#cached?.value === token) this.#cached = undefined;
  }

  async #request(): Promise<string> {
    const startedAt = Date.now();
    const config = await this.#config();
    const target = tokenTarget(config);
    const parameters: Record<string, string> = {};
    if (this.options.scope !== undefined) parameters['scope'] = this.options.scope;
    if (this.options.resource !== undefined) parameters['resource'] = this.options.resource;
    if (this.options.audience !== undefined) parameters['audience'] = this.options.audience;
    let response: Awaited<ReturnType<typeof clientCredentialsGrant>>;
    try {
      response = await clientCredentialsGrant(config, parameters);
    } catch (error) {
      throw await tokenFailure(error, target);
    }
    const tokenType = String(response.token_type);
    if (tokenType.toLowerCase() !== 'bearer') {
      throw new TokenRequestFailedError(target, {
        reason: `the token endpoint issued a token of type "${tokenType.slice(0, 20).replace(/[^\x21-\x7e]/g, '?')}"; only Bearer is supported`,
      });
    }
    const value = response.access_token;
    if (!B64TOKEN.test(value)) {
      throw new TokenRequestFailedError(target, {
        reason: 'the access token is not an RFC 6750 b64token, so it cannot go in a header',
      });
    }
    const expiresIn = response.expires_in;
    if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn <= 0) {
      this.#cached = undefined;
      if (!this.#warnedNoExpiry) {
        this.#warnedNoExpiry = true;
        this.dependencies.logger.warn({
          msg: 'the token endpoint sent no expires_in; each request gets a new token',
          origin: target.origin,
        });
      }
      return value;
    }
    const lifetimeMs = expiresIn * 1000;
    const earlyMs = Math.min(this.options.refreshBeforeExpirySeconds * 1000, lifetimeMs / 2);
    this.#cached = {
      value,
      refreshAt: startedAt + lifetimeMs - earlyMs,
      expiresAt: startedAt + lifetimeMs,
    };
    this.dependencies.logger.debug({
      msg: 'access token obtained',
      origin: target.origin,
      expiresIn,
      scope: response.scope,
    });
    return value;
  }

  #config(): Promise<Configuration> {
    this.#configuration ??= this.#configure().catch((error: unknown) => {
      // A failed discovery is tried again on the next request.
      this.#configuration = undefined;
      throw error;
    });
    return this.#configuration;
  }

  async #configure(): Promise<Configuration> {
    const { clientId, clientSecret, authMethod, tokenEndpoint, issuer } = this.options;
    const auth =
      authMethod === 'client_secret_post'
        ? ClientSecretPost(clientSecret)
        : ClientSecretBasic(clientSecret);
    const { fetch, allowInsecureHttp, timeoutMs } = this.dependencies;
    const timeout = Math.ceil(timeoutMs / 1000) + 1;
    if (tokenEndpoint !== undefined) {
      const config = new Configuration(
        { issuer: tokenEndpoint.origin, token_endpoint: tokenEndpoint.href },
        clientId,
        undefined,
        auth,
      );
      config[customFetch] = fetch;
      config.timeout = timeout;
      if (allowInsecureHttp) allowInsecureRequests(config);
      return config;
    }
    // resolveHttpClientOptions() sets exactly one of tokenEndpoint and issuer.
    const issuerUrl = issuer as URL;
    try {
      return await discovery(issuerUrl, clientId, undefined, auth, {
        [customFetch]: fetch,
        timeout,
        execute: allowInsecureHttp ? [allowInsecureRequests] : [],
      });
    } catch (error) {
      throw await tokenFailure(error, {
        method: 'GET',
        origin: issuerUrl.origin,
        path: `${issuerUrl.pathname.replace(/\/$/, '')}/.well-known/openid-configuration`,
      });
    }
  }
}

function tokenTarget(config: Configuration): OutboundTarget {
  const endpoint = config.serverMetadata().token_endpoint;
  const url = endpoint === undefined ? undefined : URL.parse(endpoint);
  return {
    method: 'POST',
    origin: url?.origin ?? '(no token endpoint)',
    path: url?.pathname ?? '',
  };
}

/** This client's own error in the chain of causes, if any (a network failure, a timeout). */
function ownError(error: unknown): HttpClientError | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth += 1) {
    if (current instanceof HttpClientError) return current;
    current = current.cause;
  }
  return undefined;
}

/** The `error` member of an OAuth error body, when it is a well-formed code. */
async function oauthErrorOf(response: Response): Promise<string | undefined> {
  try {
    const body: unknown = await response.json();
    const code =
      typeof body === 'object' && body !== null ? (body as { error?: unknown }).error : undefined;
    return typeof code === 'string' && OAUTH_ERROR.test(code) ? code : undefined;
  } catch {
    return undefined;
  }
}

async function tokenFailure(
  error: unknown,
  target: OutboundTarget,
): Promise<TokenRequestFailedError> {
  const own = ownError(error);
  if (own) {
    return new TokenRequestFailedError(target, {
      reason: `the authorization server could not be reached (${own.code})`,
      status: own.status,
      cause: own,
    });
  }
  if (error instanceof ResponseBodyError) {
    const oauthError = OAUTH_ERROR.test(error.error) ? error.error : undefined;
    return new TokenRequestFailedError(target, {
      reason: `the authorization server answered ${error.status}${oauthError ? ` ${oauthError}` : ''}`,
      status: error.status,
      oauthError,
    });
  }
  if (error instanceof WWWAuthenticateChallengeError) {
    // RFC 6749 §5.2: a client that authenticated with the Authorization header gets a 401 with
    // a challenge; openid-client leaves the JSON error body unread.
    const oauthError = await oauthErrorOf(error.response);
    return new TokenRequestFailedError(target, {
      reason: `the authorization server answered ${error.status}${oauthError ? ` ${oauthError}` : ''}`,
      status: error.status,
      oauthError,
    });
  }
  if (error instanceof ClientError) {
    const status = error.cause instanceof Response ? error.cause.status : undefined;
    return new TokenRequestFailedError(target, {
      reason:
        status === undefined
          ? `openid-client refused the answer (${String(error.code)})`
          : `the authorization server answered ${status} (${String(error.code)})`,
      status,
    });
  }
  return new TokenRequestFailedError(target, {
    reason: `unexpected ${error instanceof Error ? error.name : typeof error}`,
  });
}
