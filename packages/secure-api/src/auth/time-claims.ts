import { TokenRejectionReason } from '../errors/secure-api-error-code.js';
import { type ResolvedSecureApiOptions } from '../secure-api.options.js';
import { TokenRejection } from './token-rejection.js';

function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/**
 * Checks `exp` (required), `nbf`, `iat` and the optional maximum age against the clock, with
 * the configured tolerance. Run after the signature check and again on every cache hit, so a
 * cached token stops working the second it expires.
 *
 * @throws TokenRejection
 */
export function assertTimeClaims(
  claims: Readonly<Record<string, unknown>>,
  options: ResolvedSecureApiOptions['auth'],
  nowSeconds: number = Math.floor(Date.now() / 1000),
): void {
  const tolerance = options.clockToleranceSeconds;
  const { exp, nbf, iat } = claims;
  if (exp === undefined) throw new TokenRejection(TokenRejectionReason.EXP_MISSING);
  if (!isNumericDate(exp)) throw new TokenRejection(TokenRejectionReason.CLAIMS_INVALID);
  if (nowSeconds >= exp + tolerance) throw new TokenRejection(TokenRejectionReason.EXPIRED);
  if (nbf !== undefined) {
    if (!isNumericDate(nbf)) throw new TokenRejection(TokenRejectionReason.CLAIMS_INVALID);
    if (nbf > nowSeconds + tolerance) throw new TokenRejection(TokenRejectionReason.NOT_YET_VALID);
  }
  if (iat !== undefined) {
    if (!isNumericDate(iat)) throw new TokenRejection(TokenRejectionReason.CLAIMS_INVALID);
    if (iat > nowSeconds + tolerance) {
      throw new TokenRejection(TokenRejectionReason.ISSUED_IN_FUTURE);
    }
  }
  if (options.maxTokenAgeSeconds !== undefined) {
    if (iat === undefined) throw new TokenRejection(TokenRejectionReason.CLAIMS_INVALID);
    if (nowSeconds - iat > options.maxTokenAgeSeconds + tolerance) {
      throw new TokenRejection(TokenRejectionReason.TOO_OLD);
    }
  }
}
