import { createHash, timingSafeEqual } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { S3_ERRORS, type S3ErrorAnswer } from './s3-error.response.js';
import { Sha256Checksum } from './sha256.checksum.js';

/** What the verifier needs of a received request. */
export interface SignedRequest {
  /** HTTP method, upper case. */
  method: string;
  /** Path as sent (still percent-encoded). */
  rawPath: string;
  /** Decoded query parameters. */
  query: ReadonlyMap<string, string>;
  /** Lower-case request headers. */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The complete body. */
  body: Buffer;
}

/** Outcome of {@link SigV4Verifier.verify}. */
export type SigV4Result = { ok: true; accessKeyId: string } | { ok: false; error: S3ErrorAnswer };

// Credential=AKID/20261201/us-east-1/s3/aws4_request, SignedHeaders=a;b, Signature=hex
const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
// S3 refuses requests more than 15 minutes away from its clock.
const MAX_SKEW_MS = 15 * 60 * 1000;

function header(headers: SignedRequest['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/**
 * Verifies AWS Signature Version 4 `Authorization` headers the way S3 does: the access key
 * must exist, the signature is recomputed over the received request with the key's secret
 * (`@smithy/signature-v4`, the SDK's own signer), the date must be within 15 minutes and a
 * signed payload hash must match the body.
 */
export class SigV4Verifier {
  /**
   * @param secrets secret access key by access key id
   * @param region the only region accepted in the credential scope
   * @param now clock, for tests
   */
  constructor(
    private readonly secrets: ReadonlyMap<string, string>,
    private readonly region: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** @param request the received request with its whole body */
  async verify(request: SignedRequest): Promise<SigV4Result> {
    const authorization = header(request.headers, 'authorization');
    const amzDate = header(request.headers, 'x-amz-date');
    const match = authorization === undefined ? null : AUTHORIZATION.exec(authorization);
    const date = amzDate === undefined ? null : AMZ_DATE.exec(amzDate);
    if (authorization === undefined) return { ok: false, error: S3_ERRORS.accessDenied };
    if (match === null || date === null) {
      return { ok: false, error: S3_ERRORS.authorizationHeaderMalformed };
    }
    const [
      ,
      accessKeyId = '',
      scopeDate,
      scopeRegion,
      scopeService,
      signedHeaderList = '',
      signature = '',
    ] = match;
    const secretAccessKey = this.secrets.get(accessKeyId);
    if (secretAccessKey === undefined) return { ok: false, error: S3_ERRORS.invalidAccessKeyId };
    if (
      scopeRegion !== this.region ||
      scopeService !== 's3' ||
      scopeDate !== amzDate?.slice(0, 8)
    ) {
      return { ok: false, error: S3_ERRORS.authorizationHeaderMalformed };
    }
    const [, y, mo, d, h, mi, s] = date.map(Number);
    const signingDate = new Date(Date.UTC(y ?? 0, (mo ?? 1) - 1, d, h, mi, s));
    if (Math.abs(this.now() - signingDate.getTime()) > MAX_SKEW_MS) {
      return { ok: false, error: S3_ERRORS.requestTimeTooSkewed };
    }

    const signedHeaderNames = signedHeaderList.split(';');
    if (!signedHeaderNames.includes('host')) {
      return { ok: false, error: S3_ERRORS.authorizationHeaderMalformed };
    }
    const headers: Record<string, string> = {};
    for (const name of signedHeaderNames) {
      const value = header(request.headers, name);
      if (value === undefined) return { ok: false, error: S3_ERRORS.signatureDoesNotMatch };
      headers[name] = value;
    }
    const payloadHash = header(request.headers, 'x-amz-content-sha256');
    if (payloadHash === undefined || !signedHeaderNames.includes('x-amz-content-sha256')) {
      return { ok: false, error: S3_ERRORS.authorizationHeaderMalformed };
    }
    if (payloadHash.startsWith('STREAMING-')) return { ok: false, error: S3_ERRORS.notImplemented };

    const query: Record<string, string> = Object.fromEntries(request.query);
    const signer = new SignatureV4({
      service: 's3',
      region: this.region,
      credentials: { accessKeyId, secretAccessKey },
      sha256: Sha256Checksum,
      // S3 signs the path exactly as sent, without normalising or re-escaping it.
      uriEscapePath: false,
      applyChecksum: false,
    });
    const signed = await signer.sign(
      {
        method: request.method,
        protocol: 'http:',
        hostname: headers['host'] ?? '',
        path: request.rawPath,
        query,
        headers,
      },
      { signingDate, signableHeaders: new Set(signedHeaderNames) },
    );
    const expected = /Signature=([0-9a-f]{64})$/.exec(String(signed.headers['authorization']))?.[1];
    if (
      expected === undefined ||
      !timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(signature, 'hex'))
    ) {
      return { ok: false, error: S3_ERRORS.signatureDoesNotMatch };
    }
    if (
      payloadHash !== 'UNSIGNED-PAYLOAD' &&
      createHash('sha256').update(request.body).digest('hex') !== payloadHash.toLowerCase()
    ) {
      return { ok: false, error: S3_ERRORS.contentSha256Mismatch };
    }
    return { ok: true, accessKeyId };
  }
}
