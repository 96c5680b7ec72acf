import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import Provider, { type ClientMetadata, type Configuration, errors } from 'oidc-provider';
import {
  certificateAuthorized,
  certificateSubjectMatches,
  peerCertificate,
} from './client-certificate.js';
import {
  type DevIssuerOptions,
  type ResolvedDevIssuerOptions,
  type ResolvedMachineClient,
  resolveDevIssuerOptions,
} from './dev-issuer.options.js';
import { createSigningKey } from './signing-key.js';
import { tokenRateLimit } from './token-rate-limit.middleware.js';

/** Lifetime of access tokens, seconds. */
export const ACCESS_TOKEN_TTL_SECONDS = 300;

const HOST = '127.0.0.1';
const TOKEN_PATH = '/token';

/** A registered client, as `DevIssuer.clients` lists it. */
export interface DevIssuerClient {
  readonly clientId: string;
  /** `client_secret_basic`, `tls_client_auth`, or `none` (the PKCE user client). */
  readonly authMethod: 'client_secret_basic' | 'tls_client_auth' | 'none';
  /** The secret, for `client_secret_basic`. */
  readonly clientSecret: string | undefined;
  readonly scopes: readonly string[];
}

/** A running dev issuer; see {@link startDevIssuer}. */
export interface DevIssuer {
  /** The issuer identifier and `iss` of its tokens: `http://127.0.0.1:PORT`. */
  readonly issuer: string;
  /** `<issuer>/.well-known/openid-configuration`. */
  readonly discoveryUri: string;
  /** `<issuer>/jwks`: one ES256 public key. */
  readonly jwksUri: string;
  /** `<issuer>/token`, plain HTTP: `client_secret_basic` and the PKCE client. */
  readonly tokenEndpoint: string;
  /** `<issuer>/auth`. */
  readonly authorizationEndpoint: string;
  /**
   * `https://127.0.0.1:TLS_PORT/token`, the mutual-TLS alias of the token endpoint (RFC 8705
   * §5), advertised as `mtls_endpoint_aliases.token_endpoint`; `undefined` without `tls`.
   */
  readonly mtlsTokenEndpoint: string | undefined;
  /** The resource indicator: the `aud` of every access token. */
  readonly resource: string;
  /** Every registered client by `client_id`, secrets included. */
  readonly clients: Readonly<Record<string, DevIssuerClient>>;
  /** Stops both servers and drops open connections. Safe to call twice. */
  close(): Promise<void>;
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, HOST, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function stop(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function machineClientMetadata(client: ResolvedMachineClient): ClientMetadata {
  const common = {
    client_id: client.clientId,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: client.scopes.join(' '),
  };
  if (client.authMethod === 'client_secret_basic') {
    return {
      ...common,
      client_secret: client.clientSecret,
      token_endpoint_auth_method: 'client_secret_basic',
    };
  }
  const { sanUri, sanDns, subjectDn } = client.tlsClientAuth;
  return {
    ...common,
    token_endpoint_auth_method: 'tls_client_auth',
    tls_client_certificate_bound_access_tokens: true,
    ...(sanUri !== undefined ? { tls_client_auth_san_uri: sanUri } : {}),
    ...(sanDns !== undefined ? { tls_client_auth_san_dns: sanDns } : {}),
    ...(subjectDn !== undefined ? { tls_client_auth_subject_dn: subjectDn } : {}),
  };
}

function providerConfiguration(
  options: ResolvedDevIssuerOptions,
  mtlsTokenEndpoint: string | undefined,
): Configuration {
  const { resource, scopes, userClient } = options;
  const clients: ClientMetadata[] = options.clients.map(machineClientMetadata);
  if (userClient !== undefined) {
    clients.push({
      client_id: userClient.clientId,
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: userClient.redirectUris,
      scope: ['openid', ...userClient.scopes].join(' '),
    });
  }
  const methods = new Set<string>(options.clients.map((client) => client.authMethod));
  if (userClient !== undefined) methods.add('none');
  if (methods.size === 0) methods.add('client_secret_basic');
  return {
    clients,
    // The default is RS256, which the one ES256 key cannot sign: oidc-provider would refuse
    // every client (machine ones included) as invalid_client_metadata at its first request.
    clientDefaults: { id_token_signed_response_alg: 'ES256' },
    clientAuthMethods: [...methods],
    jwks: { keys: [createSigningKey()] },
    scopes: ['openid', ...scopes],
    responseTypes: ['code'],
    // Signed cookies (interaction and session) with a key that lives as long as the process.
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    // Every authorization request needs S256 PKCE, not only the public client's (RFC 9700 §2.1.1).
    pkce: { required: () => true },
    ttl: {
      AccessToken: ACCESS_TOKEN_TTL_SECONDS,
      ClientCredentials: ACCESS_TOKEN_TTL_SECONDS,
      AuthorizationCode: 60,
      IdToken: ACCESS_TOKEN_TTL_SECONDS,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
    },
    discovery:
      mtlsTokenEndpoint === undefined
        ? {}
        : { mtls_endpoint_aliases: { token_endpoint: mtlsTokenEndpoint } },
    enabledJWA: { idTokenSigningAlgValues: ['ES256'] },
    clientBasedCORS: () => false,
    findAccount: (_ctx: unknown, sub: string) => ({
      accountId: sub,
      claims: () => ({ sub }),
    }),
    features: {
      clientCredentials: { enabled: true },
      // On by default in oidc-provider; the service accepts bearer and mTLS-bound tokens only,
      // and the dev issuer serves no client that needs pushed authorization requests.
      dPoP: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      // The built-in login and consent pages: any login name is accepted, the password is not
      // checked, and the name becomes the token's `sub`. Development only, by design.
      devInteractions: { enabled: true },
      // The service reads its tokens' claims; it needs no userinfo endpoint, and without one
      // every access token is a JWT for the resource, `openid` requested or not.
      userinfo: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => resource,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, indicator: string) => {
          if (indicator !== resource) throw new errors.InvalidTarget();
          return {
            scope: scopes.join(' '),
            audience: resource,
            accessTokenTTL: ACCESS_TOKEN_TTL_SECONDS,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          };
        },
      },
      mTLS: {
        enabled: mtlsTokenEndpoint !== undefined,
        certificateBoundAccessTokens: true,
        tlsClientAuth: true,
        getCertificate: peerCertificate,
        certificateAuthorized,
        certificateSubjectMatches,
      },
    },
  };
}

/**
 * Starts a development OAuth 2.0 / OpenID Connect authorization server on `oidc-provider`, on
 * 127.0.0.1, for development and tests only: signing key, cookie keys and every grant live in
 * memory and are gone when it stops.
 *
 * - The issuer, discovery, JWKS, authorization and token endpoints are plain HTTP on loopback,
 *   which `@secure-api/nestjs` fetches keys from without any CA setup.
 * - With `tls`, a second, HTTPS listener asks for client certificates and serves the same
 *   provider: its token endpoint is the `mtls_endpoint_aliases.token_endpoint` of RFC 8705 §5,
 *   where `tls_client_auth` clients get certificate-bound tokens.
 * - Access tokens are JWTs (`typ: at+jwt`, ES256, RFC 9068) for `resource`, valid 5 minutes.
 * - The token endpoints together allow `tokenRateLimit` requests per client IP (5 a minute).
 *
 * @example
 * const dev = await startDevIssuer({
 *   resource: 'https://thumbnails.local',
 *   scopes: ['thumbnails.write', 'thumbnails.read'],
 *   clients: [{ clientId: 'uploader', scopes: ['thumbnails.write'] }],
 * });
 * SecureApiModule.forRoot({ auth: { issuer: dev.issuer, audience: dev.resource } });
 * await dev.close();
 */
export async function startDevIssuer(options: DevIssuerOptions): Promise<DevIssuer> {
  const resolved = resolveDevIssuerOptions(options);
  const { tls } = resolved;
  const http = createServer();
  const https =
    tls === undefined
      ? undefined
      : createHttpsServer({
          ca: typeof tls.ca === 'string' ? tls.ca : [...tls.ca],
          cert: tls.cert,
          key: tls.key,
          minVersion: 'TLSv1.2',
          // oidc-provider decides per client whether a certificate is needed, and whether it
          // chains to `ca` (socket.authorized); a handshake without one must still succeed.
          requestCert: true,
          rejectUnauthorized: false,
        });
  const servers = https === undefined ? [http] : [http, https];
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= Promise.all(servers.map(stop)).then(() => undefined));
  try {
    const port = await listen(http, resolved.port);
    const tlsPort = https === undefined ? undefined : await listen(https, tls?.port ?? 0);
    const issuer = `http://${HOST}:${port}`;
    const mtlsTokenEndpoint =
      tlsPort === undefined ? undefined : `https://${HOST}:${tlsPort}${TOKEN_PATH}`;
    const provider = new Provider(issuer, providerConfiguration(resolved, mtlsTokenEndpoint));
    if (resolved.tokenRateLimit !== false) {
      provider.use(tokenRateLimit({ path: TOKEN_PATH, ...resolved.tokenRateLimit }));
    }
    const handler = provider.callback();
    for (const server of servers) server.on('request', handler);

    const clients: Record<string, DevIssuerClient> = {};
    for (const { clientId, authMethod, clientSecret, scopes } of resolved.clients) {
      clients[clientId] = Object.freeze({ clientId, authMethod, clientSecret, scopes });
    }
    if (resolved.userClient !== undefined) {
      const { clientId, scopes } = resolved.userClient;
      clients[clientId] = Object.freeze({
        clientId,
        authMethod: 'none',
        clientSecret: undefined,
        scopes,
      });
    }
    return Object.freeze({
      issuer,
      discoveryUri: `${issuer}/.well-known/openid-configuration`,
      jwksUri: `${issuer}/jwks`,
      tokenEndpoint: `${issuer}${TOKEN_PATH}`,
      authorizationEndpoint: `${issuer}/auth`,
      mtlsTokenEndpoint,
      resource: resolved.resource,
      clients: Object.freeze(clients),
      close,
    });
  } catch (error) {
    await close();
    throw error;
  }
}
