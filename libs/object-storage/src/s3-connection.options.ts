import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/** Static credentials for an S3 client. Without them the SDK's default provider chain is used. */
export interface S3Credentials {
  /** Access key id. */
  accessKeyId: string;
  /** Secret access key. */
  secretAccessKey: string;
  /** Session token of temporary credentials. */
  sessionToken?: string;
}

/** How an S3 adapter reaches its endpoint. One type for the reader, the writer and the factory. */
export interface S3ConnectionOptions {
  /**
   * Endpoint of an S3-compatible server (path-style addressing is used then).
   * @default undefined (AWS S3 for `region`)
   */
  endpoint?: string;
  /** AWS region. @default 'us-east-1' */
  region?: string;
  /** Static credentials. @default the SDK's default credential provider chain */
  credentials?: S3Credentials;
  /** Time allowed to establish a TCP/TLS connection, in milliseconds. @default 3000 */
  connectionTimeoutMs?: number;
  /** Socket idle time allowed while waiting for or receiving an answer, in ms. @default 10000 */
  requestTimeoutMs?: number;
  /** Overall time allowed for one port call including retries and the body, in ms. @default 15000 */
  operationTimeoutMs?: number;
  /** Attempts per request, including the first. @default 2 */
  maxAttempts?: number;
  /** `Retry-After` reported with `StorageUnavailableError`, in seconds. @default 5 */
  retryAfterSeconds?: number;
}

/** {@link S3ConnectionOptions} with defaults applied. */
export interface ResolvedS3ConnectionOptions {
  readonly endpoint: string | undefined;
  readonly region: string;
  readonly credentials: S3Credentials | undefined;
  readonly connectionTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly operationTimeoutMs: number;
  readonly maxAttempts: number;
  readonly retryAfterSeconds: number;
}

function positiveInteger(path: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) {
    throw new TypeError(`"${path}" must be a positive integer, got ${String(value)}`);
  }
  return value;
}

/**
 * Applies defaults and refuses invalid values with a message naming the option.
 *
 * @param options connection options
 * @returns frozen resolved options
 */
export function resolveS3ConnectionOptions(
  options: S3ConnectionOptions = {},
): ResolvedS3ConnectionOptions {
  const {
    endpoint,
    region = 'us-east-1',
    credentials,
    connectionTimeoutMs = 3_000,
    requestTimeoutMs = 10_000,
    operationTimeoutMs = 15_000,
    maxAttempts = 2,
    retryAfterSeconds = 5,
  } = options;
  if (endpoint !== undefined && !URL.canParse(endpoint)) {
    throw new TypeError('"endpoint" must be an absolute URL such as http://127.0.0.1:9000');
  }
  if (region === '') throw new TypeError('"region" must not be empty');
  return Object.freeze({
    endpoint,
    region,
    credentials: credentials === undefined ? undefined : Object.freeze({ ...credentials }),
    connectionTimeoutMs: positiveInteger('connectionTimeoutMs', connectionTimeoutMs),
    requestTimeoutMs: positiveInteger('requestTimeoutMs', requestTimeoutMs),
    operationTimeoutMs: positiveInteger('operationTimeoutMs', operationTimeoutMs),
    maxAttempts: positiveInteger('maxAttempts', maxAttempts),
    retryAfterSeconds: positiveInteger('retryAfterSeconds', retryAfterSeconds),
  });
}

/**
 * Builds the `S3Client` an adapter keeps private.
 *
 * @param options resolved connection options
 */
export function createS3Client(options: ResolvedS3ConnectionOptions): S3Client {
  return new S3Client({
    region: options.region,
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint, forcePathStyle: true }),
    ...(options.credentials === undefined ? {} : { credentials: { ...options.credentials } }),
    maxAttempts: options.maxAttempts,
    // A copy, above: the SDK writes its feature tracking onto the credentials object.
    // Checksums only where S3 requires them: S3-compatible servers differ in what they accept,
    // and PutObject bodies are signed with their SHA-256 anyway.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: new NodeHttpHandler({
      connectionTimeout: options.connectionTimeoutMs,
      requestTimeout: options.requestTimeoutMs,
      // Without it, @smithy/node-http-handler 4.x only logs a warning when requestTimeout passes.
      throwOnRequestTimeout: true,
    }),
  });
}
