import { createServer } from 'node:net';
import {
  ADAPTERS,
  bootApp,
  type BootedApp,
  createLocalIssuer,
  httpRequest,
  type LocalIssuer,
} from '@secure-api/testing';
import { AppModule } from '../../src/app.module.js';
import { loadServiceConfig } from '../../src/config/service.config.js';

const AUDIENCE = 'https://thumbnails.test';

function closedLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

describe.each(ADAPTERS)('thumbnail service skeleton (%s)', (adapter) => {
  let issuer: LocalIssuer;
  let service: BootedApp;

  beforeAll(async () => {
    issuer = await createLocalIssuer({ audience: AUDIENCE });
    const config = loadServiceConfig({ AUTH_ISSUER: issuer.url, AUTH_AUDIENCE: AUDIENCE });
    service = await bootApp(AppModule.register(config), { adapter });
  });

  afterAll(async () => {
    await service?.close();
    await issuer?.close();
  });

  it('answers the liveness probe without a token', async () => {
    const response = await httpRequest(`${service.url}/health/live`);
    expect(response.status).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
  });

  it('is ready once the issuer keys are loaded through discovery', async () => {
    const response = await httpRequest(`${service.url}/health/ready`);
    expect(response.status).toBe(200);
    expect(response.json()).toEqual({ status: 'ok', keys: issuer.publishedKeys.length });
    expect(issuer.discoveryRequests).toBeGreaterThanOrEqual(1);
  });

  it('lists thumbnails for a token with thumbnails.read', async () => {
    const token = issuer.mint({ scope: 'thumbnails.read', subject: 'alice' });
    const response = await httpRequest(`${service.url}/thumbnails`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(200);
    expect(response.json()).toEqual({ items: [], subject: 'alice' });
  });

  it('refuses a request without a token with 401 and a Bearer challenge', async () => {
    const response = await httpRequest(`${service.url}/thumbnails`);
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer realm="secure-api"');
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.json()).toMatchObject({ status: 401, code: 'ERR_SECURE_API_TOKEN_MISSING' });
  });

  it('refuses a token without thumbnails.read with 403 insufficient_scope', async () => {
    const token = issuer.mint({ scope: 'thumbnails.write' });
    const response = await httpRequest(`${service.url}/thumbnails`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(403);
    expect(response.headers['www-authenticate']).toBe(
      'Bearer realm="secure-api", error="insufficient_scope", scope="thumbnails.read"',
    );
    expect(response.json()).toMatchObject({ code: 'ERR_SECURE_API_INSUFFICIENT_SCOPE' });
    expect(response.text).not.toContain(token);
  });

  it('refuses a token minted for another audience', async () => {
    const token = issuer.mint({ scope: 'thumbnails.read', wrongAudience: true });
    const response = await httpRequest(`${service.url}/thumbnails`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(401);
    expect(response.json()).toMatchObject({ code: 'ERR_SECURE_API_TOKEN_INVALID' });
  });
});

describe.each(ADAPTERS)('thumbnail service with an unreachable issuer (%s)', (adapter) => {
  let service: BootedApp;

  beforeAll(async () => {
    const port = await closedLoopbackPort();
    const config = loadServiceConfig({
      AUTH_ISSUER: `http://127.0.0.1:${port}`,
      AUTH_AUDIENCE: AUDIENCE,
    });
    service = await bootApp(AppModule.register(config), { adapter });
  });

  afterAll(async () => {
    await service?.close();
  });

  it('still starts and stays live', async () => {
    const response = await httpRequest(`${service.url}/health/live`);
    expect(response.status).toBe(200);
  });

  it('reports not ready with 503 problem+json and Retry-After', async () => {
    const response = await httpRequest(`${service.url}/health/ready`);
    expect(response.status).toBe(503);
    expect(response.headers['retry-after']).toBe('5');
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.json()).toMatchObject({ status: 503, code: 'ERR_SECURE_API_JWKS_UNAVAILABLE' });
  });
});
