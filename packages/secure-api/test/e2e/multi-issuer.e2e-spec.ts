import { JwksKeyStore, SecureApiErrorCode } from '@secure-api/nestjs';
import {
  ADAPTERS,
  bootApp,
  type BootedApp,
  createLocalIssuer,
  httpRequest,
  type LocalIssuer,
} from '@secure-api/testing';
import { JWKS_READ_SCOPE, JwksAppFixture } from './fixtures/jwks-app.fixture.js';

// Two issuers (two tenants) trusted by one service: each token is checked against the keys of
// the issuer it names, found through that issuer's own discovery document.

const AUDIENCE = 'https://reports.test';

describe.each(ADAPTERS)('several issuers on %s', (adapter) => {
  let tenantA: LocalIssuer;
  let tenantB: LocalIssuer;
  let stranger: LocalIssuer;
  let booted: BootedApp;

  const get = (token: string) =>
    httpRequest(`${booted.url}/reports`, { headers: { authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    [tenantA, tenantB, stranger] = await Promise.all([
      createLocalIssuer({ audience: AUDIENCE, path: '/tenant-a' }),
      createLocalIssuer({ audience: AUDIENCE, path: '/tenant-b' }),
      createLocalIssuer({ audience: AUDIENCE }),
    ]);
    booted = await bootApp(
      JwksAppFixture.with({ auth: { issuer: [tenantA.url, tenantB.url], audience: AUDIENCE } }),
      { adapter },
    );
  });

  afterAll(async () => {
    await booted?.close();
    await Promise.all([tenantA, tenantB, stranger].map((issuer) => issuer?.close()));
  });

  it('discovers and loads the keys of each issuer at bootstrap', () => {
    const status = booted.app.get(JwksKeyStore).status();
    expect(status.ready).toBe(true);
    expect(status.sources.map((source) => [source.issuer, source.jwksUri])).toEqual([
      [tenantA.url, tenantA.jwksUri],
      [tenantB.url, tenantB.jwksUri],
    ]);
    expect(tenantA.discoveryRequests).toBeGreaterThanOrEqual(1);
    expect(tenantB.discoveryRequests).toBeGreaterThanOrEqual(1);
  });

  it.each([
    ['tenant A', () => tenantA],
    ['tenant B', () => tenantB],
  ])('accepts a token of %s', async (_name, issuer) => {
    const response = await get(issuer().mint({ scope: JWKS_READ_SCOPE, subject: 'u-1' }));
    expect(response.status).toBe(200);
    expect(response.json()).toEqual({ subject: 'u-1' });
  });

  it("refuses a token that names tenant A but is signed with tenant B's key", async () => {
    const token = tenantB.mint({ scope: JWKS_READ_SCOPE, claims: { iss: tenantA.url } });
    const response = await get(token);
    expect(response.status).toBe(401);
    expect(response.json()).toMatchObject({ code: SecureApiErrorCode.TOKEN_INVALID });
    expect(response.text).not.toContain(token);
  });

  it('refuses a token of an issuer it does not trust, without contacting that issuer', async () => {
    stranger.resetCounts();
    const response = await get(stranger.mint({ scope: JWKS_READ_SCOPE }));
    expect(response.status).toBe(401);
    expect(response.json()).toMatchObject({ code: SecureApiErrorCode.TOKEN_INVALID });
    expect(stranger.jwksRequests + stranger.discoveryRequests).toBe(0);
  });
});
