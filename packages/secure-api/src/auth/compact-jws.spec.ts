import { TokenRejectionReason } from '../errors/secure-api-error-code.js';
import { decodeCompactJws } from './compact-jws.js';
import { TokenRejection } from './token-rejection.js';

const b64 = (value: unknown): string =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

function reasonOf(token: string): string {
  try {
    decodeCompactJws(token);
  } catch (error) {
    if (error instanceof TokenRejection) return error.reason;
    throw error;
  }
  return 'accepted';
}

describe('decodeCompactJws', () => {
  it('decodes a three-part token', () => {
    const token = `${b64({ alg: 'RS256', kid: 'k1' })}.${b64({ sub: 'a' })}.c2ln`;
    expect(decodeCompactJws(token)).toEqual({
      header: { alg: 'RS256', kid: 'k1' },
      payload: { sub: 'a' },
    });
  });

  it.each([
    ['two segments', `${b64({ alg: 'RS256' })}.${b64({})}`],
    ['four segments', `${b64({ alg: 'RS256' })}.${b64({})}.c2ln.c2ln`],
    ['empty signature (unsecured JWS)', `${b64({ alg: 'none' })}.${b64({})}.`],
    ['header not JSON', `${b64('not json')}.${b64({})}.c2ln`],
    ['header a JSON array', `${b64([1])}.${b64({})}.c2ln`],
    ['header JSON null', `${b64('null')}.${b64({})}.c2ln`],
    ['payload a string', `${b64({ alg: 'RS256' })}.${b64('"text"')}.c2ln`],
    ['standard base64 characters', `${b64({ alg: 'RS256' })}+/.${b64({})}.c2ln`],
    ['padding', `${b64({ alg: 'RS256' })}=.${b64({})}.c2ln`],
    ['empty header', `.${b64({})}.c2ln`],
  ])('refuses %s as malformed', (_name, token) => {
    expect(reasonOf(token)).toBe(TokenRejectionReason.MALFORMED);
  });
});
