import {
  constants,
  createHmac,
  createPublicKey,
  timingSafeEqual,
  verify,
  type JsonWebKey,
} from 'node:crypto';
import { httpRequest } from './http-request.js';
import { SIGNING_ALGORITHMS, type SigningAlgorithm } from './jwt-signing.js';
import { createLocalIssuer, type LocalIssuer } from './local-issuer.js';

interface DecodedToken {
  readonly header: Record<string, unknown>;
  readonly payload: Record<string, unknown>;
  readonly signature: string;
}

function decode(token: string): DecodedToken {
  const [header = '', payload = '', signature, ...rest] = token.split('.');
  expect(signature).toBeDefined();
  expect(rest).toEqual([]);
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString()) as Record<string, unknown>,
    payload: JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>,
    signature: signature ?? '',
  };
}

/** Verifies independently of the issuer's signing code: explicit salt and signature sizes. */
function verifyWithJwk(token: string, jwk: JsonWebKey, alg: SigningAlgorithm): boolean {
  const [header, payload, signature = ''] = token.split('.');
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  const bits = Number(alg.slice(2));
  const hash = `sha${bits}`;
  const data = Buffer.from(`${header}.${payload}`);
  const sig = Buffer.from(signature, 'base64url');
  if (alg.startsWith('PS')) {
    const options = { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: bits / 8 };
    return verify(hash, data, options, sig);
  }
  if (alg.startsWith('ES')) {
    const curveBytes = { 256: 32, 384: 48, 512: 66 }[bits as 256 | 384 | 512];
    expect(sig).toHaveLength(2 * curveBytes);
    return verify(hash, data, { key, dsaEncoding: 'ieee-p1363' }, sig);
  }
  return verify(hash, data, key, sig);
}

async function fetchJwks(issuer: LocalIssuer): Promise<JsonWebKey[]> {
  const res = await httpRequest(issuer.jwksUri);
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toBe('application/json');
  return res.json<{ keys: JsonWebKey[] }>().keys;
}

async function kidsServed(issuer: LocalIssuer): Promise<unknown[]> {
  return (await fetchJwks(issuer)).map((jwk) => jwk['kid']);
}

/** Yields to the event loop until `condition` holds; no timers involved. */
async function until(condition: () => boolean): Promise<void> {
  for (let turn = 0; turn < 10_000 && !condition(); turn += 1) {
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  expect(condition()).toBe(true);
}

const NOW_MS = Date.UTC(2030, 0, 2, 3, 4, 5, 678);
const NOW = Math.floor(NOW_MS / 1000);

describe('createLocalIssuer()', () => {
  let issuer: LocalIssuer;

  beforeAll(async () => {
    issuer = await createLocalIssuer({ algorithms: [...SIGNING_ALGORITHMS] });
  });

  afterAll(async () => {
    await issuer.close();
  });

  it('listens on loopback and derives the issuer URLs from the port', () => {
    expect(issuer.url).toBe(`http://127.0.0.1:${issuer.port}`);
    expect(issuer.jwksUri).toBe(`${issuer.url}/jwks`);
    expect(issuer.discoveryUri).toBe(`${issuer.url}/.well-known/openid-configuration`);
    expect(issuer.audience).toBe('https://api.test.local');
  });

  describe.each(SIGNING_ALGORITHMS)('mint({ alg: %s })', (alg) => {
    it('is verified by the JWK served at jwksUri', async () => {
      const token = issuer.mint({ alg });
      const { header } = decode(token);
      expect(header).toEqual({ alg, typ: 'JWT', kid: issuer.key(alg).kid });

      const jwk = (await fetchJwks(issuer)).find((candidate) => candidate['kid'] === header['kid']);
      expect(jwk).toMatchObject({ alg, use: 'sig', kty: alg.startsWith('ES') ? 'EC' : 'RSA' });
      expect(verifyWithJwk(token, jwk ?? {}, alg)).toBe(true);

      const [h, , s] = token.split('.');
      const forged = `${h}.${Buffer.from('{"sub":"admin"}').toString('base64url')}.${s}`;
      expect(verifyWithJwk(forged, jwk ?? {}, alg)).toBe(false);
    });
  });

  it('publishes public JWKs without private members', async () => {
    const jwks = await fetchJwks(issuer);
    expect(jwks.map((jwk) => jwk['kid'])).toEqual(issuer.publishedKeys.map((key) => key.kid));
    for (const jwk of jwks) {
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']) {
        expect(jwk).not.toHaveProperty(member);
      }
    }
    expect(new Set(jwks.map((jwk) => jwk['kid'])).size).toBe(SIGNING_ALGORITHMS.length);
    expect(jwks.find((jwk) => jwk['alg'] === 'ES512')).toMatchObject({ crv: 'P-521' });
  });

  describe('claims', () => {
    it('defaults iss, aud, sub, client_id, iat, exp and a fresh jti, from Date.now()', () => {
      jest.spyOn(Date, 'now').mockReturnValue(NOW_MS);
      const first = decode(issuer.mint()).payload;
      const second = decode(issuer.mint()).payload;

      expect(first).toEqual({
        iss: issuer.url,
        aud: 'https://api.test.local',
        sub: 'user-123',
        client_id: 'client-abc',
        iat: NOW,
        exp: NOW + 300,
        jti: expect.any(String),
      });
      expect(second['jti']).not.toBe(first['jti']);
    });

    it('applies subject, scope and expiresInSeconds', () => {
      jest.spyOn(Date, 'now').mockReturnValue(NOW_MS);
      const payload = decode(
        issuer.mint({
          subject: 'svc-9',
          scope: ['images:read', 'images:write'],
          expiresInSeconds: 60,
        }),
      ).payload;

      expect(payload).toMatchObject({
        sub: 'svc-9',
        scope: 'images:read images:write',
        exp: NOW + 60,
      });
      expect(decode(issuer.mint({ scope: 'a b' })).payload['scope']).toBe('a b');
      expect(decode(issuer.mint()).payload).not.toHaveProperty('scope');
    });

    it('merges claims over the defaults, and undefined removes one', () => {
      const payload = decode(
        issuer.mint({
          scope: 'ignored',
          claims: { sub: undefined, exp: undefined, aud: ['a', 'b'], scope: 'wins', tenant: 't-1' },
        }),
      ).payload;

      expect(payload).not.toHaveProperty('sub');
      expect(payload).not.toHaveProperty('exp');
      expect(payload).toMatchObject({ aud: ['a', 'b'], scope: 'wins', tenant: 't-1' });
      expect(payload['iss']).toBe(issuer.url);
    });

    it('encodes a "__proto__" claim as a member', () => {
      const claims = JSON.parse('{"__proto__":{"admin":true}}') as Record<string, unknown>;
      const [, payload = ''] = issuer.mint({ claims }).split('.');
      expect(Buffer.from(payload, 'base64url').toString()).toContain('"__proto__":{"admin":true}');
    });

    it('merges header over the default, and undefined removes a field', () => {
      const { header } = decode(
        issuer.mint({ header: { typ: undefined, kid: 'other', cty: 'JWT', jku: 'https://x' } }),
      );
      expect(header).toEqual({ alg: 'RS256', kid: 'other', cty: 'JWT', jku: 'https://x' });
    });

    it('signs for options.alg even when header.alg claims another', () => {
      const token = issuer.mint({ alg: 'PS256', header: { alg: 'RS256' } });
      expect(decode(token).header['alg']).toBe('RS256');
      expect(verifyWithJwk(token, issuer.key('PS256').publicJwk, 'PS256')).toBe(true);
      expect(verifyWithJwk(token, issuer.key('PS256').publicJwk, 'RS256')).toBe(false);
    });

    it.each([
      ['expired', { expired: true }, { iat: NOW - 7200, exp: NOW - 3600 }],
      ['notYetValid', { notYetValid: true }, { iat: NOW, nbf: NOW + 3600 }],
      ['wrongAudience', { wrongAudience: true }, { aud: 'https://someone-else.test' }],
      ['wrongIssuer', { wrongIssuer: true }, { iss: 'https://evil.test' }],
    ])('%s shortcut', (_name, options, expected) => {
      jest.spyOn(Date, 'now').mockReturnValue(NOW_MS);
      expect(decode(issuer.mint(options)).payload).toMatchObject(expected);
    });

    it('signs with an explicit key and takes its alg and kid', () => {
      const key = issuer.createKey('ES384');
      const token = issuer.mint({ key });
      expect(decode(token).header).toMatchObject({ alg: 'ES384', kid: key.kid });
      expect(verifyWithJwk(token, key.publicJwk, 'ES384')).toBe(true);
    });
  });

  describe('unsigned and HMAC tokens', () => {
    it("alg 'none' has an empty signature and no kid", () => {
      const token = issuer.mint({ alg: 'none' });
      expect(token.endsWith('.')).toBe(true);
      expect(decode(token)).toMatchObject({ header: { alg: 'none', typ: 'JWT' }, signature: '' });
      expect(decode(token).header).not.toHaveProperty('kid');
    });

    it("alg 'HS256' with hmacSecret verifies with createHmac", () => {
      const token = issuer.mint({ alg: 'HS256', hmacSecret: 'shh' });
      const [header, payload, signature = ''] = token.split('.');
      const expected = createHmac('sha256', 'shh').update(`${header}.${payload}`).digest();
      expect(timingSafeEqual(Buffer.from(signature, 'base64url'), expected)).toBe(true);
      expect(decode(token).header).toEqual({ alg: 'HS256', typ: 'JWT' });
    });

    it("alg 'HS256' with a key uses its public key PEM as secret and its kid (key confusion)", () => {
      const rsa = issuer.key('RS256');
      const pem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
      const token = issuer.mint({ alg: 'HS256', key: rsa });
      const [header, payload, signature] = token.split('.');

      expect(decode(token).header['kid']).toBe(rsa.kid);
      expect(signature).toBe(
        createHmac('sha256', pem).update(`${header}.${payload}`).digest('base64url'),
      );
    });

    it("alg 'HS256' without a secret or key is refused", () => {
      expect(() => issuer.mint({ alg: 'HS256' })).toThrow(
        'mint({ alg: "HS256" }) needs "hmacSecret", or a "key" whose public key PEM becomes the secret.',
      );
    });
  });

  describe('signRaw()', () => {
    it('signs per header.alg with the current key by default', () => {
      const token = issuer.signRaw({ alg: 'PS384', kid: 'k' }, { sub: 'a' });
      expect(decode(token)).toMatchObject({
        header: { alg: 'PS384', kid: 'k' },
        payload: { sub: 'a' },
      });
      expect(verifyWithJwk(token, issuer.key('PS384').publicJwk, 'PS384')).toBe(true);
    });

    it("uses string segments as they are; an unreadable alg is the key's", () => {
      const key = issuer.key('ES256');
      const token = issuer.signRaw('{"alg":"ES256","kid":"x"', 'not json', key);
      const [header, payload] = token.split('.');
      expect(Buffer.from(header ?? '', 'base64url').toString()).toBe('{"alg":"ES256","kid":"x"');
      expect(Buffer.from(payload ?? '', 'base64url').toString()).toBe('not json');
      expect(verifyWithJwk(token, key.publicJwk, 'ES256')).toBe(true);
      expect(issuer.signRaw('{"alg":"ES256"', 'x').endsWith('.')).toBe(true);
    });

    it('signs HS384 with an hmacSecret', () => {
      const token = issuer.signRaw({ alg: 'HS384' }, { sub: 'x' }, { hmacSecret: 'k' });
      const [header, payload, signature] = token.split('.');
      expect(signature).toBe(
        createHmac('sha384', 'k').update(`${header}.${payload}`).digest('base64url'),
      );
    });

    it('gives an empty signature for odd algs without a key, and refuses them with one', () => {
      expect(issuer.signRaw({ alg: 'nOnE' }, {}).endsWith('.')).toBe(true);
      expect(issuer.signRaw({ typ: 'JWT' }, {}).endsWith('.')).toBe(true);
      const key = issuer.key('RS256');
      expect(() => issuer.signRaw({ alg: 'none' }, {}, key)).toThrow(
        `signRaw: header alg "none" cannot be signed with key "${key.kid}"; omit the key for an empty signature`,
      );
      expect(() => issuer.signRaw({ alg: 'RS256' }, {}, { hmacSecret: 'k' })).toThrow(
        'signRaw: an hmacSecret signs HS256/HS384/HS512 only (header alg "RS256")',
      );
    });
  });

  describe('keys', () => {
    it('refuses key() for an algorithm it holds no key for', async () => {
      const small = await createLocalIssuer({ algorithms: ['ES256'] });
      try {
        expect(() => small.key('RS256')).toThrow(/no "RS256" key\. Potential solutions/);
        expect(() => small.mint()).toThrow(TypeError);
      } finally {
        await small.close();
      }
    });

    it('createKey() publishes only when asked, with a chosen kid and modulus', async () => {
      const hidden = issuer.createKey('RS512', { modulusLength: 3072 });
      const shown = issuer.createKey('PS384', { publish: true, kid: 'chosen-kid' });

      expect(hidden.publicKey.asymmetricKeyDetails?.modulusLength).toBe(3072);
      expect(shown.kid).toBe('chosen-kid');
      const kids = await kidsServed(issuer);
      expect(kids).toContain('chosen-kid');
      expect(kids).not.toContain(hidden.kid);

      issuer.unpublish('chosen-kid');
      expect(await kidsServed(issuer)).not.toContain('chosen-kid');
      expect(() => issuer.createKey('ES256', { modulusLength: 2048 })).toThrow(
        'createKey: "modulusLength" applies to RSA keys only, not ES256',
      );
    });

    it('publishRawJwk() serves the object as given until unpublished by kid', async () => {
      issuer.publishRawJwk({ kty: 'oct', kid: 'raw-1', k: 'c2VjcmV0' });
      const jwks = await fetchJwks(issuer);
      expect(jwks.at(-1)).toEqual({ kty: 'oct', kid: 'raw-1', k: 'c2VjcmV0' });

      issuer.unpublish('raw-1');
      expect(await kidsServed(issuer)).not.toContain('raw-1');
    });
  });

  it.each(['tenant-a', '/tenant-a/', '/a?b', '/'])('refuses the path option %j', async (path) => {
    await expect(createLocalIssuer({ path })).rejects.toThrow(
      `"path" must be empty or start with "/", not end with "/" and hold no "?" or "#" (got ${JSON.stringify(path)})`,
    );
  });

  it('refuses an unknown or repeated algorithm', async () => {
    await expect(
      createLocalIssuer({ algorithms: ['RS256', 'HS256' as SigningAlgorithm] }),
    ).rejects.toThrow('"algorithms[1]" must be one of RS256, RS384, RS512, PS256, PS384, PS512');
    await expect(createLocalIssuer({ algorithms: ['ES256', 'ES256'] })).rejects.toThrow(
      '"algorithms" lists "ES256" twice; rotate() adds further keys',
    );
  });
});

describe('LocalIssuer rotation and JWKS behaviour', () => {
  let issuer: LocalIssuer;

  beforeEach(async () => {
    issuer = await createLocalIssuer({ algorithms: ['RS256', 'ES256'] });
  });

  afterEach(async () => {
    await issuer.close();
  });

  it('rotate() publishes a new current key and keeps the old one', async () => {
    const old = issuer.key('RS256');
    const fresh = issuer.rotate();

    expect(fresh.kid).not.toBe(old.kid);
    expect(issuer.key('RS256')).toBe(fresh);
    expect(decode(issuer.mint()).header['kid']).toBe(fresh.kid);
    expect(await kidsServed(issuer)).toEqual([old.kid, issuer.key('ES256').kid, fresh.kid]);
  });

  it('rotate() with retireOld unpublishes the previous key', async () => {
    const old = issuer.key('ES256');
    const fresh = issuer.rotate('ES256', { retireOld: true });

    const kids = await kidsServed(issuer);
    expect(kids).toContain(fresh.kid);
    expect(kids).not.toContain(old.kid);
    expect(issuer.publishedKeys).toEqual([issuer.key('RS256'), fresh]);
  });

  it('rotate() creates the first key of an algorithm it did not hold', async () => {
    const key = issuer.rotate('PS512');
    expect(issuer.key('PS512')).toBe(key);
    expect(await kidsServed(issuer)).toContain(key.kid);
  });

  it("mode 'error' answers 503 problem+json", async () => {
    issuer.setJwksBehaviour('error');
    const res = await httpRequest(issuer.jwksUri);
    expect(res.status).toBe(503);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.json()).toEqual({ type: 'about:blank', title: 'Service Unavailable', status: 503 });
  });

  it("mode 'garbage' answers 200 with a body that is not JSON", async () => {
    issuer.setJwksBehaviour('garbage');
    const res = await httpRequest(issuer.jwksUri);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(() => JSON.parse(res.text) as unknown).toThrow(SyntaxError);
  });

  it("mode 'empty' answers an empty key set, and 'ok' restores the keys", async () => {
    issuer.setJwksBehaviour('empty');
    expect((await httpRequest(issuer.jwksUri)).json()).toEqual({ keys: [] });
    issuer.setJwksBehaviour('ok');
    expect(await kidsServed(issuer)).toHaveLength(2);
  });

  it("mode 'hang' never answers, so a client timeout fires", async () => {
    issuer.setJwksBehaviour('hang');
    await expect(httpRequest(issuer.jwksUri, { timeoutMs: 50 })).rejects.toMatchObject({
      code: 'ETIMEDOUT',
    });
    expect(issuer.jwksRequests).toBe(1);
  });

  it('refuses an unknown mode', () => {
    expect(() => issuer.setJwksBehaviour('slow' as 'ok')).toThrow(
      'setJwksBehaviour: mode must be one of ok, error, garbage, hang, empty (got "slow")',
    );
  });

  it('close() returns while a request hangs, and resets that request', async () => {
    issuer.setJwksBehaviour('hang');
    const outcome = httpRequest(issuer.jwksUri, { timeoutMs: 10_000 }).then(
      () => 'answered',
      (error: unknown) => error,
    );
    await until(() => issuer.jwksRequests === 1);

    await issuer.close();
    expect(await outcome).toMatchObject({ code: 'ECONNRESET' });
    await expect(issuer.close()).resolves.toBeUndefined();
  });

  it('counts GETs at /jwks in every mode and at both discovery endpoints', async () => {
    await httpRequest(issuer.jwksUri);
    issuer.setJwksBehaviour('error');
    await httpRequest(issuer.jwksUri);
    await httpRequest(issuer.discoveryUri);
    await httpRequest(`${issuer.url}/.well-known/oauth-authorization-server`);
    await httpRequest(issuer.jwksUri, { method: 'POST' });
    await httpRequest(`${issuer.url}/other`);
    expect([issuer.jwksRequests, issuer.discoveryRequests]).toEqual([2, 2]);

    issuer.resetCounts();
    expect([issuer.jwksRequests, issuer.discoveryRequests]).toEqual([0, 0]);
  });

  it('answers 404 to other paths and methods', async () => {
    for (const [url, method] of [
      [`${issuer.url}/jwks/`, 'GET'],
      [`${issuer.url}/nope`, 'GET'],
      [issuer.jwksUri, 'DELETE'],
    ] as const) {
      expect((await httpRequest(url, { method })).status).toBe(404);
    }
    expect((await httpRequest(`${issuer.jwksUri}?x=1`)).status).toBe(200);
  });
});

describe('LocalIssuer discovery', () => {
  it.each(['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server'])(
    'serves %s under the issuer path',
    async (document) => {
      const issuer = await createLocalIssuer({ path: '/tenant-a', algorithms: ['ES256'] });
      try {
        expect(issuer.url).toBe(`http://127.0.0.1:${issuer.port}/tenant-a`);
        const res = await httpRequest(`${issuer.url}${document}`);
        expect(res.status).toBe(200);
        expect(res.json()).toMatchObject({
          issuer: issuer.url,
          jwks_uri: `http://127.0.0.1:${issuer.port}/tenant-a/jwks`,
          id_token_signing_alg_values_supported: ['ES256'],
        });
        expect(issuer.discoveryRequests).toBe(1);
        expect((await httpRequest(issuer.jwksUri)).status).toBe(200);
        expect((await httpRequest(`http://127.0.0.1:${issuer.port}/jwks`)).status).toBe(404);
        expect(decode(issuer.mint({ alg: 'ES256' })).payload['iss']).toBe(issuer.url);
      } finally {
        await issuer.close();
      }
    },
  );
});

describe('LocalIssuer token endpoint (client credentials)', () => {
  const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
  const secret = 'p@ss:word+/ é';
  let issuer: LocalIssuer;

  /** RFC 6749 §2.3.1: each part form-urlencoded, then joined and base64-encoded. */
  function basic(clientId: string, clientSecret: string): string {
    const encode = (value: string): string => new URLSearchParams({ v: value }).toString().slice(2);
    return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`;
  }

  function postToken(
    form: Record<string, string>,
    headers: Record<string, string> = {},
  ): ReturnType<typeof httpRequest> {
    return httpRequest(issuer.tokenEndpoint, {
      method: 'POST',
      headers: { ...FORM, ...headers },
      body: new URLSearchParams(form).toString(),
    });
  }

  beforeEach(async () => {
    issuer = await createLocalIssuer({
      algorithms: ['RS256'],
      clients: [
        { clientId: 'svc-a', clientSecret: secret, scopes: ['images:read', 'images:write'] },
      ],
    });
  });

  afterEach(async () => {
    await issuer.close();
  });

  it('is advertised in the discovery document', async () => {
    expect(issuer.tokenEndpoint).toBe(`${issuer.url}/token`);
    expect((await httpRequest(issuer.discoveryUri)).json()).toMatchObject({
      token_endpoint: issuer.tokenEndpoint,
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      grant_types_supported: ['client_credentials'],
    });
  });

  it('issues a signed Bearer token to client_secret_basic, with no-store', async () => {
    jest.spyOn(Date, 'now').mockReturnValue(NOW_MS);
    const res = await postToken(
      { grant_type: 'client_credentials' },
      { authorization: basic('svc-a', secret) },
    );

    expect(res.status).toBe(200);
    expect(res.headers).toMatchObject({
      'content-type': 'application/json',
      'cache-control': 'no-store',
      pragma: 'no-cache',
    });
    const body = res.json<Record<string, unknown>>();
    expect(body).toEqual({
      access_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: 300,
      scope: 'images:read images:write',
    });
    const token = String(body['access_token']);
    expect(verifyWithJwk(token, issuer.key('RS256').publicJwk, 'RS256')).toBe(true);
    expect(decode(token).payload).toMatchObject({
      iss: issuer.url,
      sub: 'svc-a',
      client_id: 'svc-a',
      aud: issuer.audience,
      scope: 'images:read images:write',
      exp: NOW + 300,
    });
    expect(issuer.tokenRequests).toBe(1);
    expect(issuer.tokenRequestLog).toEqual([
      {
        method: 'POST',
        clientId: 'svc-a',
        authMethod: 'client_secret_basic',
        grantType: 'client_credentials',
        scope: undefined,
        status: 200,
        error: undefined,
      },
    ]);
    expect(JSON.stringify(issuer.tokenRequestLog)).not.toContain('word');
  });

  it('accepts client_secret_post, grants a requested subset and sets aud from resource', async () => {
    const res = await postToken({
      grant_type: 'client_credentials',
      client_id: 'svc-a',
      client_secret: secret,
      scope: 'images:read',
      resource: 'https://images.internal',
    });

    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ scope: 'images:read' });
    expect(decode(res.json<{ access_token: string }>().access_token).payload).toMatchObject({
      scope: 'images:read',
      aud: 'https://images.internal',
    });
    expect(issuer.tokenRequestLog[0]).toMatchObject({
      authMethod: 'client_secret_post',
      scope: 'images:read',
    });
  });

  it.each([
    [
      'a wrong secret (Basic), with a challenge',
      { grant_type: 'client_credentials' },
      { authorization: basic('svc-a', 'nope') },
      401,
      'invalid_client',
    ],
    [
      'an unknown client (post)',
      { grant_type: 'client_credentials', client_id: 'who', client_secret: secret },
      {},
      401,
      'invalid_client',
    ],
    ['no client authentication', { grant_type: 'client_credentials' }, {}, 401, 'invalid_client'],
    [
      'malformed Basic credentials',
      { grant_type: 'client_credentials' },
      { authorization: 'Basic !!!' },
      401,
      'invalid_client',
    ],
    [
      'two authentication methods',
      { grant_type: 'client_credentials', client_secret: secret },
      { authorization: basic('svc-a', secret) },
      400,
      'invalid_request',
    ],
    [
      'a missing grant_type',
      { client_id: 'svc-a', client_secret: secret },
      {},
      400,
      'invalid_request',
    ],
    [
      'another grant type',
      { grant_type: 'password', client_id: 'svc-a', client_secret: secret },
      {},
      400,
      'unsupported_grant_type',
    ],
    [
      'a scope the client does not hold',
      { grant_type: 'client_credentials', scope: 'images:read admin' },
      { authorization: basic('svc-a', secret) },
      400,
      'invalid_scope',
    ],
    [
      'an empty scope',
      { grant_type: 'client_credentials', scope: '' },
      { authorization: basic('svc-a', secret) },
      400,
      'invalid_scope',
    ],
    [
      'a resource that is not an absolute URI',
      { grant_type: 'client_credentials', resource: 'images' },
      { authorization: basic('svc-a', secret) },
      400,
      'invalid_target',
    ],
  ])('refuses %s (RFC 6749 §5.2)', async (_name, form, headers, status, error) => {
    const res = await postToken(form, headers);

    expect(res.status).toBe(status);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.json()).toEqual({ error, error_description: expect.any(String) });
    expect(res.headers['www-authenticate']).toBe(
      'authorization' in headers && status === 401 ? 'Basic realm="local-issuer"' : undefined,
    );
    expect(issuer.tokenRequestLog).toEqual([expect.objectContaining({ status, error })]);
  });

  it('refuses other methods, other media types and repeated parameters', async () => {
    const get = await httpRequest(issuer.tokenEndpoint);
    expect([get.status, get.headers['allow'], get.json()]).toEqual([
      405,
      'POST',
      expect.objectContaining({ error: 'invalid_request' }),
    ]);
    const json = await httpRequest(issuer.tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basic('svc-a', secret) },
      body: JSON.stringify({ grant_type: 'client_credentials' }),
    });
    expect([json.status, json.json()]).toEqual([
      400,
      expect.objectContaining({ error: 'invalid_request' }),
    ]);
    const twice = await httpRequest(issuer.tokenEndpoint, {
      method: 'POST',
      headers: { ...FORM, authorization: basic('svc-a', secret) },
      body: 'grant_type=client_credentials&scope=images:read&scope=images:write',
    });
    expect([twice.status, twice.json()]).toEqual([
      400,
      { error: 'invalid_request', error_description: 'the parameter "scope" is repeated' },
    ]);
    expect(issuer.tokenRequests).toBe(3);
  });

  it('uses setTokenExpiresIn(), a client of its own, and resets counts', async () => {
    jest.spyOn(Date, 'now').mockReturnValue(NOW_MS);
    issuer.setTokenExpiresIn(30);
    issuer.registerClient({ clientId: 'svc-b', clientSecret: 'b', expiresInSeconds: 7 });

    const a = await postToken(
      { grant_type: 'client_credentials' },
      { authorization: basic('svc-a', secret) },
    );
    const b = await postToken(
      { grant_type: 'client_credentials' },
      { authorization: basic('svc-b', 'b') },
    );

    expect(a.json()).toMatchObject({ expires_in: 30 });
    expect(decode(a.json<{ access_token: string }>().access_token).payload['exp']).toBe(NOW + 30);
    // No scopes registered: none granted, and no scope member.
    expect(b.json()).toEqual({
      access_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: 7,
    });
    expect(issuer.tokenRequests).toBe(2);
    issuer.resetCounts();
    expect([issuer.tokenRequests, issuer.tokenRequestLog]).toEqual([0, []]);
  });

  it('refuses invalid clients and lifetimes', async () => {
    expect(() => issuer.registerClient({ clientId: '', clientSecret: 'x' })).toThrow(
      '"registerClient(client).clientId" must be a non-empty string',
    );
    expect(() =>
      issuer.registerClient({ clientId: 'x', clientSecret: 'x', scopes: ['a b'] }),
    ).toThrow('"registerClient(client).scopes[0]" must be an RFC 6749 scope token');
    expect(() => issuer.setTokenExpiresIn(0)).toThrow(
      'setTokenExpiresIn: "seconds" must be a positive integer (seconds)',
    );
    await expect(createLocalIssuer({ tokenExpiresInSeconds: 1.5 })).rejects.toThrow(
      '"tokenExpiresInSeconds" must be a positive integer (seconds)',
    );
    await expect(
      createLocalIssuer({ clients: [{ clientId: 'x', clientSecret: '' }] }),
    ).rejects.toThrow('"clients[0].clientSecret" must be a non-empty string');
  });
});
