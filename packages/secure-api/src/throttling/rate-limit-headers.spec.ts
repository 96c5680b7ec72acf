import {
  formatRateLimit,
  formatRateLimitPolicy,
  retryAfterSeconds,
  type RateLimitPolicy,
  type RateLimitState,
} from './rate-limit-headers.js';

// Expected values are the examples of draft-ietf-httpapi-ratelimit-headers-10 §3.2, §4.2,
// §6 and §8.5, typed by hand. Where the draft writes list members as `a,b`, RFC 9651 §4.1.1
// serializes them as `a, b`; both parse to the same list.
describe('formatRateLimitPolicy', () => {
  it.each<[string, readonly RateLimitPolicy[], string]>([
    [
      '§3.2 one policy',
      [{ name: 'default', limit: 100, windowSeconds: 10 }],
      '"default";q=100;w=10',
    ],
    [
      '§3.2 two policies',
      [
        { name: 'permin', limit: 50, windowSeconds: 60 },
        { name: 'perhr', limit: 1000, windowSeconds: 3600 },
      ],
      '"permin";q=50;w=60, "perhr";q=1000;w=3600',
    ],
    [
      '§3 burst and daily',
      [
        { name: 'burst', limit: 100, windowSeconds: 60 },
        { name: 'daily', limit: 1000, windowSeconds: 86400 },
      ],
      '"burst";q=100;w=60, "daily";q=1000;w=86400',
    ],
    [
      '§8.5 large window',
      [{ name: 'somepolicy', limit: 10000, windowSeconds: 1000 }],
      '"somepolicy";q=10000;w=1000',
    ],
    [
      'the three tiers of this module',
      [
        { name: 'ip', limit: 300, windowSeconds: 60 },
        { name: 'principal', limit: 1200, windowSeconds: 60 },
        { name: 'global', limit: 10000, windowSeconds: 1 },
      ],
      '"ip";q=300;w=60, "principal";q=1200;w=60, "global";q=10000;w=1',
    ],
    ['a zero quota', [{ name: 'closed', limit: 0, windowSeconds: 60 }], '"closed";q=0;w=60'],
    [
      'RFC 9651 escapes in the name',
      [{ name: 'a "b" \\c', limit: 1, windowSeconds: 1 }],
      '"a \\"b\\" \\\\c";q=1;w=1',
    ],
    ['an empty name', [{ name: '', limit: 1, windowSeconds: 1 }], '"";q=1;w=1'],
  ])('%s', (_label, policies, expected) => {
    expect(formatRateLimitPolicy(policies)).toBe(expected);
  });

  it.each<[string, readonly RateLimitPolicy[], string]>([
    ['no policy', [], 'at least one policy'],
    ['a non-ASCII name', [{ name: 'grüße', limit: 1, windowSeconds: 1 }], 'printable ASCII'],
    [
      'a CR LF in the name (header injection)',
      [{ name: 'ip\r\nSet-Cookie: x=1', limit: 1, windowSeconds: 1 }],
      'printable ASCII',
    ],
    ['a tab in the name', [{ name: 'i\tp', limit: 1, windowSeconds: 1 }], 'printable ASCII'],
    [
      'a negative limit',
      [{ name: 'ip', limit: -1, windowSeconds: 60 }],
      'limit must be an integer from 0',
    ],
    [
      'a fractional limit',
      [{ name: 'ip', limit: 1.5, windowSeconds: 60 }],
      'limit must be an integer',
    ],
    [
      'a limit of 16 digits',
      [{ name: 'ip', limit: 1_000_000_000_000_000, windowSeconds: 60 }],
      'limit must be an integer',
    ],
    [
      'a zero window',
      [{ name: 'ip', limit: 1, windowSeconds: 0 }],
      'windowSeconds must be an integer from 1',
    ],
    [
      'a sub-second window',
      [{ name: 'ip', limit: 1, windowSeconds: 0.5 }],
      'windowSeconds must be an integer',
    ],
    ['a NaN window', [{ name: 'ip', limit: 1, windowSeconds: Number.NaN }], 'got NaN'],
  ])('refuses %s', (_label, policies, message) => {
    expect(() => formatRateLimitPolicy(policies)).toThrow(TypeError);
    expect(() => formatRateLimitPolicy(policies)).toThrow(message);
  });
});

describe('formatRateLimit', () => {
  it.each<[string, RateLimitState, string]>([
    [
      '§4.2 remaining 50',
      { name: 'default', remaining: 50, resetSeconds: 30 },
      '"default";r=50;t=30',
    ],
    [
      '§6 exhausted',
      { name: 'problemPolicy', remaining: 0, resetSeconds: 10 },
      '"problemPolicy";r=0;t=10',
    ],
    ['§7 one left', { name: 'default', remaining: 1, resetSeconds: 7 }, '"default";r=1;t=7'],
    ['§8.5 daily', { name: 'daily', remaining: 1, resetSeconds: 86400 }, '"daily";r=1;t=86400'],
    ['the brief example', { name: 'ip', remaining: 0, resetSeconds: 30 }, '"ip";r=0;t=30'],
    ['an overshoot sent as 0', { name: 'ip', remaining: -4, resetSeconds: 30 }, '"ip";r=0;t=30'],
    ['a reset of 0', { name: 'ip', remaining: 300, resetSeconds: 0 }, '"ip";r=300;t=0'],
    ['an escaped name', { name: 'x\\"y', remaining: 2, resetSeconds: 3 }, '"x\\\\\\"y";r=2;t=3'],
  ])('%s', (_label, state, expected) => {
    expect(formatRateLimit(state)).toBe(expected);
  });

  it.each<[string, RateLimitState, string]>([
    [
      'a fractional remaining',
      { name: 'ip', remaining: 0.5, resetSeconds: 1 },
      'remaining must be an integer',
    ],
    [
      'a fractional reset',
      { name: 'ip', remaining: 1, resetSeconds: 1.2 },
      'resetSeconds must be an integer',
    ],
    [
      'a negative reset',
      { name: 'ip', remaining: 1, resetSeconds: -1 },
      'resetSeconds must be an integer from 0',
    ],
    ['a DEL in the name', { name: 'ip\u007f', remaining: 1, resetSeconds: 1 }, 'printable ASCII'],
  ])('refuses %s', (_label, state, message) => {
    expect(() => formatRateLimit(state)).toThrow(TypeError);
    expect(() => formatRateLimit(state)).toThrow(message);
  });

  it('serialises a name the same way every time, and never remembers a refused one', () => {
    const state = { name: 'odd "tier"\\', remaining: 3, resetSeconds: 4 };
    expect(formatRateLimit(state)).toBe('"odd \\"tier\\"\\\\";r=3;t=4');
    expect(formatRateLimit({ ...state, remaining: 2 })).toBe('"odd \\"tier\\"\\\\";r=2;t=4');
    const bad = { name: 'é', remaining: 1, resetSeconds: 1 };
    expect(() => formatRateLimit(bad)).toThrow('printable ASCII');
    expect(() => formatRateLimit(bad)).toThrow('printable ASCII');
  });
});

describe('retryAfterSeconds', () => {
  it.each<[number, number]>([
    [0, 1],
    [-5_000, 1],
    [1, 1],
    [999, 1],
    [1_000, 1],
    [1_001, 2],
    [1_999, 2],
    [2_000, 2],
    [59_000.4, 60],
    [60_000, 60],
    [86_400_000, 86_400],
  ])('waits %d ms as %d s', (ms, seconds) => {
    expect(retryAfterSeconds(ms)).toBe(seconds);
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY])('refuses %d', (ms) => {
    expect(() => retryAfterSeconds(ms)).toThrow(TypeError);
    expect(() => retryAfterSeconds(ms)).toThrow('ms must be a finite number');
  });
});
