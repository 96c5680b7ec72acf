import { SecureApiErrorCode } from '@secure-api/nestjs';
import {
  ADAPTERS,
  bootApp,
  type BootedApp,
  createLocalIssuer,
  httpRequest,
  type LocalIssuer,
} from '@secure-api/testing';
import { ProfileFixture } from './fixtures/profile.fixture.js';

// The guard hands passport its own strategy object, a fresh Object.create() per request: these
// tests pin the two reasons, requests verified at the same time never share passport's
// per-request callbacks, and two apps in one process never share an issuer.

const read = (booted: BootedApp, token: string) =>
  httpRequest(`${booted.url}/profile`, { headers: { authorization: `Bearer ${token}` } });

describe.each(ADAPTERS)('request and app isolation on %s', (adapter) => {
  let issuerA: LocalIssuer;
  let issuerB: LocalIssuer;
  let appA: BootedApp;
  let appB: BootedApp;

  beforeAll(async () => {
    [issuerA, issuerB] = await Promise.all([createLocalIssuer(), createLocalIssuer()]);
    // Both apps are up at once, each with its own issuer and no token cache, so every request
    // goes through passport.
    const boot = (issuer: LocalIssuer): Promise<BootedApp> =>
      bootApp(
        ProfileFixture.with({
          auth: { issuer: issuer.url, audience: issuer.audience, tokenCache: false },
        }),
        { adapter },
      );
    [appA, appB] = await Promise.all([boot(issuerA), boot(issuerB)]);
  });

  afterAll(async () => {
    await Promise.all([appA, appB].map((booted) => booted?.close()));
    await Promise.all([issuerA, issuerB].map((issuer) => issuer?.close()));
  });

  it('gives each of 60 concurrent requests the principal of its own token', async () => {
    // Signed with a key rotated in after boot: every request waits for the same JWKS refetch,
    // so all 60 verifications are in flight together and resume interleaved.
    const rotated = issuerA.rotate('RS256');
    const subjects = Array.from({ length: 60 }, (_, index) => `user-${index}`);
    const responses = await Promise.all(
      subjects.map((subject, index) =>
        read(
          appA,
          issuerA.mint({
            key: rotated,
            subject,
            scope: 'profile.read',
            // Every third token is forged, interleaving failures with successes.
            ...(index % 3 === 2 ? { wrongIssuer: true } : {}),
          }),
        ),
      ),
    );
    responses.forEach((response, index) => {
      if (index % 3 === 2) {
        expect(response.status).toBe(401);
        expect(response.json()).toMatchObject({ code: SecureApiErrorCode.TOKEN_INVALID });
      } else {
        expect(response.status).toBe(200);
        expect(response.json()).toMatchObject({ subject: subjects[index] });
      }
    });
  });

  it('keeps the issuers of two apps in one process apart', async () => {
    const tokenA = issuerA.mint({ scope: 'profile.read', subject: 'from-a' });
    const tokenB = issuerB.mint({ scope: 'profile.read', subject: 'from-b' });
    const [aOnA, bOnB, aOnB, bOnA] = await Promise.all([
      read(appA, tokenA),
      read(appB, tokenB),
      read(appB, tokenA),
      read(appA, tokenB),
    ]);
    expect(aOnA.status).toBe(200);
    expect(aOnA.json()).toMatchObject({ subject: 'from-a', issuer: issuerA.url });
    expect(bOnB.status).toBe(200);
    expect(bOnB.json()).toMatchObject({ subject: 'from-b', issuer: issuerB.url });
    expect(aOnB.status).toBe(401);
    expect(bOnA.status).toBe(401);
  });
});
