import { Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  createS3Client,
  resolveS3ConnectionOptions,
  type ResolvedS3ConnectionOptions,
  type S3ConnectionOptions,
} from './s3-connection.options.js';
import { isS3ObjectMissing } from './s3-error.mapper.js';
import { S3OperationSignal } from './s3-operation.signal.js';
import {
  ObjectNotFoundError,
  ObjectTooLargeError,
  StorageUnexpectedError,
} from './storage.errors.js';
import { UploadReader, type UploadReadOptions, type UploadedObject } from './upload-reader.port.js';

/** Options of {@link S3UploadReader}. */
export interface S3UploadReaderOptions extends S3ConnectionOptions {
  /** The only bucket this reader gets objects from. @default 'temp-uploads' */
  bucket?: string;
}

/**
 * {@link UploadReader} over S3. It issues `GetObject` on its bucket and nothing else; the
 * client is private, so no other operation can be reached through it.
 */
export class S3UploadReader extends UploadReader {
  /** The bucket fixed at construction. */
  readonly bucket: string;
  private readonly options: ResolvedS3ConnectionOptions;
  private readonly client: S3Client;

  /** @param options bucket and connection options */
  constructor(options: S3UploadReaderOptions = {}) {
    super();
    const { bucket = 'temp-uploads', ...connection } = options;
    if (bucket === '') throw new TypeError('"bucket" must not be empty');
    this.bucket = bucket;
    this.options = resolveS3ConnectionOptions(connection);
    this.client = createS3Client(this.options);
  }

  /** @inheritdoc */
  override async read(key: string, options: UploadReadOptions): Promise<UploadedObject> {
    const { maxBytes, signal } = options;
    if (!Number.isInteger(maxBytes) || maxBytes < 0) {
      throw new TypeError('"maxBytes" must be a non-negative integer');
    }
    const call = new S3OperationSignal(
      `GetObject ${this.bucket}/${key}`,
      this.options.operationTimeoutMs,
      this.options.retryAfterSeconds,
      signal,
    );
    let response;
    try {
      response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }), {
        abortSignal: call.signal,
      });
    } catch (error) {
      if (isS3ObjectMissing(error)) {
        throw new ObjectNotFoundError(this.bucket, key, { cause: error });
      }
      throw call.fail(error);
    }
    const body = response.Body;
    if (!(body instanceof Readable)) {
      throw new StorageUnexpectedError(call.operation, 'BodyNotAStream');
    }
    if (response.ContentLength !== undefined && response.ContentLength > maxBytes) {
      body.destroy();
      throw new ObjectTooLargeError(this.bucket, key, maxBytes);
    }
    return this.collect(body, key, maxBytes, call, response.ContentType);
  }

  private async collect(
    body: Readable,
    key: string,
    maxBytes: number,
    call: S3OperationSignal,
    contentType: string | undefined,
  ): Promise<UploadedObject> {
    const onAbort = (): void => {
      body.destroy(call.signal.reason instanceof Error ? call.signal.reason : undefined);
    };
    call.signal.addEventListener('abort', onAbort, { once: true });
    const chunks: Buffer[] = [];
    let bytes = 0;
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        bytes += chunk.length;
        if (bytes > maxBytes) {
          // Leaving the loop destroys the stream and its socket: nothing more is read.
          throw new ObjectTooLargeError(this.bucket, key, maxBytes);
        }
        chunks.push(chunk);
      }
    } catch (error) {
      if (error instanceof ObjectTooLargeError) throw error;
      throw call.fail(error);
    } finally {
      call.signal.removeEventListener('abort', onAbort);
      body.destroy();
    }
    return { body: Buffer.concat(chunks, bytes), contentType, bytes };
  }

  /** Releases the client's sockets. */
  close(): void {
    this.client.destroy();
  }
}
