import { Injectable } from '@nestjs/common';
import sharp, { type Metadata } from 'sharp';
import { ImageRejectedError } from './image-rejected.error.js';
import './sharp-process.settings.js';

/**
 * Raster formats accepted as input, by content. Refused on purpose: SVG and PDF (vector and
 * document formats: scripts, external references, unbounded rendering cost), TIFF (a container
 * of many codecs with a long CVE history in libtiff, not a web upload format), HEIC (HEVC is not
 * in sharp's prebuilt libvips, so it could not be decoded anyway), and everything else libvips
 * might open (RAW, PPM, FITS, …).
 */
export const ALLOWED_IMAGE_FORMATS = ['jpeg', 'png', 'webp', 'gif', 'avif'] as const;

/** A value of {@link ALLOWED_IMAGE_FORMATS}. */
export type AllowedImageFormat = (typeof ALLOWED_IMAGE_FORMATS)[number];

/** Largest first frame accepted, in pixels (`width × height` by the header). */
export const MAX_INPUT_PIXELS = 50_000_000;

/** What the header says about an accepted image. */
export interface ImageInspection {
  /** Format, by magic bytes, confirmed by the decoder's header reader. */
  readonly format: AllowedImageFormat;
  /** Width of the first frame, in pixels, before orientation is applied. */
  readonly width: number;
  /** Height of the first frame, in pixels, before orientation is applied. */
  readonly height: number;
  /** Number of frames or pages; only the first is ever decoded. */
  readonly pages: number;
}

// WHATWG MIME Sniffing reads a "resource header" of up to 1445 bytes; PDF readers look for
// `%PDF-` within the first 1024 bytes. Markup there makes the file something else to some reader.
const HEADER_WINDOW_BYTES = 1445;
const HEADER_MARKERS = [
  '<!doctype',
  '<html',
  '<head',
  '<body',
  '<script',
  '<iframe',
  '<svg',
  '<?php',
  '%pdf-',
] as const;
// Markers searched in the whole file. Only long ones: a short marker such as `<svg` would turn
// up by chance in compressed pixel data (about 1 in 20 files of 25 MB), a 7-byte one never does.
const BODY_MARKERS = ['<script', '<!doctype', '<iframe'] as const;
const SCAN_WINDOW_BYTES = 64 * 1024;

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const AVIF_BRANDS = new Set(['avif', 'avis']);

/**
 * Decides from the bytes, before any pixel is decoded, whether an upload may be rendered.
 *
 * In order, each check refusing with an {@link ImageRejectedError}:
 * 1. the signature at offset 0 must be one of {@link ALLOWED_IMAGE_FORMATS}, whatever the name
 *    or content type (`unsupported-format`);
 * 2. no polyglot (`unsupported-format`): no HTML, SVG, PHP or PDF marker in the first 1445
 *    bytes, no `<script`, `<!doctype` or `<iframe` anywhere, and for PNG and WebP nothing after
 *    the end of the image (appended archives, HTML or scripts). JPEG, GIF and AVIF are not checked
 *    for appended bytes: their end cannot be found without decoding, cameras append data, and the
 *    output is re-encoded, so appended bytes never reach a client;
 * 3. the container must be whole for PNG (chunks up to `IEND`) and WebP (RIFF size) (`corrupt`);
 * 4. libvips' header reader must open it, as the same format (`corrupt`, or `unsupported-format`
 *    when it sees another format, e.g. HEIC behind an AVIF-like `ftyp`);
 * 5. the first frame must have at most {@link MAX_INPUT_PIXELS} pixels (`too-many-pixels`).
 *
 * Truncated pixel data after a valid header is found only by decoding: the renderer reports it.
 */
@Injectable()
export class ImageInspector {
  /**
   * @param input The whole upload.
   * @throws {ImageRejectedError} as above.
   */
  async inspect(input: Buffer): Promise<ImageInspection> {
    const format = sniffFormat(input);
    if (format === undefined) {
      throw new ImageRejectedError(
        'unsupported-format',
        `not an allowed image format by its content (starts with ${describeStart(input)})`,
      );
    }
    const marker = findActiveContent(input);
    if (marker !== undefined) {
      throw new ImageRejectedError(
        'unsupported-format',
        `polyglot: ${format} file contains "${marker}"`,
      );
    }
    if (format === 'png') {
      checkPngChunks(input);
    } else if (format === 'webp') {
      checkRiffSize(input);
    }

    let metadata: Metadata;
    try {
      // Header only: metadata() never decodes pixels, so the pixel limit is ours to apply below.
      metadata = await sharp(input, { limitInputPixels: false }).metadata();
    } catch (error) {
      throw new ImageRejectedError('corrupt', `unreadable ${format} header`, { cause: error });
    }
    const decoded = decoderFormat(metadata);
    if (decoded !== format) {
      throw new ImageRejectedError(
        'unsupported-format',
        `signature says ${format} but the decoder sees ${decoded}`,
      );
    }
    const width = metadata.width;
    // Without a `pages` option the header describes the first frame only.
    const height = metadata.pageHeight ?? metadata.height;
    if (!(width > 0) || !(height > 0)) {
      throw new ImageRejectedError('corrupt', `${format} header has no dimensions`);
    }
    if (width * height > MAX_INPUT_PIXELS) {
      throw new ImageRejectedError(
        'too-many-pixels',
        `${width}×${height} is ${width * height} pixels; at most ${MAX_INPUT_PIXELS} are allowed`,
      );
    }
    return { format, width, height, pages: metadata.pages ?? 1 };
  }
}

function sniffFormat(input: Buffer): AllowedImageFormat | undefined {
  if (input.length >= 3 && input[0] === 0xff && input[1] === 0xd8 && input[2] === 0xff) {
    return 'jpeg';
  }
  if (input.subarray(0, 8).equals(PNG_SIGNATURE)) {
    return 'png';
  }
  const ascii6 = input.toString('latin1', 0, 6);
  if (ascii6 === 'GIF87a' || ascii6 === 'GIF89a') {
    return 'gif';
  }
  if (input.toString('latin1', 0, 4) === 'RIFF' && input.toString('latin1', 8, 12) === 'WEBP') {
    return 'webp';
  }
  if (input.toString('latin1', 4, 8) === 'ftyp' && isAvifFileType(input)) {
    return 'avif';
  }
  return undefined;
}

// ISO/IEC 14496-12 §4.3: the first box is `ftyp`; AVIF names `avif` or `avis` as its major
// brand or one of the compatible brands (AV1 Image File Format §9).
function isAvifFileType(input: Buffer): boolean {
  const size = input.length >= 4 ? input.readUInt32BE(0) : 0;
  if (size < 16 || size > input.length || size % 4 !== 0) {
    return false;
  }
  const brands = [input.toString('latin1', 8, 12)];
  for (let offset = 16; offset + 4 <= size; offset += 4) {
    brands.push(input.toString('latin1', offset, offset + 4));
  }
  return brands.some((brand) => AVIF_BRANDS.has(brand));
}

function findActiveContent(input: Buffer): string | undefined {
  const head = input.toString('latin1', 0, HEADER_WINDOW_BYTES).toLowerCase();
  const inHead = HEADER_MARKERS.find((marker) => head.includes(marker));
  if (inHead !== undefined) {
    return inHead;
  }
  // Windows overlap by the longest marker, so one straddling a boundary is still found; the
  // window keeps the lower-cased copy small whatever the size of the upload.
  const overlap = Math.max(...BODY_MARKERS.map((marker) => marker.length)) - 1;
  for (let start = 0; start < input.length; start += SCAN_WINDOW_BYTES) {
    const window = input
      .toString('latin1', Math.max(0, start - overlap), start + SCAN_WINDOW_BYTES)
      .toLowerCase();
    const found = BODY_MARKERS.find((marker) => window.includes(marker));
    if (found !== undefined) {
      return found;
    }
  }
  return undefined;
}

// PNG §5.3: chunks of length(4) type(4) data CRC(4), IHDR first, IEND last.
function checkPngChunks(input: Buffer): void {
  let offset = PNG_SIGNATURE.length;
  let first = true;
  while (offset + 8 <= input.length) {
    const length = input.readUInt32BE(offset);
    const type = input.toString('latin1', offset + 4, offset + 8);
    if (first && type !== 'IHDR') {
      throw new ImageRejectedError('corrupt', `png starts with chunk "${type}", not IHDR`);
    }
    first = false;
    const end = offset + 12 + length;
    if (length > 0x7fffffff || end > input.length) {
      throw new ImageRejectedError('corrupt', `png chunk "${type}" is truncated`);
    }
    if (type === 'IEND') {
      if (end !== input.length) {
        throw new ImageRejectedError(
          'unsupported-format',
          `polyglot: ${input.length - end} bytes after the png IEND chunk`,
        );
      }
      return;
    }
    offset = end;
  }
  throw new ImageRejectedError('corrupt', 'png is truncated (no IEND chunk)');
}

// RIFF: "RIFF" size(4, little-endian, of what follows) "WEBP" chunks.
function checkRiffSize(input: Buffer): void {
  if (input.length < 12) {
    throw new ImageRejectedError('corrupt', 'webp is truncated');
  }
  const end = 8 + input.readUInt32LE(4);
  if (end > input.length) {
    throw new ImageRejectedError('corrupt', 'webp is truncated (RIFF size beyond the end)');
  }
  if (end < input.length) {
    throw new ImageRejectedError(
      'unsupported-format',
      `polyglot: ${input.length - end} bytes after the webp RIFF chunk`,
    );
  }
}

function decoderFormat(metadata: Metadata): string {
  // libheif reports AVIF and HEIC alike as "heif"; the codec tells them apart.
  if (metadata.format === 'heif') {
    return metadata.compression === 'av1' ? 'avif' : `heif/${metadata.compression ?? 'unknown'}`;
  }
  return metadata.format;
}

function describeStart(input: Buffer): string {
  return input.length === 0 ? 'nothing' : `0x${input.subarray(0, 8).toString('hex')}`;
}
