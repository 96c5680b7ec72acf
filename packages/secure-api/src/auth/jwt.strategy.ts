import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-jwt';
import { TokenRejectionReason } from '../errors/secure-api-error-code.js';
import { SECURE_API_OPTIONS } from '../secure-api.constants.js';
import { type JwsAlgorithm, type ResolvedSecureApiOptions } from '../secure-api.options.js';
import { decodeCompactJws } from './compact-jws.js';
import { JwksKeyStore } from './jwks-key-store.js';
import { type Principal, principalFromClaims } from './principal.js';
import { assertTimeClaims } from './time-claims.js';
import { TokenRejection } from './token-rejection.js';

/** Where the guard leaves the token it extracted, for the strategy to read. */
export const BEARER_TOKENS = new WeakMap<object, string>();

/** Name the strategy registers under in passport's registry; the guard never looks it up by name. */
export const SECURE_API_JWT_STRATEGY = 'secure-api-jwt';

// @types/passport-jwt says string | Buffer; jsonwebtoken 9 takes a KeyObject as it is, which is
// what lets the key store import each key once instead of parsing a PEM per request.
type KeyCallback = (error: unknown, key?: string | Buffer) => void;

function normaliseType(type: string): string {
  const lower = type.toLowerCase();
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower;
}

/**
 * The passport-jwt strategy: jsonwebtoken checks the signature, `exp`, `nbf`, `iss` and `aud`
 * with a key from {@link JwksKeyStore}; this class adds what jsonwebtoken leaves out.
 *
 * Before the signature: the header must be a JSON object with an allowlisted `alg`; `crit` is
 * refused (RFC 7515 §4.1.11 requires refusing unknown critical extensions, and we implement
 * none; jsonwebtoken ignores `crit`); `typ` is checked when `auth.requireTokenType` is set; the
 * key is chosen by `kid` only, never from `jku`, `x5u`, `jwk` or `x5c`.
 * After it: `exp` is required, `iat` must not be in the future, and the optional maximum age.
 */
@Injectable()
export class SecureJwtStrategy extends PassportStrategy(Strategy, SECURE_API_JWT_STRATEGY) {
  constructor(
    @Inject(SECURE_API_OPTIONS) private readonly options: ResolvedSecureApiOptions,
    keyStore: JwksKeyStore,
  ) {
    const auth = options.auth;
    const algorithms = auth.algorithms;
    super({
      jwtFromRequest: (request: object) => BEARER_TOKENS.get(request) ?? null,
      secretOrKeyProvider: (_request: unknown, token: string, done: KeyCallback) => {
        let header: Readonly<Record<string, unknown>>;
        let payload: Readonly<Record<string, unknown>>;
        try {
          ({ header, payload } = decodeCompactJws(token));
          SecureJwtStrategy.checkHeader(header, algorithms, auth.requireTokenType);
        } catch (rejection) {
          done(rejection);
          return;
        }
        keyStore
          .getKey(payload.iss, header.kid as string | undefined, header.alg as JwsAlgorithm)
          .then(
            (key) => done(null, key.key as unknown as Buffer),
            (error: unknown) => done(error),
          );
      },
      issuer: [...auth.issuers],
      audience: [...auth.audiences],
      algorithms: [...algorithms],
      ignoreExpiration: false,
      jsonWebTokenOptions: { clockTolerance: auth.clockToleranceSeconds },
    });
  }

  /** Header checks made before any key lookup. */
  private static checkHeader(
    header: Readonly<Record<string, unknown>>,
    algorithms: readonly JwsAlgorithm[],
    requiredType: string | undefined,
  ): void {
    const { alg, kid, crit, typ } = header;
    if (typeof alg !== 'string' || !(algorithms as readonly string[]).includes(alg)) {
      throw new TokenRejection(TokenRejectionReason.ALG_NOT_ALLOWED);
    }
    if (crit !== undefined) throw new TokenRejection(TokenRejectionReason.CRIT_UNSUPPORTED);
    if (kid !== undefined && (typeof kid !== 'string' || kid === '')) {
      throw new TokenRejection(TokenRejectionReason.HEADER_INVALID);
    }
    if (
      requiredType !== undefined &&
      (typeof typ !== 'string' || normaliseType(typ) !== normaliseType(requiredType))
    ) {
      throw new TokenRejection(TokenRejectionReason.TYPE_MISMATCH);
    }
  }

  /** Called by passport-jwt with the payload once jsonwebtoken has verified it. */
  validate(payload: Record<string, unknown>): Principal {
    assertTimeClaims(payload, this.options.auth);
    return principalFromClaims(payload, this.options.auth);
  }
}
