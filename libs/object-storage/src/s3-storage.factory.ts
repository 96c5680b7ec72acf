import type { S3ConnectionOptions } from './s3-connection.options.js';
import { S3ThumbnailWriter } from './s3-thumbnail-writer.js';
import { S3UploadReader } from './s3-upload-reader.js';

/** Options of {@link createS3Storage}. */
export interface S3StorageOptions extends S3ConnectionOptions {
  /** Bucket the reader gets uploads from. @default 'temp-uploads' */
  uploadBucket?: string;
  /** Bucket the writer puts thumbnails into. @default 'processed-thumbnails' */
  processedBucket?: string;
}

/** The two ports over S3, as returned by {@link createS3Storage}. */
export interface S3Storage {
  /** Gets objects from the upload bucket only. */
  readonly reader: S3UploadReader;
  /** Puts objects into the processed bucket only. */
  readonly writer: S3ThumbnailWriter;
  /** Releases both clients' sockets. */
  close(): void;
}

/**
 * Builds the reader and the writer with one set of connection options.
 *
 * @param options connection options and bucket names
 * @example
 * const storage = createS3Storage({ endpoint: dev.endpoint, region: dev.region,
 *   credentials: dev.accounts.thumbnailService });
 */
export function createS3Storage(options: S3StorageOptions = {}): S3Storage {
  const {
    uploadBucket = 'temp-uploads',
    processedBucket = 'processed-thumbnails',
    ...connection
  } = options;
  const reader = new S3UploadReader({ ...connection, bucket: uploadBucket });
  const writer = new S3ThumbnailWriter({ ...connection, bucket: processedBucket });
  return {
    reader,
    writer,
    close: () => {
      reader.close();
      writer.close();
    },
  };
}
