import { BadRequestException, HttpException, PayloadTooLargeException } from '@nestjs/common';
import { bodyParseFailureOf } from './body-parse-failure.js';
import { SecureApiErrorCode } from './secure-api-error-code.js';

/** An error shaped like body-parser's (http-errors) or Fastify's, with the body in its message. */
function adapterError(members: Record<string, unknown>): Error {
  return Object.assign(new Error('Unexpected token s in JSON: "secret-body"'), members);
}

describe('bodyParseFailureOf', () => {
  it.each([
    [{ type: 'entity.parse.failed', status: 400 }, SecureApiErrorCode.MALFORMED_BODY, 400],
    [{ type: 'entity.too.large', status: 413 }, SecureApiErrorCode.BODY_TOO_LARGE, 413],
    [{ type: 'charset.unsupported', status: 415 }, SecureApiErrorCode.UNSUPPORTED_MEDIA_TYPE, 415],
    [{ code: 'FST_ERR_CTP_INVALID_JSON_BODY' }, SecureApiErrorCode.MALFORMED_BODY, 400],
    [{ code: 'FST_ERR_CTP_EMPTY_JSON_BODY' }, SecureApiErrorCode.MALFORMED_BODY, 400],
    [{ code: 'FST_ERR_CTP_BODY_TOO_LARGE' }, SecureApiErrorCode.BODY_TOO_LARGE, 413],
    [{ code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' }, SecureApiErrorCode.UNSUPPORTED_MEDIA_TYPE, 415],
  ])('maps %j, raw or as the cause of a Nest exception', (members, code, status) => {
    const raw = adapterError(members);
    const wrapped = new HttpException('Unexpected token s', 400, { cause: raw });
    for (const error of [raw, wrapped]) {
      const failure = bodyParseFailureOf(error);
      expect(failure).toMatchObject({ code, status });
      expect(failure?.detail).not.toContain('secret-body');
    }
  });

  it('ignores other errors, including HTTP exceptions without such a cause', () => {
    expect(bodyParseFailureOf(new BadRequestException('bad'))).toBeUndefined();
    expect(bodyParseFailureOf(new PayloadTooLargeException())).toBeUndefined();
    expect(bodyParseFailureOf(adapterError({ type: 'toString' }))).toBeUndefined();
    expect(bodyParseFailureOf(adapterError({ code: 'ECONNRESET' }))).toBeUndefined();
    expect(bodyParseFailureOf('entity.parse.failed')).toBeUndefined();
    expect(bodyParseFailureOf(null)).toBeUndefined();
  });
});
