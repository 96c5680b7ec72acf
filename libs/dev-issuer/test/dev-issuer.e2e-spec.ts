import { createHash, type JsonWebKey, X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DevIssuer, startDevIssuer } from '@secure-api-sample/dev-issuer';
import { createHttpsOptions, SecureApiErrorCode, type TlsOptions } from '@secure-api/nestjs';
import {
  type BootedApp,
  bootApp,
  createTestPki,
  fakeDateOnly,
  type TestCertificate,
  type TestPki,
} from '@secure-api/testing';
import { CookieJar } from './fixtures/cookie-jar.js';
import { verifyEs256 } from './fixtures/jws-verify.js';
import {
  freshLoopbackAddress,
  loopbackRequest,
  type LoopbackResponse,
} from './fixtures/loopback-request.js';
import { ScopesAppFixture } from './fixtures/scopes-app.fixture.js';

// The dev issuer over real HTTP and mutual TLS on loopback. Tokens are checked with node:crypto
// alone, not with @secure-api/nestjs; the last block then shows the service accepting them.
// The token endpoint allows 5 requests a minute per client IP, so every test that asks for a
// token connects from a loopback address of its own (freshLoopbackAddress()).

const RESOURCE = 'https://thumbnails.local';
const SCOPES = ['thumbnails.write', 'thumbnails.read', 'logging.admin'];
const WORKER_ID = 'spiffe://example.org/sa/worker';
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const UPLOADER = { id: 'uploader', secret: 'uploader-secret' };
const READER = { id: 'reader', secret: 'reader-secret' };

const sha256 = (data: string | Buffer): string =>
  createHash('sha256').update(data).digest('base64url');

describe('dev issuer', () => {
  let pki: TestPki;
  let worker: TestCertificate;
  let dev: DevIssuer;
  let jwks: { keys: JsonWebKey[] };
  let startWarnings: string[];

  const clientCredentials = (
    basic: { id: string; secret: string },
    form: Record<string, string>,
    from = freshLoopbackAddress(),
  ): Promise<LoopbackResponse> =>
    loopbackRequest(dev.tokenEndpoint, {
      from,
      basic,
      form: { grant_type: 'client_credentials', ...form },
    });

  const mtlsToken = (
    certificate: TestCertificate | undefined,
    form: Record<string, string> = {},
  ): Promise<LoopbackResponse> =>
    loopbackRequest(dev.mtlsTokenEndpoint ?? 'https://mtls-endpoint-missing.invalid', {
      from: freshLoopbackAddress(),
      tls: { ca: pki.ca.cert, cert: certificate?.cert, key: certificate?.key },
      form: { grant_type: 'client_credentials', client_id: 'worker', ...form },
    });

  const accessToken = (res: LoopbackResponse): string => {
    expect(res.status).toBe(200);
    const { access_token: token } = res.json();
    if (typeof token !== 'string') throw new Error(`no access_token in ${res.text}`);
    return token;
  };

  beforeAll(async () => {
    pki = await createTestPki();
    worker = await pki.client(WORKER_ID);
    // oidc-provider warns at construction; kept and asserted below instead of printed.
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    const starting = startDevIssuer({
      resource: RESOURCE,
      scopes: SCOPES,
      clients: [
        { clientId: UPLOADER.id, clientSecret: UPLOADER.secret, scopes: ['thumbnails.write'] },
        { clientId: READER.id, clientSecret: READER.secret, scopes: ['thumbnails.read'] },
        { clientId: 'worker', scopes: ['thumbnails.read'], tlsClientAuth: { sanUri: WORKER_ID } },
      ],
      userClient: {
        clientId: 'thumbnail-web',
        redirectUris: [REDIRECT_URI],
        scopes: ['thumbnails.read'],
      },
      tls: { ca: pki.ca.cert, cert: pki.server.cert, key: pki.server.key },
    });
    try {
      dev = await starting;
    } finally {
      startWarnings = warn.mock.calls.map(([message]) => String(message));
      warn.mockRestore();
    }
    jwks = (await loopbackRequest(dev.jwksUri)).json() as { keys: JsonWebKey[] };
  });

  afterAll(async () => {
    await dev?.close();
  });

  it('says at start, through oidc-provider, that it is for development only', () => {
    expect(startWarnings).toEqual([
      expect.stringContaining('development-only in-memory adapter is used'),
      expect.stringContaining('development-only feature devInteractions is enabled'),
    ]);
  });

  describe('discovery and keys', () => {
    it('serves the OpenID configuration on plain HTTP at 127.0.0.1, with the mTLS alias', async () => {
      const res = await loopbackRequest(dev.discoveryUri);

      expect(res.status).toBe(200);
      expect(dev.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(dev.mtlsTokenEndpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/token$/);
      expect(res.json()).toMatchObject({
        issuer: dev.issuer,
        jwks_uri: dev.jwksUri,
        token_endpoint: dev.tokenEndpoint,
        authorization_endpoint: dev.authorizationEndpoint,
        mtls_endpoint_aliases: { token_endpoint: dev.mtlsTokenEndpoint },
        tls_client_certificate_bound_access_tokens: true,
        grant_types_supported: ['authorization_code', 'client_credentials'],
        response_types_supported: ['code'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'tls_client_auth', 'none'],
        scopes_supported: ['openid', ...SCOPES],
      });
    });

    it('publishes exactly one ES256 public key', () => {
      expect(jwks.keys).toHaveLength(1);
      const [key] = jwks.keys;
      expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
      expect(key).not.toHaveProperty('d');
      expect(key?.kid).toBe(
        sha256(JSON.stringify({ crv: key?.crv, kty: key?.kty, x: key?.x, y: key?.y })),
      );
    });
  });

  describe('client credentials with client_secret_basic', () => {
    it('issues a 5-minute ES256 JWT access token (RFC 9068) for the resource', async () => {
      const res = await clientCredentials(UPLOADER, { scope: 'thumbnails.write' });
      const token = accessToken(res);

      expect(res.json()).toMatchObject({
        token_type: 'Bearer',
        expires_in: 300,
        scope: 'thumbnails.write',
      });
      expect(res.headers['cache-control']).toBe('no-store');
      const { header, payload } = verifyEs256(token, jwks);
      expect(header).toEqual({ alg: 'ES256', typ: 'at+jwt', kid: jwks.keys[0]?.kid });
      expect(payload).toMatchObject({
        iss: dev.issuer,
        aud: RESOURCE,
        sub: UPLOADER.id,
        client_id: UPLOADER.id,
        scope: 'thumbnails.write',
      });
      expect(payload).not.toHaveProperty('cnf');
      expect(Number(payload.exp) - Number(payload.iat)).toBe(300);
    });

    it('grants no scope when the request names none (oidc-provider has no default scope)', async () => {
      const res = await clientCredentials(READER, {});
      const { payload } = verifyEs256(accessToken(res), jwks);

      expect(res.json()).not.toHaveProperty('scope');
      expect(payload).toMatchObject({ aud: RESOURCE, client_id: READER.id });
      expect(payload).not.toHaveProperty('scope');
    });

    it('refuses a wrong secret with 401 invalid_client', async () => {
      const res = await clientCredentials({ id: UPLOADER.id, secret: 'guess' }, {});

      expect(res.status).toBe(401);
      expect(res.json()).toMatchObject({ error: 'invalid_client' });
    });

    it('refuses a scope the client may not have with 400 invalid_scope', async () => {
      const res = await clientCredentials(UPLOADER, { scope: 'thumbnails.write logging.admin' });

      expect(res.status).toBe(400);
      expect(res.json()).toMatchObject({ error: 'invalid_scope', scope: 'logging.admin' });
    });

    it('refuses another resource with 400 invalid_target', async () => {
      const res = await clientCredentials(UPLOADER, { resource: 'https://other.local' });

      expect(res.status).toBe(400);
      expect(res.json()).toMatchObject({ error: 'invalid_target' });
    });
  });

  describe('client credentials with tls_client_auth on the mTLS endpoint', () => {
    it('binds the token to the client certificate: cnf["x5t#S256"] (RFC 8705 §3.1)', async () => {
      const res = await mtlsToken(worker, { scope: 'thumbnails.read' });
      const { header, payload } = verifyEs256(accessToken(res), jwks);

      const der = new X509Certificate(worker.cert).raw;
      expect(header).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
      expect(payload).toMatchObject({
        aud: RESOURCE,
        sub: 'worker',
        client_id: 'worker',
        scope: 'thumbnails.read',
        cnf: { 'x5t#S256': sha256(der) },
      });
      expect(sha256(der)).toBe(worker.thumbprint);
    });

    it.each([
      [
        'no client certificate',
        (): Promise<TestCertificate | undefined> => Promise.resolve(undefined),
      ],
      ['a certificate for another SAN URI', () => pki.client('spiffe://example.org/sa/other')],
      ['a look-alike certificate no trusted CA signed', () => pki.selfSignedCopy(worker)],
    ])('refuses %s with 401 invalid_client', async (_case, certificate) => {
      const res = await mtlsToken(await certificate());

      expect(res.status).toBe(401);
      expect(res.json()).toMatchObject({ error: 'invalid_client' });
    });

    it('refuses tls_client_auth on the plain HTTP token endpoint', async () => {
      const res = await loopbackRequest(dev.tokenEndpoint, {
        from: freshLoopbackAddress(),
        form: { grant_type: 'client_credentials', client_id: 'worker' },
      });

      expect(res.status).toBe(401);
      expect(res.json()).toMatchObject({ error: 'invalid_client' });
    });
  });

  describe('token endpoint rate limit: 5 requests a minute per IP', () => {
    afterEach(() => {
      jest.useRealTimers();
    });

    it('answers the 6th request 429 with Retry-After, before authenticating, until the window ends', async () => {
      jest.useFakeTimers(fakeDateOnly());
      const start = Date.now();
      const from = freshLoopbackAddress();
      for (let i = 0; i < 5; i++) {
        // Failed authentication counts too: the limit is what stops secret guessing.
        const res = await clientCredentials({ id: UPLOADER.id, secret: `guess-${i}` }, {}, from);
        expect(res.status).toBe(401);
      }

      const refused = await clientCredentials(UPLOADER, {}, from);
      expect(refused.status).toBe(429);
      expect(refused.headers['retry-after']).toBe('60');
      expect(refused.headers['content-type']).toMatch(/^application\/json/);
      expect(refused.json()).toEqual({
        error: 'too_many_requests',
        error_description: 'too many token requests from this address; retry after 60 s',
      });

      const elsewhere = await clientCredentials(UPLOADER, {}, freshLoopbackAddress());
      expect(elsewhere.status).toBe(200);

      jest.setSystemTime(start + 59_000);
      const stillRefused = await clientCredentials(UPLOADER, {}, from);
      expect(stillRefused.status).toBe(429);
      expect(stillRefused.headers['retry-after']).toBe('1');

      jest.setSystemTime(start + 60_000);
      expect((await clientCredentials(UPLOADER, {}, from)).status).toBe(200);
    });

    it('counts the spellings the router also sends to /token (case, trailing slash)', async () => {
      const from = freshLoopbackAddress();
      for (const path of ['/token', '/TOKEN', '/token/', '/Token/', '/TOKEN']) {
        const res = await loopbackRequest(`${dev.issuer}${path}`, {
          from,
          basic: { id: UPLOADER.id, secret: 'guess' },
          form: { grant_type: 'client_credentials' },
        });
        expect(res.status).toBe(401);
      }

      const res = await loopbackRequest(`${dev.issuer}/ToKeN/`, {
        from,
        basic: UPLOADER,
        form: { grant_type: 'client_credentials' },
      });
      expect(res.status).toBe(429);
    });

    it('limits the mTLS alias from the same budget', async () => {
      const from = freshLoopbackAddress();
      for (let i = 0; i < 5; i++) {
        expect((await clientCredentials(READER, {}, from)).status).toBe(200);
      }
      const res = await loopbackRequest(dev.mtlsTokenEndpoint ?? '', {
        from,
        tls: { ca: pki.ca.cert, cert: worker.cert, key: worker.key },
        form: { grant_type: 'client_credentials', client_id: 'worker' },
      });

      expect(res.status).toBe(429);
      expect(res.json()).toMatchObject({ error: 'too_many_requests' });
    });
  });

  describe('authorization code with PKCE', () => {
    const verifier = 'dev-issuer-e2e-code-verifier-of-at-least-43-characters';
    const authorizationUrl = (params: Record<string, string>): string =>
      `${dev.authorizationEndpoint}?${new URLSearchParams({
        client_id: 'thumbnail-web',
        response_type: 'code',
        redirect_uri: REDIRECT_URI,
        scope: 'openid thumbnails.read',
        state: 'state-1',
        ...params,
      }).toString()}`;

    it('refuses an authorization request without code_challenge', async () => {
      const res = await loopbackRequest(authorizationUrl({}));

      expect(res.status).toBe(303);
      const location = new URL(String(res.headers.location));
      expect(`${location.origin}${location.pathname}`).toBe(REDIRECT_URI);
      expect(location.searchParams.get('error')).toBe('invalid_request');
      expect(location.searchParams.get('error_description')).toMatch(/PKCE/);
      expect(location.searchParams.get('state')).toBe('state-1');
    });

    it('refuses the plain code_challenge_method', async () => {
      const res = await loopbackRequest(
        authorizationUrl({ code_challenge: verifier, code_challenge_method: 'plain' }),
      );

      expect(res.status).toBe(303);
      const location = new URL(String(res.headers.location));
      expect(location.searchParams.get('error')).toBe('invalid_request');
    });

    it('runs the code flow through devInteractions and exchanges the code with its verifier', async () => {
      const jar = new CookieJar();
      let url = authorizationUrl({
        code_challenge: sha256(verifier),
        code_challenge_method: 'S256',
      });
      let callback: URL | undefined;
      const prompts: string[] = [];
      for (let step = 0; step < 12 && callback === undefined; step++) {
        const res = await loopbackRequest(url, { headers: jar.header() });
        jar.store(res.headers);
        if (res.status === 303 || res.status === 302) {
          url = new URL(String(res.headers.location), url).href;
          if (url.startsWith(REDIRECT_URI)) callback = new URL(url);
          continue;
        }
        expect(res.status).toBe(200);
        const prompt = /name="prompt" value="(\w+)"/.exec(res.text)?.[1] ?? 'none';
        const action = /<form[^>]* action="([^"]+)"/.exec(res.text)?.[1] ?? url;
        prompts.push(prompt);
        const submitted = await loopbackRequest(new URL(action, url).href, {
          headers: jar.header(),
          form: { prompt, login: 'alice', password: 'anything' },
        });
        jar.store(submitted.headers);
        expect(submitted.status).toBe(303);
        url = new URL(String(submitted.headers.location), url).href;
      }
      expect(prompts).toEqual(['login', 'consent']);
      expect(callback?.searchParams.get('iss')).toBe(dev.issuer);
      expect(callback?.searchParams.get('state')).toBe('state-1');
      const code = callback?.searchParams.get('code') ?? '';

      const exchange = (codeVerifier: string): Promise<LoopbackResponse> =>
        loopbackRequest(dev.tokenEndpoint, {
          from: freshLoopbackAddress(),
          form: {
            grant_type: 'authorization_code',
            client_id: 'thumbnail-web',
            redirect_uri: REDIRECT_URI,
            code,
            code_verifier: codeVerifier,
          },
        });
      const wrong = await exchange(`${verifier}-wrong`);
      expect(wrong.status).toBe(400);
      expect(wrong.json()).toMatchObject({ error: 'invalid_grant' });

      const res = await exchange(verifier);
      const { header, payload } = verifyEs256(accessToken(res), jwks);
      expect(header).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
      expect(payload).toMatchObject({
        iss: dev.issuer,
        aud: RESOURCE,
        sub: 'alice',
        client_id: 'thumbnail-web',
        scope: 'thumbnails.read',
      });
      expect(Number(payload.exp) - Number(payload.iat)).toBe(300);
      const { id_token: idToken } = res.json();
      expect(verifyEs256(String(idToken), jwks).payload).toMatchObject({
        iss: dev.issuer,
        aud: 'thumbnail-web',
        sub: 'alice',
      });
    });
  });

  describe('with @secure-api/nestjs', () => {
    let app: BootedApp;

    beforeAll(async () => {
      app = await bootApp(
        ScopesAppFixture.with({
          auth: { issuer: dev.issuer, audience: RESOURCE, requireTokenType: 'at+jwt' },
        }),
        { adapter: 'express' },
      );
    });

    afterAll(async () => {
      await app?.close();
    });

    const call = (method: 'GET' | 'POST', token?: string): Promise<LoopbackResponse> =>
      loopbackRequest(`${app.url}/thumbnails`, {
        method,
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      });

    it('accepts a dev-issuer token on a route of its scope and refuses it without the scope', async () => {
      const from = freshLoopbackAddress();
      const uploader = accessToken(
        await clientCredentials(UPLOADER, { scope: 'thumbnails.write' }, from),
      );
      const reader = accessToken(
        await clientCredentials(READER, { scope: 'thumbnails.read' }, from),
      );

      const created = await call('POST', uploader);
      expect(created.status).toBe(201);
      expect(created.json()).toEqual({ subject: UPLOADER.id });
      expect((await call('GET', reader)).status).toBe(200);

      const forbidden = await call('POST', reader);
      expect(forbidden.status).toBe(403);
      expect(forbidden.headers['www-authenticate']).toMatch(/insufficient_scope/);
      expect(forbidden.json()).toMatchObject({ code: SecureApiErrorCode.INSUFFICIENT_SCOPE });
      expect((await call('GET', uploader)).status).toBe(403);
      expect((await call('GET')).status).toBe(401);
    });
  });
  describe('with @secure-api/nestjs over mutual TLS', () => {
    let dir: string;
    let app: BootedApp;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'dev-issuer-mtls-'));
      const { certFile, keyFile, caFile } = await pki.writeTo(dir);
      const tls: TlsOptions = { certFile, keyFile, caFile };
      app = await bootApp(
        ScopesAppFixture.with({ auth: { issuer: dev.issuer, audience: RESOURCE }, tls }),
        { adapter: 'express', nestOptions: { httpsOptions: createHttpsOptions(tls) } },
      );
    });

    afterAll(async () => {
      await app?.close();
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    });

    const list = (token: string, client: TestCertificate): Promise<LoopbackResponse> =>
      loopbackRequest(`${app.url}/thumbnails`, {
        headers: { authorization: `Bearer ${token}` },
        tls: { ca: pki.ca.cert, cert: client.cert, key: client.key },
      });

    it('accepts a certificate-bound token over its certificate only', async () => {
      const token = accessToken(await mtlsToken(worker, { scope: 'thumbnails.read' }));
      const other = await pki.client('spiffe://example.org/sa/thief');

      expect((await list(token, worker)).status).toBe(200);
      const stolen = await list(token, other);
      expect(stolen.status).toBe(401);
      expect(stolen.headers['www-authenticate']).toMatch(/invalid_token/);
      expect(stolen.json()).toMatchObject({ code: SecureApiErrorCode.TOKEN_INVALID });
    });
  });
});
