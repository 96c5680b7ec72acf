import { Injectable } from '@nestjs/common';
import {
  ObjectTooLargeError,
  ThumbnailWriter,
  UploadReader,
} from '@secure-api-sample/object-storage';
import type { CreateThumbnailDto } from './create-thumbnail.dto.js';
import { ImageRejectedError } from './image-rejected.error.js';
import { ImageJobLimiter } from './image-job.limiter.js';
import { ImageInspector } from './image.inspector.js';
import type { ThumbnailCreatedDto } from './thumbnail-created.dto.js';
import { thumbnailKeyFor } from './thumbnail-key.js';
import {
  DEFAULT_THUMBNAIL_FIT,
  DEFAULT_THUMBNAIL_FORMAT,
  type ThumbnailParameters,
} from './thumbnail-parameters.js';
import { THUMBNAIL_CONTENT_TYPES, ThumbnailRenderer } from './thumbnail.renderer.js';

/** Largest upload read, in bytes (25 MiB); checked while streaming by the reader. */
export const MAX_SOURCE_BYTES = 25 * 1024 * 1024;

/**
 * Makes a thumbnail: reads `temp-uploads/<sourceKey>`, checks it, renders it and writes it to
 * `processed-thumbnails/<key>`. Maps nothing to HTTP; see `httpProblemFor()` for that.
 *
 * Read, inspection and rendering run inside one {@link ImageJobLimiter} slot, so at most
 * `concurrency` uploads (25 MiB each at most) are in memory at once, whatever the burst.
 */
@Injectable()
export class ThumbnailService {
  /**
   * @param uploads reads uploads
   * @param thumbnails writes thumbnails
   * @param inspector checks uploads before decoding
   * @param renderer renders thumbnails
   * @param limiter bounds concurrent image jobs
   */
  constructor(
    private readonly uploads: UploadReader,
    private readonly thumbnails: ThumbnailWriter,
    private readonly inspector: ImageInspector,
    private readonly renderer: ThumbnailRenderer,
    private readonly limiter: ImageJobLimiter,
  ) {}

  /**
   * @param request A validated body; `fit` defaults to `inside`, `format` to `webp`.
   * @param options `signal` aborts the work (e.g. the client went away).
   * @throws {ImageRejectedError} the upload is too large, not an allowed format, corrupt, or has
   * too many pixels.
   * @throws {ImageWorkBusyError} every slot and queue place is taken.
   * @throws {ImageWorkTimeoutError} the job ran out of time.
   * @throws the storage errors of the ports (`ObjectNotFoundError`, `StorageUnavailableError`,
   * `StorageAccessDeniedError`, …), unchanged except `ObjectTooLargeError`, which becomes an
   * `ImageRejectedError` with reason `too-large`.
   */
  async create(
    request: CreateThumbnailDto,
    options: { signal?: AbortSignal } = {},
  ): Promise<ThumbnailCreatedDto> {
    const parameters: ThumbnailParameters = {
      sourceKey: request.sourceKey,
      width: request.width,
      // @IsOptional() lets an explicit null through: it means "absent", as for fit and format.
      height: request.height ?? undefined,
      fit: request.fit ?? DEFAULT_THUMBNAIL_FIT,
      format: request.format ?? DEFAULT_THUMBNAIL_FORMAT,
    };
    const rendered = await this.limiter.run(async (signal) => {
      const input = await this.readSource(parameters.sourceKey, signal);
      await this.inspector.inspect(input);
      return this.renderer.render(input, parameters);
    }, options.signal);

    const key = thumbnailKeyFor(parameters);
    await this.thumbnails.write(key, rendered.data, {
      contentType: THUMBNAIL_CONTENT_TYPES[parameters.format],
      signal: options.signal,
    });
    const { width, height, format, size } = rendered.info;
    return { key, width, height, format, bytes: size };
  }

  private async readSource(sourceKey: string, signal: AbortSignal): Promise<Buffer> {
    try {
      // The stored content type is the uploader's claim: the inspector decides from the bytes.
      const { body } = await this.uploads.read(sourceKey, { maxBytes: MAX_SOURCE_BYTES, signal });
      if (body.length > MAX_SOURCE_BYTES) {
        throw new ImageRejectedError(
          'too-large',
          `upload "${sourceKey}" has ${body.length} bytes; at most ${MAX_SOURCE_BYTES} are allowed`,
        );
      }
      return body;
    } catch (error) {
      if (error instanceof ObjectTooLargeError) {
        throw new ImageRejectedError(
          'too-large',
          `upload "${sourceKey}" is larger than ${MAX_SOURCE_BYTES} bytes`,
          { cause: error },
        );
      }
      throw error;
    }
  }
}
