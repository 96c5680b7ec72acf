// oidc-provider ships no type declarations and @types/oidc-provider is not a dependency: these
// are the few parts of its v9 API that the dev issuer uses, typed as narrowly as it needs them.
// The configuration object is checked by oidc-provider itself at construction.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  /** The Koa context oidc-provider hands to middleware and configuration helpers. */
  export interface ProviderContext {
    readonly req: IncomingMessage;
    readonly res: ServerResponse;
    readonly method: string;
    readonly path: string;
    status: number;
    body: unknown;
    set(field: string, value: string): void;
  }

  /** A Koa middleware mounted with `provider.use()`. */
  export type ProviderMiddleware = (
    ctx: ProviderContext,
    next: () => Promise<void>,
  ) => Promise<void> | void;

  /** The client metadata oidc-provider reads (RFC 7591 names). */
  export type ClientMetadata = Readonly<Record<string, string | readonly string[] | boolean>>;

  /** What `features.resourceIndicators.getResourceServerInfo` returns. */
  export interface ResourceServerInfo {
    scope: string;
    audience: string;
    accessTokenTTL: number;
    accessTokenFormat: 'jwt' | 'opaque';
    jwt?: { sign: { alg: string } };
  }

  /** The subset of the provider configuration the dev issuer sets. */
  export interface Configuration {
    clients: readonly ClientMetadata[];
    clientDefaults: ClientMetadata;
    clientAuthMethods: readonly string[];
    jwks: { keys: readonly object[] };
    scopes: readonly string[];
    claims?: Readonly<Record<string, readonly string[] | null>>;
    responseTypes: readonly string[];
    cookies: { keys: readonly string[] };
    pkce: { required: () => boolean };
    ttl: Readonly<Record<string, number>>;
    discovery: Readonly<Record<string, unknown>>;
    enabledJWA: Readonly<Record<string, readonly string[]>>;
    clientBasedCORS: (ctx: ProviderContext, origin: string, client: unknown) => boolean;
    findAccount: (
      ctx: unknown,
      sub: string,
    ) => { accountId: string; claims: () => Readonly<Record<string, unknown>> };
    features: Readonly<Record<string, object>>;
    renderError?: (ctx: ProviderContext, out: Record<string, unknown>, error: Error) => void;
  }

  /** An OAuth error class of oidc-provider (`errors.InvalidTarget`…). */
  export type OidcErrorClass = new (description?: string) => Error;

  export const errors: {
    readonly InvalidTarget: OidcErrorClass;
  };

  /** The provider: a Koa application serving the OAuth 2.0 / OIDC endpoints. */
  export default class Provider {
    constructor(issuer: string, configuration: Configuration);
    readonly issuer: string;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    use(middleware: ProviderMiddleware): this;
    on(event: string, listener: (...args: unknown[]) => void): this;
  }
}
