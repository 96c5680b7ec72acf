import { type TokenRejectionReason } from '../errors/secure-api-error-code.js';

/**
 * Internal signal from the verifier to the guard: the token is refused, and why. The guard turns
 * it into a 401 and logs the reason; the client never sees it.
 */
export class TokenRejection extends Error {
  constructor(
    readonly reason: TokenRejectionReason,
    message: string = reason,
  ) {
    super(message);
    this.name = 'TokenRejection';
  }
}

/** The JWKS could not be loaded at all, so no token can be verified (a 503, not the client's fault). */
export class KeysUnavailable extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super('no signing keys are available');
    this.name = 'KeysUnavailable';
  }
}
