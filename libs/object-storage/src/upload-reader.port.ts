/** Options of {@link UploadReader.read}. */
export interface UploadReadOptions {
  /** Reading stops with `ObjectTooLargeError` as soon as more than this many bytes arrived. */
  maxBytes: number;
  /** Aborts the read (e.g. when the client went away). */
  signal?: AbortSignal;
}

/** An object read by {@link UploadReader.read}. */
export interface UploadedObject {
  /** The whole object, at most `maxBytes` long. */
  body: Buffer;
  /** `Content-Type` stored with the object, as uploaded (untrusted). */
  contentType: string | undefined;
  /** `body.length`. */
  bytes: number;
}

/**
 * Port that can only get objects from the upload bucket. Also the Nest injection token.
 *
 * Implementations report `ObjectNotFoundError`, `ObjectTooLargeError`,
 * `StorageUnavailableError`, `StorageAccessDeniedError` or `StorageUnexpectedError`.
 *
 * @example
 * constructor(private readonly uploads: UploadReader) {}
 * const { body } = await this.uploads.read(key, { maxBytes: 25 * 1024 * 1024 });
 */
export abstract class UploadReader {
  /**
   * Reads one object, streaming, and stops early when it is too large.
   *
   * @param key object key inside the upload bucket
   * @param options size limit and abort signal
   */
  abstract read(key: string, options: UploadReadOptions): Promise<UploadedObject>;
}
