import { Test } from '@nestjs/testing';
import { SecureApiErrorCode } from '../errors/secure-api-error-code.js';
import { SecureHttpClient } from './secure-http-client.js';
import { provideSecureHttpClient } from './secure-http-client.provider.js';

const IMAGES_API = Symbol('IMAGES_API');
const CONFIG = Symbol('CONFIG');

describe('provideSecureHttpClient()', () => {
  it('provides a client under the token, closed when the application shuts down', async () => {
    const moduleRef = await Test.createTestingModule({
      providers: [provideSecureHttpClient(IMAGES_API, { baseUrl: 'https://images.example' })],
    }).compile();
    const client = moduleRef.get<SecureHttpClient>(IMAGES_API);
    expect(client).toBeInstanceOf(SecureHttpClient);

    await moduleRef.close();

    await expect(client.get('/jobs')).rejects.toMatchObject({
      code: SecureApiErrorCode.HTTP_CLIENT_ABORTED,
      reason: 'closed',
    });
  });

  it('builds the options from injected providers', async () => {
    const moduleRef = await Test.createTestingModule({
      providers: [
        { provide: CONFIG, useValue: { url: 'https://images.example/v2' } },
        provideSecureHttpClient(IMAGES_API, {
          useFactory: (config: { url: string }) => Promise.resolve({ baseUrl: config.url }),
          inject: [CONFIG],
        }),
      ],
    }).compile();
    try {
      const client = moduleRef.get<SecureHttpClient>(IMAGES_API);
      await expect(client.get('https://other.example/')).rejects.toMatchObject({
        code: SecureApiErrorCode.HTTP_CLIENT_URL_REFUSED,
      });
    } finally {
      await moduleRef.close();
    }
  });

  it('fails the bootstrap on invalid options', async () => {
    await expect(
      Test.createTestingModule({
        providers: [provideSecureHttpClient(IMAGES_API, { baseUrl: 'http://images.example' })],
      }).compile(),
    ).rejects.toMatchObject({
      code: SecureApiErrorCode.INVALID_OPTIONS,
      message: expect.stringContaining('"httpClient.baseUrl" must be an https: URL'),
    });
  });

  it('refuses a string token', () => {
    expect(() =>
      provideSecureHttpClient('IMAGES_API' as unknown as symbol, { allowedOrigins: '*' }),
    ).toThrow('provideSecureHttpClient: the token must be a Symbol or an abstract class.');
  });
});
