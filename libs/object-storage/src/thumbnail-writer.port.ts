/** Options of {@link ThumbnailWriter.write}. */
export interface ThumbnailWriteOptions {
  /** `Content-Type` stored with the object. */
  contentType: string;
  /** Aborts the write. */
  signal?: AbortSignal;
}

/**
 * Port that can only put objects into the processed bucket. Also the Nest injection token.
 *
 * A write is one request carrying the whole body with its length, so it either stores the
 * complete object or nothing. Implementations report `StorageUnavailableError`,
 * `StorageAccessDeniedError` or `StorageUnexpectedError`.
 */
export abstract class ThumbnailWriter {
  /**
   * Stores `body` under `key`, replacing any previous object.
   *
   * @param key object key inside the processed bucket
   * @param body the complete object
   * @param options content type and abort signal
   */
  abstract write(key: string, body: Buffer, options: ThumbnailWriteOptions): Promise<void>;
}
