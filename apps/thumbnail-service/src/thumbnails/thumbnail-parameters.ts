/** How a thumbnail fits the requested box; the names are `sharp`'s `fit` values. */
export const THUMBNAIL_FITS = ['cover', 'contain', 'inside'] as const;

/** A value of {@link THUMBNAIL_FITS}. */
export type ThumbnailFit = (typeof THUMBNAIL_FITS)[number];

/** Output formats a thumbnail can be encoded in. */
export const THUMBNAIL_FORMATS = ['webp', 'jpeg', 'png', 'avif'] as const;

/** A value of {@link THUMBNAIL_FORMATS}. */
export type ThumbnailFormat = (typeof THUMBNAIL_FORMATS)[number];

/** The fit used when a request names none. */
export const DEFAULT_THUMBNAIL_FIT: ThumbnailFit = 'inside';

/** The format used when a request names none. */
export const DEFAULT_THUMBNAIL_FORMAT: ThumbnailFormat = 'webp';

/** Smallest width or height a request may ask for, in pixels. */
export const MIN_THUMBNAIL_DIMENSION = 16;

/** Largest width or height a request may ask for, in pixels. */
export const MAX_THUMBNAIL_DIMENSION = 2048;

/** Longest source key a request may name, in characters. */
export const MAX_SOURCE_KEY_LENGTH = 512;

/**
 * The characters a source key may use. Dots and slashes are allowed, so path games are refused
 * separately by `IsSafeObjectKey` (no `.` or `..` segment, no empty segment).
 */
export const SOURCE_KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9/_.-]{0,511}$/;

/**
 * Parameters of one thumbnail, defaults applied: what the renderer and the key are made from.
 */
export interface ThumbnailParameters {
  /** Key of the upload, relative to the upload area. */
  readonly sourceKey: string;
  /** Width of the box, in pixels. */
  readonly width: number;
  /** Height of the box, in pixels; `undefined` keeps the aspect ratio from `width`. */
  readonly height: number | undefined;
  /** How the image fits the box. */
  readonly fit: ThumbnailFit;
  /** Output format. */
  readonly format: ThumbnailFormat;
}
