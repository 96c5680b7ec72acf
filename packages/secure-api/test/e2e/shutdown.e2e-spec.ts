import {
  ADAPTERS,
  bootApp,
  type BootedApp,
  createLocalIssuer,
  httpRequest,
  type LocalIssuer,
} from '@secure-api/testing';
import { ProfileFixture } from './fixtures/profile.fixture.js';

/** Yields to the event loop until `done()` holds, at most `turns` times. */
async function until(done: () => boolean, turns = 100_000): Promise<void> {
  for (let turn = 0; turn < turns && !done(); turn += 1) {
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  if (!done()) throw new Error('condition not reached');
}

describe.each(ADAPTERS)('shutdown on %s', (adapter) => {
  let issuer: LocalIssuer;
  let booted: BootedApp | undefined;

  beforeEach(async () => {
    issuer = await createLocalIssuer();
    booted = await bootApp(
      ProfileFixture.with({
        auth: {
          issuer: issuer.url,
          audience: issuer.audience,
          jwksUri: issuer.jwksUri,
          // Far longer than the test may take: only the shutdown abort can end the fetch.
          jwks: { fetchTimeoutSeconds: 60 },
        },
      }),
      { adapter },
    );
  });

  afterEach(async () => {
    await booted?.close();
    await issuer.close();
  });

  it('aborts a key-set fetch under way instead of waiting for the issuer', async () => {
    const app = booted as BootedApp;
    issuer.setJwksBehaviour('hang');
    const pending = httpRequest(`${app.url}/profile`, {
      headers: {
        authorization: `Bearer ${issuer.mint({ scope: 'profile.read', header: { kid: 'not-yet-published' } })}`,
      },
    }).catch((error: unknown) => error);
    // The unknown kid makes the store refetch; the issuer now holds that request open.
    await until(() => issuer.jwksRequests === 2);

    booted = undefined;
    await app.close();

    // The request was cut off with the server, never answered from a fetch that completed.
    const outcome = await pending;
    // (An Error from Node's realm, not the test's: compared by shape, not with instanceof.)
    expect(outcome).not.toHaveProperty('status');
    expect(outcome).toHaveProperty('message', expect.stringMatching(/socket hang up|ECONNRESET/));
    expect(issuer.jwksRequests).toBe(2);
  });
});
