import {
  appended,
  gifWithComment,
  HEIC_FTYP,
  HTML,
  jpegWithOrientationGpsAndIcc,
  noisyPng,
  PDF,
  pngWithText,
  pseudoRandomBytes,
  solidImage,
  solidPng,
  SVG,
  truncatedJpeg,
  twoFrameAnimation,
  ZIP_START,
} from '../../test/fixtures/images.js';
import {
  bilevelPng,
  bilevelPngHeaderOnly,
  PNG_SIGNATURE,
  pngChunk,
} from '../../test/fixtures/png-bytes.js';
import { ImageRejectedError, type ImageRejectionReason } from './image-rejected.error.js';
import { ImageInspector, MAX_INPUT_PIXELS } from './image.inspector.js';

const inspector = new ImageInspector();

async function rejection(input: Buffer): Promise<ImageRejectedError> {
  try {
    await inspector.inspect(input);
  } catch (error) {
    if (error instanceof ImageRejectedError) {
      return error;
    }
    throw error;
  }
  throw new Error('expected the inspector to refuse the input');
}

describe('ImageInspector', () => {
  describe('accepts the allowed raster formats, by content', () => {
    it.each(['jpeg', 'png', 'webp', 'gif', 'avif'] as const)('%s', async (format) => {
      await expect(inspector.inspect(await solidImage(format, 64, 48))).resolves.toEqual({
        format,
        width: 64,
        height: 48,
        pages: 1,
      });
    });

    it('reports the stored (unrotated) size of an EXIF-oriented JPEG', async () => {
      await expect(inspector.inspect(await jpegWithOrientationGpsAndIcc())).resolves.toMatchObject({
        format: 'jpeg',
        width: 100,
        height: 50,
      });
    });

    it.each(['gif', 'webp'] as const)('an animated %s counts one frame', async (format) => {
      await expect(inspector.inspect(await twoFrameAnimation(format))).resolves.toEqual({
        format,
        width: 16,
        height: 16,
        pages: 2,
      });
    });

    it('a PNG of exactly 50 megapixels by the header (the limit is inclusive)', async () => {
      await expect(inspector.inspect(bilevelPngHeaderOnly(10_000, 5_000))).resolves.toMatchObject({
        width: 10_000,
        height: 5_000,
      });
      expect(10_000 * 5_000).toBe(MAX_INPUT_PIXELS);
    });
  });

  const cases: [string, () => Buffer | Promise<Buffer>, ImageRejectionReason, RegExp][] = [
    ['an SVG', () => SVG, 'unsupported-format', /not an allowed image format/],
    ['a PDF', () => PDF, 'unsupported-format', /not an allowed image format/],
    ['an HTML page', () => HTML, 'unsupported-format', /not an allowed image format/],
    ['nothing', () => Buffer.alloc(0), 'unsupported-format', /starts with nothing/],
    ['random bytes', () => pseudoRandomBytes(), 'unsupported-format', /not an allowed/],
    ['a TIFF', () => solidImage('tiff'), 'unsupported-format', /not an allowed image format/],
    ['an HEIC ftyp', () => HEIC_FTYP, 'unsupported-format', /not an allowed image format/],
    [
      'HTML followed by a PNG',
      async () => Buffer.concat([HTML, await solidPng(8, 8)]),
      'unsupported-format',
      /not an allowed image format/,
    ],
    [
      'a PNG signature followed by HTML',
      () => Buffer.concat([PNG_SIGNATURE, HTML]),
      'unsupported-format',
      /polyglot: png file contains "<!doctype"/,
    ],
    [
      'a PNG with HTML appended after IEND',
      async () => appended(await solidPng(8, 8), '<p>hello</p>'),
      'unsupported-format',
      /polyglot: 12 bytes after the png IEND chunk/,
    ],
    [
      'a PNG with a ZIP appended (GIFAR-style)',
      async () => appended(await solidPng(8, 8), ZIP_START),
      'unsupported-format',
      /polyglot: 10 bytes after the png IEND chunk/,
    ],
    [
      'a PNG with <script> in a text chunk after 30 kB of pixel data',
      async () => pngWithText(await noisyPng(100, 100), '<ScRiPt>alert(1)</script>'),
      'unsupported-format',
      /polyglot: png file contains "<script"/,
    ],
    [
      'a PNG with <svg in a text chunk in the first 1445 bytes',
      async () => pngWithText(await solidPng(8, 8), '<svg onload=alert(1)>'),
      'unsupported-format',
      /polyglot: png file contains "<svg"/,
    ],
    [
      'a JPEG with a script appended',
      async () => appended(await solidImage('jpeg'), '<script>alert(1)</script>'),
      'unsupported-format',
      /polyglot: jpeg file contains "<script"/,
    ],
    [
      'a GIF whose comment is HTML',
      () => gifWithComment('<html><body>hi</body></html>'),
      'unsupported-format',
      /polyglot: gif file contains "<html"/,
    ],
    [
      'a GIF whose comment starts a PDF',
      () => gifWithComment('%PDF-1.4'),
      'unsupported-format',
      /polyglot: gif file contains "%pdf-"/,
    ],
    [
      'a WebP with bytes after its RIFF chunk',
      async () => appended(await solidImage('webp'), 'tail'),
      'unsupported-format',
      /polyglot: 4 bytes after the webp RIFF chunk/,
    ],
    [
      'a JPEG cut within its header',
      async () => (await jpegWithOrientationGpsAndIcc()).subarray(0, 400),
      'corrupt',
      /unreadable jpeg header/,
    ],
    [
      'a truncated PNG',
      async () => (await noisyPng(64, 64)).subarray(0, 2000),
      'corrupt',
      /png chunk "IDAT" is truncated/,
    ],
    [
      'a PNG without IEND',
      async () => {
        const png = await solidPng(8, 8);
        return png.subarray(0, png.length - 12);
      },
      'corrupt',
      /no IEND chunk/,
    ],
    [
      'a PNG whose first chunk is not IHDR',
      () => Buffer.concat([PNG_SIGNATURE, pngChunk('IEND')]),
      'corrupt',
      /starts with chunk "IEND"/,
    ],
    [
      'a truncated WebP',
      async () => {
        const webp = await solidImage('webp');
        return webp.subarray(0, webp.length - 4);
      },
      'corrupt',
      /webp is truncated/,
    ],
    [
      'a GIF signature and nothing else',
      () => Buffer.from('GIF89a', 'latin1'),
      'corrupt',
      /unreadable gif header/,
    ],
    [
      'a 20000 × 20000 PNG (a real, valid decompression bomb)',
      () => bilevelPng(20_000, 20_000),
      'too-many-pixels',
      /20000×20000 is 400000000 pixels; at most 50000000 are allowed/,
    ],
    [
      'one pixel more than 50 MP',
      () => bilevelPngHeaderOnly(50_000_001, 1),
      'too-many-pixels',
      /50000001×1 is 50000001 pixels/,
    ],
  ];

  it.each(cases)('refuses %s', async (_name, make, reason, message) => {
    const error = await rejection(await make());
    expect(error.reason).toBe(reason);
    expect(error.message).toMatch(message);
  });

  it('decides a bomb by its header alone: pixel data that cannot be decoded is never looked at', async () => {
    // The file announces 20000 × 20000 but holds one row: decoding it fails (the renderer says
    // "corrupt" for it, see thumbnail.renderer.spec.ts). "too-many-pixels" therefore proves that
    // no pixel was decoded.
    const error = await rejection(bilevelPngHeaderOnly(20_000, 20_000));
    expect(error.reason).toBe('too-many-pixels');
  });

  it('refuses a truncated JPEG whose header is whole only when decoding: the header passes', async () => {
    await expect(inspector.inspect(await truncatedJpeg())).resolves.toMatchObject({
      format: 'jpeg',
      width: 800,
      height: 600,
    });
  });
});
