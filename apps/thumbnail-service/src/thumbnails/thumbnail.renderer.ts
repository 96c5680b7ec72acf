import { Injectable } from '@nestjs/common';
import sharp, { type Sharp } from 'sharp';
import { ImageRejectedError } from './image-rejected.error.js';
import { ImageWorkTimeoutError } from './image-work-timeout.error.js';
import { MAX_INPUT_PIXELS } from './image.inspector.js';
import './sharp-process.settings.js';
import type { ThumbnailFormat, ThumbnailParameters } from './thumbnail-parameters.js';

/** Seconds libvips may spend on one render before it aborts it. */
export const RENDER_TIMEOUT_SECONDS = 10;

/** What the renderer made. */
export interface RenderedThumbnail {
  /** The encoded thumbnail. */
  readonly data: Buffer;
  /** Its properties, as the encoder reports them. */
  readonly info: {
    /** Width, in pixels. */
    readonly width: number;
    /** Height, in pixels. */
    readonly height: number;
    /** Format, as requested. */
    readonly format: ThumbnailFormat;
    /** Size of `data`, in bytes. */
    readonly size: number;
  };
}

/** Media type of each output format. */
export const THUMBNAIL_CONTENT_TYPES: Readonly<Record<ThumbnailFormat, string>> = Object.freeze({
  webp: 'image/webp',
  jpeg: 'image/jpeg',
  png: 'image/png',
  avif: 'image/avif',
});

/**
 * Renders thumbnails with `sharp`. Call it only with input {@link ImageInspector} accepted: its
 * own limits are a second line, not the first.
 *
 * Input: `failOn: 'error'` (truncated or corrupt pixel data fails, mere warnings such as bytes
 * before a JPEG marker do not), `limitInputPixels` = {@link MAX_INPUT_PIXELS}, first frame only
 * (`pages: 1`), `sequentialRead` (top-to-bottom decoding, no random access to the whole image).
 * Processing: EXIF orientation applied (`autoOrient`), resized without enlargement, flattened on
 * white for JPEG (which has no alpha). Output: no metadata call at all, so sharp writes no EXIF,
 * GPS, XMP or ICC profile, and converts the pixels to sRGB from any embedded profile.
 */
@Injectable()
export class ThumbnailRenderer {
  /**
   * @param input An image {@link ImageInspector} accepted.
   * @param parameters Box, fit and format, defaults applied.
   * @throws {ImageRejectedError} `corrupt` when decoding fails, `too-many-pixels` when libvips'
   * own pixel limit refuses it.
   * @throws {ImageWorkTimeoutError} when libvips gives up after {@link RENDER_TIMEOUT_SECONDS}.
   */
  async render(
    input: Buffer,
    parameters: Pick<ThumbnailParameters, 'width' | 'height' | 'fit' | 'format'>,
  ): Promise<RenderedThumbnail> {
    const { width, height, fit, format } = parameters;
    let pipeline = sharp(input, {
      failOn: 'error',
      limitInputPixels: MAX_INPUT_PIXELS,
      pages: 1,
      sequentialRead: true,
    })
      .timeout({ seconds: RENDER_TIMEOUT_SECONDS })
      .autoOrient()
      .resize({ width, height, fit, withoutEnlargement: true });
    if (format === 'jpeg') {
      pipeline = pipeline.flatten({ background: '#ffffff' });
    }
    try {
      const { data, info } = await encode(pipeline, format).toBuffer({ resolveWithObject: true });
      return { data, info: { width: info.width, height: info.height, format, size: data.length } };
    } catch (error) {
      throw classifySharpError(error);
    }
  }
}

function encode(pipeline: Sharp, format: ThumbnailFormat): Sharp {
  switch (format) {
    case 'webp':
      return pipeline.webp({ quality: 80 });
    case 'jpeg':
      return pipeline.jpeg({ quality: 80, mozjpeg: true });
    case 'png':
      return pipeline.png({ compressionLevel: 9 });
    case 'avif':
      // Effort 2 of 9: AVIF encoding is the slowest step by far, and a thumbnail is small.
      return pipeline.avif({ quality: 50, effort: 2 });
  }
}

function classifySharpError(error: unknown): Error {
  const message = error instanceof Error ? error.message : String(error);
  if (/exceeds pixel limit/i.test(message)) {
    return new ImageRejectedError('too-many-pixels', 'libvips refused the image: pixel limit', {
      cause: error,
    });
  }
  if (/is blocked/i.test(message) || /unsupported image format/i.test(message)) {
    return new ImageRejectedError('unsupported-format', 'no allowed libvips loader reads it', {
      cause: error,
    });
  }
  if (/^timeout\b/i.test(message)) {
    return new ImageWorkTimeoutError(RENDER_TIMEOUT_SECONDS * 1000, 1, { cause: error });
  }
  return new ImageRejectedError('corrupt', 'the image data cannot be decoded', { cause: error });
}
