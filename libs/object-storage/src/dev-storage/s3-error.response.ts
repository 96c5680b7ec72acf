import type { ServerResponse } from 'node:http';

/** An S3 error answer: status, code and message as S3 sends them. */
export interface S3ErrorAnswer {
  /** HTTP status. */
  status: number;
  /** S3 error code, e.g. `AccessDenied`. */
  code: string;
  /** S3's message for that code. */
  message: string;
}

/** The answers the development storage gives itself, worded as S3 words them. */
export const S3_ERRORS = {
  accessDenied: { status: 403, code: 'AccessDenied', message: 'Access Denied' },
  invalidAccessKeyId: {
    status: 403,
    code: 'InvalidAccessKeyId',
    message: 'The AWS Access Key Id you provided does not exist in our records.',
  },
  signatureDoesNotMatch: {
    status: 403,
    code: 'SignatureDoesNotMatch',
    message:
      'The request signature we calculated does not match the signature you provided. ' +
      'Check your key and signing method.',
  },
  requestTimeTooSkewed: {
    status: 403,
    code: 'RequestTimeTooSkewed',
    message: 'The difference between the request time and the current time is too large.',
  },
  authorizationHeaderMalformed: {
    status: 400,
    code: 'AuthorizationHeaderMalformed',
    message: 'The authorization header is malformed.',
  },
  contentSha256Mismatch: {
    status: 400,
    code: 'XAmzContentSHA256Mismatch',
    message: "The provided 'x-amz-content-sha256' header does not match what was computed.",
  },
  entityTooLarge: {
    status: 400,
    code: 'EntityTooLarge',
    message: 'Your proposed upload exceeds the maximum allowed object size.',
  },
  notImplemented: {
    status: 501,
    code: 'NotImplemented',
    message: 'A header you provided implies functionality that is not implemented.',
  },
  slowDown: { status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' },
  serviceUnavailable: {
    status: 503,
    code: 'ServiceUnavailable',
    message: 'Service is unable to handle request.',
  },
} as const satisfies Record<string, S3ErrorAnswer>;

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Sends an S3 XML error document (no body for `HEAD`, as S3 does).
 *
 * @param res the response
 * @param answer status, code and message
 * @param context the request's resource path, method and id
 */
export function sendS3Error(
  res: ServerResponse,
  answer: S3ErrorAnswer,
  context: { resource: string; method: string; requestId: string; retryAfterSeconds?: number },
): void {
  const body =
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${answer.code}</Code><Message>${escapeXml(answer.message)}</Message>` +
    `<Resource>${escapeXml(context.resource)}</Resource>` +
    `<RequestId>${context.requestId}</RequestId></Error>`;
  res.writeHead(answer.status, {
    'content-type': 'application/xml',
    'content-length': Buffer.byteLength(body),
    'x-amz-request-id': context.requestId,
    ...(context.retryAfterSeconds === undefined
      ? {}
      : { 'retry-after': String(context.retryAfterSeconds) }),
  });
  res.end(context.method === 'HEAD' ? undefined : body);
}
