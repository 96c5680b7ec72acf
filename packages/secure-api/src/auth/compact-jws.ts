import { TokenRejectionReason } from '../errors/secure-api-error-code.js';
import { TokenRejection } from './token-rejection.js';

/** The parts of a compact JWS, decoded but not verified. */
export interface DecodedJws {
  readonly header: Readonly<Record<string, unknown>>;
  readonly payload: Readonly<Record<string, unknown>>;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;

function decodeSegment(segment: string): Record<string, unknown> {
  if (!BASE64URL.test(segment)) throw new TokenRejection(TokenRejectionReason.MALFORMED);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    throw new TokenRejection(TokenRejectionReason.MALFORMED);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TokenRejection(TokenRejectionReason.MALFORMED);
  }
  return value as Record<string, unknown>;
}

/**
 * Splits and decodes a compact JWS (RFC 7515 §7.1) without verifying it: exactly three
 * base64url segments, a JSON object header and payload, and a non-empty signature.
 *
 * @throws TokenRejection `malformed`
 */
export function decodeCompactJws(token: string): DecodedJws {
  const parts = token.split('.');
  if (parts.length !== 3) throw new TokenRejection(TokenRejectionReason.MALFORMED);
  const [header, payload, signature] = parts as [string, string, string];
  // An empty signature is the unsecured-JWS form ("alg":"none"), never acceptable here.
  if (!BASE64URL.test(signature)) throw new TokenRejection(TokenRejectionReason.MALFORMED);
  return { header: decodeSegment(header), payload: decodeSegment(payload) };
}
