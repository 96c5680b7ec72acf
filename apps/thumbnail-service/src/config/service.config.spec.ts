import { DEFAULTS, loadServiceConfig } from './service.config.js';

describe('loadServiceConfig', () => {
  it('defaults to loopback', () => {
    expect(loadServiceConfig({})).toEqual({
      host: '127.0.0.1',
      port: 3000,
      authIssuer: DEFAULTS.authIssuer,
      authAudience: DEFAULTS.authAudience,
    });
    expect(new URL(DEFAULTS.authIssuer).hostname).toBe('127.0.0.1');
  });

  it('reads AUTH_ISSUER, AUTH_AUDIENCE, HOST and PORT', () => {
    expect(
      loadServiceConfig({
        AUTH_ISSUER: 'https://id.example.com',
        AUTH_AUDIENCE: 'https://thumbs.example.com',
        HOST: '::1',
        PORT: '8443',
      }),
    ).toEqual({
      host: '::1',
      port: 8443,
      authIssuer: 'https://id.example.com',
      authAudience: 'https://thumbs.example.com',
    });
  });

  it.each([['abc'], ['70000'], ['-1'], ['1.5']])('refuses PORT=%s', (port) => {
    expect(() => loadServiceConfig({ PORT: port })).toThrow(
      `PORT must be an integer from 0 to 65535 (got "${port}")`,
    );
  });
});
