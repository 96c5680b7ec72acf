import { resolveS3ConnectionOptions } from './s3-connection.options.js';

describe('resolveS3ConnectionOptions', () => {
  it('applies the defaults and freezes the result', () => {
    const resolved = resolveS3ConnectionOptions();
    expect(resolved).toEqual({
      endpoint: undefined,
      region: 'us-east-1',
      credentials: undefined,
      connectionTimeoutMs: 3_000,
      requestTimeoutMs: 10_000,
      operationTimeoutMs: 15_000,
      maxAttempts: 2,
      retryAfterSeconds: 5,
    });
    expect(Object.isFrozen(resolved)).toBe(true);
  });

  it.each([
    [{ endpoint: 'not a url' }, '"endpoint" must be an absolute URL such as http://127.0.0.1:9000'],
    [{ region: '' }, '"region" must not be empty'],
    [{ requestTimeoutMs: 0 }, '"requestTimeoutMs" must be a positive integer, got 0'],
    [{ connectionTimeoutMs: 1.5 }, '"connectionTimeoutMs" must be a positive integer, got 1.5'],
    [{ maxAttempts: -1 }, '"maxAttempts" must be a positive integer, got -1'],
  ])('refuses %j', (options, message) => {
    expect(() => resolveS3ConnectionOptions(options)).toThrow(message);
  });
});
