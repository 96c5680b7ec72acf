const DELAY_SECONDS = /^\d+$/;

// RFC 9110 §5.6.7: recipients accept IMF-fixdate and the two obsolete forms.
const IMF_FIXDATE =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const RFC_850 =
  /^(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), \d{2}-[A-Z][a-z]{2}-\d{2} \d{2}:\d{2}:\d{2} GMT$/;
const ASCTIME = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/;

/**
 * The delay a `Retry-After` header asks for (RFC 9110 §10.2.3), in milliseconds: `delay-seconds`
 * or an HTTP-date, a date in the past giving 0. `undefined` when the header is absent, sent
 * twice, or neither form; the caller then uses its own backoff.
 *
 * @param value the header as Node.js parses it (`string`, or `string[]` when repeated)
 * @param nowMs the current time, for HTTP-dates
 * @returns milliseconds, possibly `Infinity` for an absurd number of seconds
 *
 * @example
 * parseRetryAfter('120', Date.now()); // 120_000
 * parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('2015-10-21T07:27:00Z')); // 60_000
 */
export function parseRetryAfter(
  value: string | readonly string[] | undefined,
  nowMs: number,
): number | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  if (DELAY_SECONDS.test(trimmed)) {
    return Number(trimmed) * 1000;
  }
  if (IMF_FIXDATE.test(trimmed) || ASCTIME.test(trimmed)) {
    return untilDate(Date.parse(`${trimmed}${ASCTIME.test(trimmed) ? ' GMT' : ''}`), nowMs);
  }
  if (RFC_850.test(trimmed)) {
    return untilDate(Date.parse(rfc850ToFixdate(trimmed, nowMs)), nowMs);
  }
  return undefined;
}

function untilDate(dateMs: number, nowMs: number): number | undefined {
  if (Number.isNaN(dateMs)) return undefined;
  return Math.max(0, dateMs - nowMs);
}

/**
 * RFC 9110 §5.6.7: a two-digit year that appears to be more than 50 years in the future is in
 * the past century.
 */
function rfc850ToFixdate(value: string, nowMs: number): string {
  const [, rest = ''] = value.split(', ');
  const [date = '', time = ''] = rest.split(' ');
  const [day = '', month = '', yy = ''] = date.split('-');
  const currentYear = new Date(nowMs).getUTCFullYear();
  let year = Math.floor(currentYear / 100) * 100 + Number(yy);
  if (year > currentYear + 50) year -= 100;
  return `${day} ${month} ${year} ${time} GMT`;
}
