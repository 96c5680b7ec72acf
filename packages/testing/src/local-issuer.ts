import {
  createHash,
  generateKeyPairSync,
  randomUUID,
  timingSafeEqual,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  CURVE_BY_ALGORITHM,
  SIGNING_ALGORITHMS,
  encodeSegment,
  isHmacAlgorithm,
  isSigningAlgorithm,
  signJws,
  type JwsSigner,
  type SigningAlgorithm,
} from './jwt-signing.js';

/** One signing key of a {@link LocalIssuer}. */
export interface IssuerKey {
  /** Key id, sent as `kid` in token headers and in the JWK. */
  readonly kid: string;
  /** The algorithm the key is for. */
  readonly alg: SigningAlgorithm;
  /** Signs tokens; never served. */
  readonly privateKey: KeyObject;
  /** The public half, as published. */
  readonly publicKey: KeyObject;
  /** The public JWK as served at `/jwks`: `kty`, key material, `kid`, `use: 'sig'`, `alg`; never private parts. */
  readonly publicJwk: JsonWebKey;
}

/** Options of {@link createLocalIssuer}. */
export interface LocalIssuerOptions {
  /**
   * Algorithms to create one key each for at start; each becomes the current key for its
   * algorithm and is published.
   * @default ['RS256', 'PS256', 'ES256']
   */
  algorithms?: SigningAlgorithm[];
  /**
   * Default audience (`aud`) of minted tokens.
   * @default 'https://api.test.local'
   */
  audience?: string;
  /**
   * Path appended to the issuer URL, e.g. `'/tenant-a'`. Empty, or starting and not ending with `/`.
   * @default ''
   */
  path?: string;
  /**
   * Host to bind; an IPv6 address such as `'::1'` is put in brackets in the URL.
   * @default '127.0.0.1'
   */
  host?: string;
  /**
   * OAuth clients the token endpoint knows from the start; see {@link LocalIssuer.registerClient}.
   * @default []
   */
  clients?: IssuerClient[];
  /**
   * `expires_in` (and token lifetime) of tokens issued at the token endpoint, for clients
   * without their own `expiresInSeconds`. Changeable with `setTokenExpiresIn()`.
   * @default 300
   */
  tokenExpiresInSeconds?: number;
}

/** An OAuth 2.0 client of the token endpoint (RFC 6749 §2). */
export interface IssuerClient {
  /** `client_id`; becomes the `sub` and `client_id` claims of its tokens. */
  readonly clientId: string;
  /** The secret, checked for `client_secret_basic` and `client_secret_post`. */
  readonly clientSecret: string;
  /**
   * Scopes the client may ask for; a request without `scope` is granted all of them.
   * @default []
   */
  readonly scopes?: readonly string[];
  /**
   * `expires_in` of this client's tokens.
   * @default the issuer's `tokenExpiresInSeconds`
   */
  readonly expiresInSeconds?: number;
}

/** One request to the token endpoint, as {@link LocalIssuer.tokenRequestLog} records it. */
export interface TokenRequestRecord {
  /** The method used; only `POST` is served. */
  readonly method: string;
  /** The authenticated (or claimed) client id, if any. */
  readonly clientId: string | undefined;
  /** How the client authenticated, if it tried. */
  readonly authMethod: 'client_secret_basic' | 'client_secret_post' | undefined;
  /** `grant_type` as sent. */
  readonly grantType: string | undefined;
  /** `scope` as sent. */
  readonly scope: string | undefined;
  /** The status answered: 200, or the error's. */
  readonly status: number;
  /** The RFC 6749 §5.2 `error` code answered, if any. */
  readonly error: string | undefined;
}

/** Options of {@link LocalIssuer.mint}. Shortcuts apply first, then `scope`, then `claims`. */
export interface MintOptions {
  /**
   * Signature algorithm. `header.alg` may claim another one: the signature is always made for
   * this `alg`, which is how alg-mismatch tokens are built.
   * @default key?.alg ?? 'RS256'
   */
  alg?: SigningAlgorithm | 'none' | 'HS256';
  /**
   * Key to sign with. For `'none'` and `'HS256'` only its `kid` goes into the header (and, for
   * `'HS256'` without `hmacSecret`, its public key PEM becomes the HMAC secret).
   * @default the issuer's current key for `alg`
   */
  key?: IssuerKey;
  /** HMAC secret for alg `'HS256'` (e.g. the RSA public key PEM, for key-confusion attacks). */
  hmacSecret?: string | Buffer;
  /** Merged over the default claims; a claim set to `undefined` is removed. */
  claims?: Record<string, unknown>;
  /** Merged over the default header `{ alg, typ: 'JWT', kid }`; a field set to `undefined` is removed. */
  header?: Record<string, unknown>;
  /** Space-joined into the `scope` claim (RFC 8693 §4.2). No `scope` claim by default. */
  scope?: string | string[];
  /**
   * The `sub` claim.
   * @default 'user-123'
   */
  subject?: string;
  /**
   * Lifetime: `exp = iat + expiresInSeconds`. Negative values give an already expired token.
   * @default 300
   */
  expiresInSeconds?: number;
  /** `exp = now - 3600`, `iat = now - 7200`. */
  expired?: boolean;
  /** `nbf = now + 3600`. */
  notYetValid?: boolean;
  /** `aud = 'https://someone-else.test'`. */
  wrongAudience?: boolean;
  /** `iss = 'https://evil.test'`. */
  wrongIssuer?: boolean;
}

/** How `GET /jwks` answers. */
export interface JwksBehaviour {
  /**
   * - `ok`: 200 with the published key set;
   * - `error`: 503 with a problem+json body;
   * - `garbage`: 200, `application/json`, with a body that is not JSON;
   * - `hang`: accepts the request and never answers (until `close()`);
   * - `empty`: 200 with `{"keys":[]}`.
   */
  mode: 'ok' | 'error' | 'garbage' | 'hang' | 'empty';
}

/** A token issuer on loopback: keys, a real JWKS and discovery endpoints, and token minting. */
export interface LocalIssuer {
  /** Issuer identifier (`iss`), e.g. `'http://127.0.0.1:41234'` plus the configured path. */
  readonly url: string;
  /** `${url}/jwks` */
  readonly jwksUri: string;
  /** `${url}/.well-known/openid-configuration` */
  readonly discoveryUri: string;
  /**
   * `${url}/token`: the client credentials grant (RFC 6749 §4.4) for registered clients, with
   * `client_secret_basic` or `client_secret_post`; answers `{ access_token, token_type: 'Bearer',
   * expires_in, scope }` with a token from `mint()`, or an RFC 6749 §5.2 error.
   */
  readonly tokenEndpoint: string;
  /** Default `aud` of minted tokens. */
  readonly audience: string;
  /** The TCP port the issuer listens on. */
  readonly port: number;
  /**
   * Current key per algorithm (the one `mint()` uses by default).
   * @throws TypeError when the issuer has no key for `alg` yet (see `algorithms`, `rotate()`).
   */
  key(alg: SigningAlgorithm): IssuerKey;
  /** Every key currently published in the JWKS (raw JWKs not included). */
  readonly publishedKeys: readonly IssuerKey[];
  /**
   * Synchronously signs and returns a compact JWS. Default claims: `iss = url`,
   * `aud = audience`, `sub`, `client_id = 'client-abc'`, `iat = now`, `exp = now + 300`,
   * `jti` random, where `now = Math.floor(Date.now() / 1000)` so that a faked `Date` applies.
   *
   * @example
   * const token = issuer.mint({ scope: ['images:read'], claims: { tenant: 'a' } });
   */
  mint(options?: MintOptions): string;
  /**
   * Signs arbitrary header and payload, for raw attack tokens. Objects are JSON-encoded,
   * strings are used as they are before base64url. The scheme follows `header.alg`:
   * RS/PS/ES with `key` (default: the current key for that alg); HS256/384/512 with
   * `{ hmacSecret }` or with an `IssuerKey`, whose public key PEM is then the secret; any other
   * alg (`none`, `nOnE`) only without a key, giving an empty signature. When the header has no
   * readable `alg` (missing, or a string that is not JSON), the key decides: its own alg, HS256
   * for `{ hmacSecret }`, an empty signature without a key.
   *
   * @example
   * issuer.signRaw({ alg: 'RS256', kid: issuer.key('RS256').kid, crit: ['x'] }, { sub: 'a' });
   */
  signRaw(
    header: Record<string, unknown> | string,
    payload: Record<string, unknown> | string,
    key?: IssuerKey | { hmacSecret: string | Buffer },
  ): string;
  /**
   * Creates a key, which does not become the current one.
   * @param options.publish Add it to the JWKS. @default false
   * @param options.modulusLength RSA modulus bits (RS and PS only). @default 2048
   * @param options.kid Key id. @default the RFC 7638 thumbprint
   */
  createKey(
    alg: SigningAlgorithm,
    options?: { publish?: boolean; modulusLength?: number; kid?: string },
  ): IssuerKey;
  /**
   * Creates and publishes a new key for `alg` and makes it the current one.
   * @param alg @default 'RS256'
   * @param options.retireOld Unpublish the previous current key. @default false
   * @returns the new key
   */
  rotate(alg?: SigningAlgorithm, options?: { retireOld?: boolean }): IssuerKey;
  /** Adds a key to the JWKS; replaces a published key with the same `kid`. */
  publish(key: IssuerKey): void;
  /** Removes every published key and raw JWK with this `kid`; an unknown `kid` is a no-op. */
  unpublish(kid: string): void;
  /** Adds an arbitrary raw JWK object to the served key set (to test how a verifier handles odd keys). */
  publishRawJwk(jwk: Record<string, unknown>): void;
  /** Changes how `GET /jwks` answers from the next request on. */
  setJwksBehaviour(behaviour: JwksBehaviour['mode']): void;
  /** GET requests served at `/jwks` (any mode) since start or `resetCounts()`. */
  readonly jwksRequests: number;
  /** GET requests served at both discovery endpoints since start or `resetCounts()`. */
  readonly discoveryRequests: number;
  /**
   * Adds (or replaces, by `clientId`) a client of the token endpoint.
   * @example
   * issuer.registerClient({ clientId: 'svc', clientSecret: 's3cret', scopes: ['images:read'] });
   */
  registerClient(client: IssuerClient): void;
  /** Sets `expires_in` of the tokens issued from now on to clients without their own. */
  setTokenExpiresIn(seconds: number): void;
  /** Requests to the token endpoint (any method, any outcome) since start or `resetCounts()`. */
  readonly tokenRequests: number;
  /** Those requests, oldest first; never the secret. */
  readonly tokenRequestLog: readonly TokenRequestRecord[];
  /** Sets `jwksRequests`, `discoveryRequests` and `tokenRequests` back to 0 and clears `tokenRequestLog`. */
  resetCounts(): void;
  /** Closes the server and every open socket, hanging requests included. Safe to call twice. */
  close(): Promise<void>;
}

const WRONG_AUDIENCE = 'https://someone-else.test';
const WRONG_ISSUER = 'https://evil.test';
const JWKS_MODES: readonly JwksBehaviour['mode'][] = ['ok', 'error', 'garbage', 'hang', 'empty'];

interface ResolvedIssuerOptions {
  readonly algorithms: readonly SigningAlgorithm[];
  readonly audience: string;
  readonly path: string;
  readonly host: string;
  readonly clients: readonly IssuerClient[];
  readonly tokenExpiresInSeconds: number;
}

/** A token endpoint request being answered; `status` and `error` come with the reply. */
type TokenDraft = {
  -readonly [K in Exclude<keyof TokenRequestRecord, 'status' | 'error'>]: TokenRequestRecord[K];
};

/** What the token endpoint answers. */
interface TokenReply {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly headers?: Readonly<Record<string, string>>;
}

const BASIC_CHALLENGE = Object.freeze({ 'www-authenticate': 'Basic realm="local-issuer"' });

/** An RFC 6749 §5.2 error reply. */
function oauthError(
  status: number,
  error: string,
  description: string,
  headers: Readonly<Record<string, string>> = {},
): TokenReply {
  return { status, body: { error, error_description: description }, headers };
}

/** Largest token request body read; RFC 6749 requests are a few hundred bytes. */
const MAX_TOKEN_BODY = 16 * 1024;
// RFC 6749 §3.3 scope-token.
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/**
 * Starts a {@link LocalIssuer} on a free loopback port.
 *
 * @example
 * const issuer = await createLocalIssuer({ algorithms: ['RS256', 'ES256'] });
 * const token = issuer.mint({ alg: 'ES256', scope: 'images:read' });
 * // ...point the verifier at issuer.url / issuer.jwksUri...
 * await issuer.close();
 */
export async function createLocalIssuer(options: LocalIssuerOptions = {}): Promise<LocalIssuer> {
  const resolved = resolveOptions(options);
  const keys = resolved.algorithms.map((alg) => generateIssuerKey(alg));
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, resolved.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') {
    server.close();
    throw new Error(`createLocalIssuer: expected a TCP address, got ${String(address)}`);
  }
  return new LocalIssuerServer(server, resolved, address.port, keys);
}

function resolveOptions(options: LocalIssuerOptions): ResolvedIssuerOptions {
  const {
    algorithms = ['RS256', 'PS256', 'ES256'],
    audience = 'https://api.test.local',
    path = '',
    host = '127.0.0.1',
    clients = [],
    tokenExpiresInSeconds = 300,
  } = options;
  algorithms.forEach((alg, index) => {
    if (!isSigningAlgorithm(alg)) {
      throw new TypeError(
        `"algorithms[${index}]" must be one of ${SIGNING_ALGORITHMS.join(', ')} (got ${JSON.stringify(alg)})`,
      );
    }
    if (algorithms.indexOf(alg) !== index) {
      throw new TypeError(`"algorithms" lists "${alg}" twice; rotate() adds further keys`);
    }
  });
  if (typeof audience !== 'string' || audience === '') {
    throw new TypeError('"audience" must be a non-empty string');
  }
  if (typeof path !== 'string' || (path !== '' && !/^\/[^?#]*[^/?#]$/.test(path))) {
    throw new TypeError(
      `"path" must be empty or start with "/", not end with "/" and hold no "?" or "#" (got ${JSON.stringify(path)})`,
    );
  }
  if (typeof host !== 'string' || host === '') {
    throw new TypeError('"host" must be a non-empty string such as "127.0.0.1" or "::1"');
  }
  if (!Array.isArray(clients)) {
    throw new TypeError('"clients" must be an array of { clientId, clientSecret, scopes }');
  }
  clients.forEach((client, index) => checkClient(client, `clients[${index}]`));
  checkExpiresIn(tokenExpiresInSeconds, '"tokenExpiresInSeconds"');
  return Object.freeze({
    algorithms: Object.freeze([...algorithms]),
    audience,
    path,
    host,
    clients: Object.freeze([...clients]),
    tokenExpiresInSeconds,
  });
}

function checkExpiresIn(seconds: unknown, name: string): void {
  if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds <= 0) {
    throw new TypeError(`${name} must be a positive integer (seconds)`);
  }
}

function checkClient(client: IssuerClient, where: string): void {
  if (typeof client !== 'object' || client === null) {
    throw new TypeError(`"${where}" must be { clientId, clientSecret, scopes? }`);
  }
  if (typeof client.clientId !== 'string' || client.clientId === '') {
    throw new TypeError(`"${where}.clientId" must be a non-empty string`);
  }
  if (typeof client.clientSecret !== 'string' || client.clientSecret === '') {
    throw new TypeError(`"${where}.clientSecret" must be a non-empty string`);
  }
  (client.scopes ?? []).forEach((scope, index) => {
    if (typeof scope !== 'string' || !SCOPE_TOKEN.test(scope)) {
      throw new TypeError(`"${where}.scopes[${index}]" must be an RFC 6749 scope token`);
    }
  });
  if (client.expiresInSeconds !== undefined) {
    checkExpiresIn(client.expiresInSeconds, `"${where}.expiresInSeconds"`);
  }
}

function generateIssuerKey(alg: SigningAlgorithm, modulusLength = 2048, kid?: string): IssuerKey {
  const { privateKey, publicKey } = alg.startsWith('ES')
    ? generateKeyPairSync('ec', {
        namedCurve: CURVE_BY_ALGORITHM[alg as keyof typeof CURVE_BY_ALGORITHM],
      })
    : generateKeyPairSync('rsa', { modulusLength });
  const jwk = publicKey.export({ format: 'jwk' });
  const keyId = kid ?? thumbprint(jwk);
  return Object.freeze({
    kid: keyId,
    alg,
    privateKey,
    publicKey,
    publicJwk: Object.freeze({ ...jwk, kid: keyId, use: 'sig', alg }),
  });
}

/** RFC 7638 §3: SHA-256 over the required members in lexicographic order, no whitespace. */
function thumbprint(jwk: JsonWebKey): string {
  const members =
    jwk.kty === 'EC'
      ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }
      : { e: jwk.e, kty: jwk.kty, n: jwk.n };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

function mergeOver(target: Record<string, unknown>, overrides: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) {
      delete target[name];
    } else {
      // defineProperty, so that a "__proto__" claim (prototype-pollution tests) is an own member
      // that gets encoded rather than a change of the prototype.
      Object.defineProperty(target, name, {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
}

function readAlg(header: Record<string, unknown> | string): unknown {
  if (typeof header !== 'string') {
    return header['alg'];
  }
  try {
    const parsed: unknown = JSON.parse(header);
    return typeof parsed === 'object' && parsed !== null
      ? (parsed as Record<string, unknown>)['alg']
      : undefined;
  } catch {
    return undefined;
  }
}

function publicKeyPem(key: IssuerKey): string {
  return key.publicKey.export({ type: 'spki', format: 'pem' }).toString();
}

class LocalIssuerServer implements LocalIssuer {
  readonly url: string;
  readonly jwksUri: string;
  readonly discoveryUri: string;
  readonly tokenEndpoint: string;
  readonly audience: string;
  readonly port: number;

  #jwksRequests = 0;
  #discoveryRequests = 0;
  #tokenRequests = 0;
  #tokenExpiresInSeconds: number;
  readonly #tokenLog: TokenRequestRecord[] = [];
  readonly #clients = new Map<string, IssuerClient>();
  readonly #tokenPath: string;
  #mode: JwksBehaviour['mode'] = 'ok';
  #closing: Promise<void> | undefined;
  readonly #server: Server;
  readonly #current = new Map<SigningAlgorithm, IssuerKey>();
  readonly #published: IssuerKey[] = [];
  readonly #rawJwks: Record<string, unknown>[] = [];
  readonly #routes: ReadonlyMap<string, (res: ServerResponse) => void>;

  constructor(
    server: Server,
    options: ResolvedIssuerOptions,
    port: number,
    initialKeys: readonly IssuerKey[],
  ) {
    this.#server = server;
    this.port = port;
    this.audience = options.audience;
    const host = options.host.includes(':') ? `[${options.host}]` : options.host;
    this.url = `http://${host}:${port}${options.path}`;
    this.jwksUri = `${this.url}/jwks`;
    this.discoveryUri = `${this.url}/.well-known/openid-configuration`;
    this.tokenEndpoint = `${this.url}/token`;
    this.#tokenPath = `${options.path}/token`;
    this.#tokenExpiresInSeconds = options.tokenExpiresInSeconds;
    for (const client of options.clients) this.#clients.set(client.clientId, client);
    for (const key of initialKeys) {
      this.#current.set(key.alg, key);
      this.#published.push(key);
    }
    const discovery = (res: ServerResponse): void => this.#serveDiscovery(res);
    this.#routes = new Map([
      [`${options.path}/jwks`, (res: ServerResponse) => this.#serveJwks(res)],
      [`${options.path}/.well-known/openid-configuration`, discovery],
      [`${options.path}/.well-known/oauth-authorization-server`, discovery],
    ]);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      if (pathOf(req) === this.#tokenPath) {
        this.#serveToken(req, res);
        return;
      }
      const route = req.method === 'GET' ? this.#routes.get(pathOf(req)) : undefined;
      if (route) {
        route(res);
      } else {
        sendJson(res, 404, problem(404, 'Not Found'), 'application/problem+json');
      }
    });
  }

  get jwksRequests(): number {
    return this.#jwksRequests;
  }

  get discoveryRequests(): number {
    return this.#discoveryRequests;
  }

  get tokenRequests(): number {
    return this.#tokenRequests;
  }

  get tokenRequestLog(): readonly TokenRequestRecord[] {
    return Object.freeze([...this.#tokenLog]);
  }

  registerClient(client: IssuerClient): void {
    checkClient(client, 'registerClient(client)');
    this.#clients.set(client.clientId, Object.freeze({ ...client }));
  }

  setTokenExpiresIn(seconds: number): void {
    checkExpiresIn(seconds, 'setTokenExpiresIn: "seconds"');
    this.#tokenExpiresInSeconds = seconds;
  }

  get publishedKeys(): readonly IssuerKey[] {
    return Object.freeze([...this.#published]);
  }

  key(alg: SigningAlgorithm): IssuerKey {
    const key = this.#current.get(alg);
    if (!key) {
      throw new TypeError(
        `The local issuer has no ${JSON.stringify(alg)} key. Potential solutions: add it to "algorithms" in createLocalIssuer(), or call rotate(${JSON.stringify(alg)}).`,
      );
    }
    return key;
  }

  mint(options: MintOptions = {}): string {
    const {
      key,
      alg = key?.alg ?? 'RS256',
      hmacSecret,
      claims = {},
      header = {},
      scope,
      subject = 'user-123',
      expiresInSeconds = 300,
      expired = false,
      notYetValid = false,
      wrongAudience = false,
      wrongIssuer = false,
    } = options;
    if (!Number.isFinite(expiresInSeconds)) {
      throw new TypeError(`"expiresInSeconds" must be a finite number (got ${expiresInSeconds})`);
    }
    const now = Math.floor(Date.now() / 1000);
    const payload: Record<string, unknown> = {
      iss: wrongIssuer ? WRONG_ISSUER : this.url,
      sub: subject,
      aud: wrongAudience ? WRONG_AUDIENCE : this.audience,
      client_id: 'client-abc',
      iat: expired ? now - 7200 : now,
      exp: expired ? now - 3600 : now + expiresInSeconds,
      jti: randomUUID(),
    };
    if (notYetValid) {
      payload['nbf'] = now + 3600;
    }
    if (scope !== undefined) {
      payload['scope'] = typeof scope === 'string' ? scope : scope.join(' ');
    }
    mergeOver(payload, claims);

    let signer: JwsSigner;
    let kid: string | undefined;
    if (alg === 'none') {
      signer = { kind: 'none' };
      kid = key?.kid;
    } else if (alg === 'HS256') {
      const secret = hmacSecret ?? (key ? publicKeyPem(key) : undefined);
      if (secret === undefined) {
        throw new TypeError(
          'mint({ alg: "HS256" }) needs "hmacSecret", or a "key" whose public key PEM becomes the secret.',
        );
      }
      signer = { kind: 'hmac', alg, secret };
      kid = key?.kid;
    } else {
      const signingKey = key ?? this.key(alg);
      signer = { kind: 'asymmetric', alg, privateKey: signingKey.privateKey };
      kid = signingKey.kid;
    }
    const protectedHeader: Record<string, unknown> = { alg, typ: 'JWT' };
    if (kid !== undefined) {
      protectedHeader['kid'] = kid;
    }
    mergeOver(protectedHeader, header);
    return compact(protectedHeader, payload, signer);
  }

  signRaw(
    header: Record<string, unknown> | string,
    payload: Record<string, unknown> | string,
    key?: IssuerKey | { hmacSecret: string | Buffer },
  ): string {
    const alg = readAlg(header) ?? (key ? ('hmacSecret' in key ? 'HS256' : key.alg) : undefined);
    const shown = JSON.stringify(alg) ?? 'undefined';
    let signer: JwsSigner;
    if (key && 'hmacSecret' in key) {
      if (!isHmacAlgorithm(alg)) {
        throw new TypeError(
          `signRaw: an hmacSecret signs HS256/HS384/HS512 only (header alg ${shown})`,
        );
      }
      signer = { kind: 'hmac', alg, secret: key.hmacSecret };
    } else if (isSigningAlgorithm(alg)) {
      signer = { kind: 'asymmetric', alg, privateKey: (key ?? this.key(alg)).privateKey };
    } else if (isHmacAlgorithm(alg)) {
      if (!key) {
        throw new TypeError(`signRaw: header alg ${shown} needs { hmacSecret } or an IssuerKey`);
      }
      signer = { kind: 'hmac', alg, secret: publicKeyPem(key) };
    } else if (key) {
      throw new TypeError(
        `signRaw: header alg ${shown} cannot be signed with key "${key.kid}"; omit the key for an empty signature`,
      );
    } else {
      signer = { kind: 'none' };
    }
    return compact(header, payload, signer);
  }

  createKey(
    alg: SigningAlgorithm,
    options: { publish?: boolean; modulusLength?: number; kid?: string } = {},
  ): IssuerKey {
    const { publish = false, modulusLength, kid } = options;
    if (!isSigningAlgorithm(alg)) {
      throw new TypeError(
        `createKey: "alg" must be one of ${SIGNING_ALGORITHMS.join(', ')} (got ${JSON.stringify(alg)})`,
      );
    }
    if (modulusLength !== undefined && alg.startsWith('ES')) {
      throw new TypeError(`createKey: "modulusLength" applies to RSA keys only, not ${alg}`);
    }
    if (kid !== undefined && (typeof kid !== 'string' || kid === '')) {
      throw new TypeError('createKey: "kid" must be a non-empty string');
    }
    const key = generateIssuerKey(alg, modulusLength, kid);
    if (publish) {
      this.publish(key);
    }
    return key;
  }

  rotate(alg: SigningAlgorithm = 'RS256', options: { retireOld?: boolean } = {}): IssuerKey {
    const { retireOld = false } = options;
    const previous = this.#current.get(alg);
    const key = this.createKey(alg, { publish: true });
    this.#current.set(alg, key);
    if (retireOld && previous) {
      this.unpublish(previous.kid);
    }
    return key;
  }

  publish(key: IssuerKey): void {
    const index = this.#published.findIndex((published) => published.kid === key.kid);
    if (index === -1) {
      this.#published.push(key);
    } else {
      this.#published[index] = key;
    }
  }

  unpublish(kid: string): void {
    removeWhere(this.#published, (key) => key.kid === kid);
    removeWhere(this.#rawJwks, (jwk) => jwk['kid'] === kid);
  }

  publishRawJwk(jwk: Record<string, unknown>): void {
    // A copy, so that later changes by the test do not alter what was published.
    this.#rawJwks.push(structuredClone(jwk));
  }

  setJwksBehaviour(behaviour: JwksBehaviour['mode']): void {
    if (!JWKS_MODES.includes(behaviour)) {
      throw new TypeError(
        `setJwksBehaviour: mode must be one of ${JWKS_MODES.join(', ')} (got ${JSON.stringify(behaviour)})`,
      );
    }
    this.#mode = behaviour;
  }

  resetCounts(): void {
    this.#jwksRequests = 0;
    this.#discoveryRequests = 0;
    this.#tokenRequests = 0;
    this.#tokenLog.length = 0;
  }

  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve, reject) => {
      this.#server.close((error) => (error ? reject(error) : resolve()));
      // close() alone waits for in-flight requests, and a 'hang' request never ends.
      this.#server.closeAllConnections();
    });
    return this.#closing;
  }

  #serveJwks(res: ServerResponse): void {
    this.#jwksRequests += 1;
    switch (this.#mode) {
      case 'ok':
        sendJson(res, 200, {
          keys: [...this.#published.map((key) => key.publicJwk), ...this.#rawJwks],
        });
        return;
      case 'empty':
        sendJson(res, 200, { keys: [] });
        return;
      case 'error':
        sendJson(res, 503, problem(503, 'Service Unavailable'), 'application/problem+json');
        return;
      case 'garbage':
        send(res, 200, 'application/json', '<html>this is not a key set</html>');
        return;
      case 'hang':
        return;
    }
  }

  #serveDiscovery(res: ServerResponse): void {
    this.#discoveryRequests += 1;
    sendJson(res, 200, {
      issuer: this.url,
      jwks_uri: this.jwksUri,
      // Required by OpenID Discovery §3; not served (tokens for users are minted in-process).
      authorization_endpoint: `${this.url}/authorize`,
      token_endpoint: this.tokenEndpoint,
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      grant_types_supported: ['client_credentials'],
      response_types_supported: ['code'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: [...this.#current.keys()],
    });
  }

  #serveToken(req: IncomingMessage, res: ServerResponse): void {
    this.#tokenRequests += 1;
    const draft: TokenDraft = {
      method: req.method ?? '',
      clientId: undefined,
      authMethod: undefined,
      grantType: undefined,
      scope: undefined,
    };
    const send = (reply: TokenReply): void => {
      const error = reply.body['error'];
      this.#tokenLog.push(
        Object.freeze({
          ...draft,
          status: reply.status,
          error: typeof error === 'string' ? error : undefined,
        }),
      );
      // RFC 6749 §5.1 and §5.2: token responses, errors included, are not to be cached.
      res.writeHead(reply.status, {
        'content-type': 'application/json',
        'cache-control': 'no-store',
        pragma: 'no-cache',
        ...reply.headers,
      });
      res.end(JSON.stringify(reply.body));
    };
    if (req.method !== 'POST') {
      req.resume();
      send(
        oauthError(405, 'invalid_request', 'the token endpoint accepts POST only', {
          allow: 'POST',
        }),
      );
      return;
    }
    readRequestBody(req, MAX_TOKEN_BODY).then(
      (body) =>
        send(
          body === undefined
            ? oauthError(413, 'invalid_request', `the body is larger than ${MAX_TOKEN_BODY} bytes`)
            : this.#grant(req, body, draft),
        ),
      () => res.destroy(),
    );
  }

  /** RFC 6749 §4.4.2-§4.4.3, client authentication per §2.3.1. */
  #grant(req: IncomingMessage, body: string, draft: TokenDraft): TokenReply {
    const mediaType = (req.headers['content-type'] ?? '').split(';', 1)[0]?.trim().toLowerCase();
    if (mediaType !== 'application/x-www-form-urlencoded') {
      return oauthError(
        400,
        'invalid_request',
        'the body must be application/x-www-form-urlencoded',
      );
    }
    const form = new URLSearchParams(body);
    const names = [...form.keys()];
    // RFC 6749 §3.2: parameters MUST NOT be included more than once.
    const repeated = names.find((name, index) => names.indexOf(name) !== index);
    if (repeated !== undefined) {
      return oauthError(400, 'invalid_request', `the parameter "${repeated}" is repeated`);
    }
    draft.grantType = form.get('grant_type') ?? undefined;
    draft.scope = form.get('scope') ?? undefined;

    const authorization = req.headers.authorization;
    const postedId = form.get('client_id') ?? undefined;
    const postedSecret = form.get('client_secret') ?? undefined;
    if (authorization !== undefined && postedSecret !== undefined) {
      // RFC 6749 §2.3: a client MUST NOT use more than one authentication method.
      return oauthError(400, 'invalid_request', 'more than one client authentication method');
    }
    let credentials: { clientId: string | undefined; secret: string | undefined } = {
      clientId: postedId,
      secret: postedSecret,
    };
    if (authorization !== undefined) {
      draft.authMethod = 'client_secret_basic';
      const basic = parseBasic(authorization);
      if (basic === undefined) {
        return oauthError(401, 'invalid_client', 'malformed Basic credentials', BASIC_CHALLENGE);
      }
      if (postedId !== undefined && postedId !== basic.clientId) {
        return oauthError(
          400,
          'invalid_request',
          'client_id differs from the authenticated client',
        );
      }
      credentials = basic;
    } else if (postedSecret !== undefined) {
      draft.authMethod = 'client_secret_post';
    }
    draft.clientId = credentials.clientId;
    const client =
      credentials.clientId === undefined ? undefined : this.#clients.get(credentials.clientId);
    if (
      client === undefined ||
      credentials.secret === undefined ||
      !sameSecret(credentials.secret, client.clientSecret)
    ) {
      // RFC 6749 §5.2: 401, with a challenge when the client used the Authorization header.
      return oauthError(
        401,
        'invalid_client',
        'client authentication failed',
        draft.authMethod === 'client_secret_basic' ? BASIC_CHALLENGE : {},
      );
    }
    const grantType = form.get('grant_type');
    if (grantType === null) return oauthError(400, 'invalid_request', 'grant_type is missing');
    if (grantType !== 'client_credentials') {
      return oauthError(400, 'unsupported_grant_type', 'only client_credentials is supported');
    }
    const allowed = client.scopes ?? [];
    const asked = form.get('scope');
    let granted: readonly string[] = allowed;
    if (asked !== null) {
      const scopes = asked.split(' ');
      const bad = scopes.find((scope) => !SCOPE_TOKEN.test(scope) || !allowed.includes(scope));
      if (bad !== undefined) {
        return oauthError(
          400,
          'invalid_scope',
          `the scope "${bad}" is not allowed for this client`,
        );
      }
      granted = [...new Set(scopes)];
    }
    const resource = form.get('resource') ?? form.get('audience');
    if (resource !== null && !URL.canParse(resource)) {
      // RFC 8707 §2: an absolute URI.
      return oauthError(400, 'invalid_target', 'resource must be an absolute URI');
    }
    const expiresIn = client.expiresInSeconds ?? this.#tokenExpiresInSeconds;
    const accessToken = this.mint({
      subject: client.clientId,
      expiresInSeconds: expiresIn,
      ...(granted.length > 0 ? { scope: [...granted] } : {}),
      claims: { client_id: client.clientId, ...(resource === null ? {} : { aud: resource }) },
    });
    return {
      status: 200,
      body: {
        access_token: accessToken,
        token_type: 'Bearer',
        expires_in: expiresIn,
        ...(granted.length > 0 ? { scope: granted.join(' ') } : {}),
      },
    };
  }
}

function compact(
  header: Record<string, unknown> | string,
  payload: Record<string, unknown> | string,
  signer: JwsSigner,
): string {
  const signingInput = `${encodeSegment(header)}.${encodeSegment(payload)}`;
  return `${signingInput}.${signJws(signingInput, signer)}`;
}

function pathOf(req: IncomingMessage): string {
  return (req.url ?? '').split('?', 1)[0] ?? '';
}

function problem(status: number, title: string): Record<string, unknown> {
  return { type: 'about:blank', title, status };
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  contentType = 'application/json',
): void {
  send(res, status, contentType, JSON.stringify(body));
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res
    .writeHead(status, {
      'content-type': contentType,
      'content-length': Buffer.byteLength(body),
    })
    .end(body);
}

function removeWhere<T>(items: T[], predicate: (item: T) => boolean): void {
  const kept = items.filter((item) => !predicate(item));
  items.splice(0, items.length, ...kept);
}

/** The body as text, or `undefined` when it is larger than `limit` bytes. */
function readRequestBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > limit) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(tooLarge ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * RFC 6749 §2.3.1: `Basic base64(urlencode(client_id) ":" urlencode(client_secret))`, each part
 * form-urlencoded before the join.
 */
function parseBasic(header: string): { clientId: string; secret: string } | undefined {
  const match = /^Basic ([A-Za-z0-9+/]+={0,2})$/i.exec(header.trim());
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return undefined;
  try {
    const formDecode = (value: string): string => decodeURIComponent(value.replace(/\+/g, ' '));
    return {
      clientId: formDecode(decoded.slice(0, colon)),
      secret: formDecode(decoded.slice(colon + 1)),
    };
  } catch {
    return undefined;
  }
}

/** Compares secrets in constant time (over their digests, so lengths do not leak either). */
function sameSecret(given: string, expected: string): boolean {
  const digest = (value: string): Buffer => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
