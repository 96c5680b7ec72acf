import { parseRetryAfter } from './retry-after.js';

const NOW = Date.UTC(1994, 10, 6, 8, 49, 0);

describe('parseRetryAfter()', () => {
  it.each([
    ['delay-seconds', '120', 120_000],
    ['zero seconds', '0', 0],
    ['surrounding whitespace', ' 3 ', 3000],
    ['IMF-fixdate', 'Sun, 06 Nov 1994 08:49:37 GMT', 37_000],
    ['obsolete RFC 850 date', 'Sunday, 06-Nov-94 08:49:37 GMT', 37_000],
    ['obsolete asctime date', 'Sun Nov  6 08:49:37 1994', 37_000],
    ['a date in the past', 'Sun, 06 Nov 1994 08:48:00 GMT', 0],
  ])('reads %s', (_name, value, expected) => {
    expect(parseRetryAfter(value, NOW)).toBe(expected);
  });

  it.each([
    ['absent', undefined],
    ['repeated', ['1', '2']],
    ['negative', '-1'],
    ['fractional', '1.5'],
    ['a unit', '10s'],
    ['empty', ''],
    ['a lenient date', '1994-11-06T08:49:37Z'],
    ['a date without GMT', 'Sun, 06 Nov 1994 08:49:37 UTC'],
  ])('ignores a value that is %s', (_name, value) => {
    expect(parseRetryAfter(value, NOW)).toBeUndefined();
  });

  it('gives Infinity for an absurd number of seconds, which no cap lets through', () => {
    expect(parseRetryAfter('9'.repeat(400), NOW)).toBe(Infinity);
  });

  it('puts a two-digit RFC 850 year more than 50 years ahead in the past century', () => {
    const now = Date.UTC(2030, 0, 1);
    expect(parseRetryAfter('Friday, 01-Jan-99 00:00:10 GMT', now)).toBe(0);
    expect(parseRetryAfter('Tuesday, 01-Jan-30 00:00:10 GMT', now)).toBe(10_000);
  });
});
