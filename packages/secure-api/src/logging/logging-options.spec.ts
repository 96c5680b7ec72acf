import { SecureApiErrorCode } from '../errors/secure-api-error-code.js';
import { resolveLoggingOptions } from './logging-options.js';

describe('resolveLoggingOptions', () => {
  it('is false only when given false', () => {
    expect(resolveLoggingOptions(false)).toBe(false);
    expect(resolveLoggingOptions(undefined)).toMatchObject({ level: 'info', destination: 1 });
  });

  it('keeps a destination stream and a level as given, frozen', () => {
    const destination = { write: (): void => undefined };
    const resolved = resolveLoggingOptions({
      destination,
      level: 'debug',
      masking: { keys: ['pin'] },
    });
    expect(resolved).toMatchObject({ destination, level: 'debug', masking: { keys: ['pin'] } });
    expect(resolved !== false && Object.isFrozen(resolved.masking)).toBe(true);
  });

  it('lowers the default signal TTL to a smaller maxTtlSeconds', () => {
    expect(resolveLoggingOptions({ maxTtlSeconds: 120 })).toMatchObject({
      maxTtlSeconds: 120,
      defaultTtlSeconds: 120,
    });
  });

  it.each<[string, unknown, string]>([
    ['a string', 'info', '"logging" must be an object or false'],
    ['an unknown member', { levl: 'info' }, '"logging.levl" is not an option'],
    ['an unknown level', { level: 'verbose' }, '"logging.level" must be one of trace, debug'],
    [
      'a destination without write()',
      { destination: {} },
      '"logging.destination" must be a stream',
    ],
    ['a negative descriptor', { destination: -1 }, '"logging.destination" must be a stream'],
    ['a zero buffer', { bufferBytes: 0 }, '"logging.bufferBytes" must be a positive integer'],
    ['masking that is not an object', { masking: 'all' }, '"logging.masking" must be an object'],
    [
      'a non-boolean requestLog',
      { requestLog: 'yes' },
      '"logging.requestLog" must be true or false',
    ],
    ['a non-boolean acceptRequestId', { acceptRequestId: 1 }, '"logging.acceptRequestId" must be'],
    ['a non-boolean runtimeControl', { runtimeControl: 'on' }, '"logging.runtimeControl" must be'],
    [
      'a max TTL over 7 days',
      { maxTtlSeconds: 604_801 },
      '"logging.maxTtlSeconds" must be at most 604800',
    ],
    [
      'a default TTL over the max',
      { maxTtlSeconds: 60, defaultTtlSeconds: 61 },
      '"logging.defaultTtlSeconds" must be at most 60',
    ],
  ])('refuses %s', (_name, value, message) => {
    expect.assertions(2);
    try {
      resolveLoggingOptions(value);
    } catch (error) {
      expect(error).toMatchObject({ code: SecureApiErrorCode.INVALID_OPTIONS });
      expect((error as Error).message).toContain(message);
    }
  });
});
