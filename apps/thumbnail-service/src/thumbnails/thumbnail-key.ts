import { createHash } from 'node:crypto';
import type { ThumbnailFormat, ThumbnailParameters } from './thumbnail-parameters.js';

/** File name extension of each output format. */
export const THUMBNAIL_EXTENSIONS: Readonly<Record<ThumbnailFormat, string>> = Object.freeze({
  webp: 'webp',
  jpeg: 'jpg',
  png: 'png',
  avif: 'avif',
});

// Part of the hashed input: bump it when the rendering changes what a key's bytes look like,
// so old thumbnails are not served for new settings.
const KEY_VERSION = 1;

/**
 * Key of a thumbnail in `processed-thumbnails/`:
 * `thumbnails/<sha256 hex of canonical JSON of the parameters>.<extension>`.
 *
 * The same parameters always give the same key, and any difference gives another. The source key
 * appears only hashed, so nothing in it (slashes, dots, odd characters) can shape the output key.
 *
 * @example
 * ```ts
 * thumbnailKeyFor({ sourceKey: 'a.png', width: 64, height: undefined, fit: 'inside', format: 'webp' });
 * // 'thumbnails/5d2c….webp'
 * ```
 */
export function thumbnailKeyFor(parameters: ThumbnailParameters): string {
  const { sourceKey, width, height, fit, format } = parameters;
  // An array fixes the order of the fields, and JSON escaping makes the encoding unambiguous.
  const canonical = JSON.stringify([KEY_VERSION, sourceKey, width, height ?? null, fit, format]);
  const digest = createHash('sha256').update(canonical, 'utf8').digest('hex');
  return `thumbnails/${digest}.${THUMBNAIL_EXTENSIONS[format]}`;
}
