import { TokenRejectionReason } from '../errors/secure-api-error-code.js';
import { resolveOptions } from '../secure-api.options.js';
import { assertTimeClaims } from './time-claims.js';
import { TokenRejection } from './token-rejection.js';

const auth = resolveOptions({
  auth: { issuer: 'https://id.example.com', audience: 'a', clockToleranceSeconds: 30 },
}).auth;
const aged = resolveOptions({
  auth: { issuer: 'https://id.example.com', audience: 'a', maxTokenAgeSeconds: 600 },
}).auth;
const now = 1_800_000_000;

function outcome(claims: Record<string, unknown>, options = auth): string {
  try {
    assertTimeClaims(claims, options, now);
    return 'ok';
  } catch (error) {
    if (error instanceof TokenRejection) return error.reason;
    throw error;
  }
}

describe('assertTimeClaims', () => {
  it.each([
    ['a current token', { exp: now + 60, iat: now - 10, nbf: now - 10 }, 'ok'],
    ['no exp', { iat: now }, TokenRejectionReason.EXP_MISSING],
    ['exp as a string', { exp: String(now + 60) }, TokenRejectionReason.CLAIMS_INVALID],
    ['exp NaN', { exp: Number.NaN }, TokenRejectionReason.CLAIMS_INVALID],
    ['expired beyond tolerance', { exp: now - 30 }, TokenRejectionReason.EXPIRED],
    ['expired within tolerance', { exp: now - 29 }, 'ok'],
    ['nbf beyond tolerance', { exp: now + 600, nbf: now + 31 }, TokenRejectionReason.NOT_YET_VALID],
    ['nbf within tolerance', { exp: now + 600, nbf: now + 30 }, 'ok'],
    ['nbf not a number', { exp: now + 600, nbf: 'soon' }, TokenRejectionReason.CLAIMS_INVALID],
    ['iat in the future', { exp: now + 600, iat: now + 31 }, TokenRejectionReason.ISSUED_IN_FUTURE],
    ['iat not a number', { exp: now + 600, iat: null }, TokenRejectionReason.CLAIMS_INVALID],
  ])('%s: %s', (_name, claims, expected) => {
    expect(outcome(claims)).toBe(expected);
  });

  it('enforces the maximum token age, which needs iat', () => {
    expect(outcome({ exp: now + 60, iat: now - 600 }, aged)).toBe('ok');
    expect(outcome({ exp: now + 60, iat: now - 631 }, aged)).toBe(TokenRejectionReason.TOO_OLD);
    expect(outcome({ exp: now + 60 }, aged)).toBe(TokenRejectionReason.CLAIMS_INVALID);
  });
});
