/**
 * Why an image was refused:
 * - `too-large`: more bytes than allowed (found while reading, before the image is looked at);
 * - `unsupported-format`: by its content not one of the allowed raster formats, or a polyglot;
 * - `corrupt`: an allowed format whose header or pixel data cannot be read (truncated included);
 * - `too-many-pixels`: a first frame larger than allowed by its header (decompression bombs).
 */
export type ImageRejectionReason =
  'too-large' | 'unsupported-format' | 'corrupt' | 'too-many-pixels';

/**
 * An uploaded image the service will not process. `reason` is stable; `message` is for logs and
 * may quote the detected format or sizes, and `cause` holds the underlying error when there is one.
 */
export class ImageRejectedError extends Error {
  override readonly name = 'ImageRejectedError';

  /**
   * @param reason Stable reason, for mapping to a status.
   * @param message Detail for the log.
   * @param options `cause`, when another error led to the refusal.
   */
  constructor(
    readonly reason: ImageRejectionReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
