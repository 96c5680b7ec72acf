import { TokenRejectionReason } from '../errors/secure-api-error-code.js';
import { TokenRejection } from './token-rejection.js';

// jsonwebtoken (passport-jwt's verifier) signals most failures with one class and a message;
// names and messages have been stable across its 8.x and 9.x releases. Matching on `name`
// rather than `instanceof` keeps working when npm installs two copies of it.
const BY_MESSAGE: ReadonlyArray<readonly [RegExp, TokenRejectionReason]> = [
  [/^invalid signature$/, TokenRejectionReason.SIGNATURE_INVALID],
  [/^jwt audience invalid/, TokenRejectionReason.AUDIENCE_INVALID],
  [/^jwt issuer invalid/, TokenRejectionReason.ISSUER_INVALID],
  [/^invalid algorithm$/, TokenRejectionReason.ALG_NOT_ALLOWED],
  [
    /must be (one of|a symmetric key|an asymmetric key)|must have a curve/,
    TokenRejectionReason.KEY_ALG_MISMATCH,
  ],
  [/^(jwt malformed|invalid token|jwt signature is required)$/, TokenRejectionReason.MALFORMED],
  [/^invalid (exp|nbf|iat) value|^jwt must be/, TokenRejectionReason.CLAIMS_INVALID],
];

/** Maps whatever the verification chain failed with to a {@link TokenRejectionReason}. */
export function rejectionReasonOf(error: unknown): TokenRejectionReason {
  if (error instanceof TokenRejection) return error.reason;
  if (!(error instanceof Error)) return TokenRejectionReason.SIGNATURE_INVALID;
  if (error.name === 'TokenExpiredError') return TokenRejectionReason.EXPIRED;
  if (error.name === 'NotBeforeError') return TokenRejectionReason.NOT_YET_VALID;
  if (error.name === 'JsonWebTokenError') {
    for (const [pattern, reason] of BY_MESSAGE) {
      if (pattern.test(error.message)) return reason;
    }
  }
  return TokenRejectionReason.SIGNATURE_INVALID;
}
