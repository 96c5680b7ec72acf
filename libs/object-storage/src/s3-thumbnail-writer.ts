import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  createS3Client,
  resolveS3ConnectionOptions,
  type ResolvedS3ConnectionOptions,
  type S3ConnectionOptions,
} from './s3-connection.options.js';
import { S3OperationSignal } from './s3-operation.signal.js';
import { ThumbnailWriter, type ThumbnailWriteOptions } from './thumbnail-writer.port.js';

/** Options of {@link S3ThumbnailWriter}. */
export interface S3ThumbnailWriterOptions extends S3ConnectionOptions {
  /** The only bucket this writer puts objects into. @default 'processed-thumbnails' */
  bucket?: string;
}

/**
 * {@link ThumbnailWriter} over S3. It issues one `PutObject` with `Content-Length` per write on
 * its bucket and nothing else: S3 stores a PutObject atomically, so a failed or aborted write
 * leaves no partial object (no multipart upload is ever started).
 */
export class S3ThumbnailWriter extends ThumbnailWriter {
  /** The bucket fixed at construction. */
  readonly bucket: string;
  private readonly options: ResolvedS3ConnectionOptions;
  private readonly client: S3Client;

  /** @param options bucket and connection options */
  constructor(options: S3ThumbnailWriterOptions = {}) {
    super();
    const { bucket = 'processed-thumbnails', ...connection } = options;
    if (bucket === '') throw new TypeError('"bucket" must not be empty');
    this.bucket = bucket;
    this.options = resolveS3ConnectionOptions(connection);
    this.client = createS3Client(this.options);
  }

  /** @inheritdoc */
  override async write(key: string, body: Buffer, options: ThumbnailWriteOptions): Promise<void> {
    const call = new S3OperationSignal(
      `PutObject ${this.bucket}/${key}`,
      this.options.operationTimeoutMs,
      this.options.retryAfterSeconds,
      options.signal,
    );
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentLength: body.length,
          ContentType: options.contentType,
        }),
        { abortSignal: call.signal },
      );
    } catch (error) {
      throw call.fail(error);
    }
  }

  /** Releases the client's sockets. */
  close(): void {
    this.client.destroy();
  }
}
