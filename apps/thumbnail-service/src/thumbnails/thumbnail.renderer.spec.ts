import sharp from 'sharp';
import {
  BLUE,
  jpegWithOrientationGpsAndIcc,
  RED,
  solidImage,
  solidPng,
  SVG,
  truncatedJpeg,
  twelveMegapixelJpeg,
  twoFrameAnimation,
  type Rgb,
} from '../../test/fixtures/images.js';
import { bilevelPng, bilevelPngHeaderOnly } from '../../test/fixtures/png-bytes.js';
import { ImageRejectedError } from './image-rejected.error.js';
import { THUMBNAIL_FORMATS } from './thumbnail-parameters.js';
import { ThumbnailRenderer } from './thumbnail.renderer.js';

const renderer = new ThumbnailRenderer();

async function firstPixel(image: Buffer): Promise<Rgb> {
  const { data } = await sharp(image).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { r: data[0] ?? -1, g: data[1] ?? -1, b: data[2] ?? -1 };
}

function expectColourNear(actual: Rgb, expected: Rgb): void {
  for (const channel of ['r', 'g', 'b'] as const) {
    expect(Math.abs(actual[channel] - expected[channel])).toBeLessThanOrEqual(8);
  }
}

describe('ThumbnailRenderer', () => {
  it.each(THUMBNAIL_FORMATS)('encodes %s with the size and format it reports', async (format) => {
    const { data, info } = await renderer.render(await solidPng(400, 200), {
      width: 100,
      height: undefined,
      fit: 'inside',
      format,
    });
    const metadata = await sharp(data).metadata();
    expect(info).toEqual({ width: 100, height: 50, format, size: data.length });
    expect([metadata.width, metadata.height]).toEqual([100, 50]);
    expect(metadata.format).toBe(format === 'avif' ? 'heif' : format);
    if (format === 'avif') {
      expect(metadata.compression).toBe('av1');
    }
  });

  it.each([
    ['inside', 80, 80, [80, 40]],
    ['contain', 80, 80, [80, 80]],
    ['cover', 80, 80, [80, 80]],
    ['cover', 50, 100, [50, 100]],
  ] as const)('fit %s into %d × %d gives %j', async (fit, width, height, size) => {
    const { info } = await renderer.render(await solidPng(400, 200), {
      width,
      height,
      fit,
      format: 'png',
    });
    expect([info.width, info.height]).toEqual(size);
  });

  it('never enlarges', async () => {
    const { info } = await renderer.render(await solidPng(40, 20), {
      width: 400,
      height: undefined,
      fit: 'inside',
      format: 'webp',
    });
    expect([info.width, info.height]).toEqual([40, 20]);
  });

  it('applies the EXIF orientation and drops EXIF, GPS, XMP and the ICC profile', async () => {
    const input = await jpegWithOrientationGpsAndIcc();
    const before = await sharp(input).metadata();
    // The fixture really carries what must be removed, or this test could not fail.
    expect(before).toMatchObject({ width: 100, height: 50, orientation: 6 });
    // The GPS IFD pointer, tag 0x8825, in either byte order.
    const gpsPointer = [Buffer.from([0x25, 0x88]), Buffer.from([0x88, 0x25])];
    expect(gpsPointer.some((tag) => before.exif?.includes(tag))).toBe(true);
    expect(before.icc).toBeInstanceOf(Buffer);
    expect(before.xmp?.toString('latin1')).toContain('secret creator');
    expect(input.includes(Buffer.from('secret owner'))).toBe(true);

    for (const format of THUMBNAIL_FORMATS) {
      const { data, info } = await renderer.render(input, {
        width: 2048,
        height: undefined,
        fit: 'inside',
        format,
      });
      const after = await sharp(data).metadata();
      expect([info.width, info.height]).toEqual([50, 100]);
      expect([after.width, after.height]).toEqual([50, 100]);
      expect(after.orientation).toBeUndefined();
      expect(after.exif).toBeUndefined();
      expect(after.icc).toBeUndefined();
      expect(after.xmp).toBeUndefined();
      expect(data.includes(Buffer.from('secret'))).toBe(false);
    }
  });

  it('converts colours from the embedded profile to sRGB rather than dropping the profile', async () => {
    // The fixture is sRGB red converted to Display P3 and tagged so: its stored values, read
    // as if they were sRGB, are about (234, 51, 35). Only applying the profile gives red back.
    const input = await jpegWithOrientationGpsAndIcc();
    const stored = await firstPixel(await sharp(input, { ignoreIcc: true }).png().toBuffer());
    expect(Math.abs(stored.g - RED.g)).toBeGreaterThan(30);

    const { data } = await renderer.render(input, {
      width: 32,
      height: undefined,
      fit: 'inside',
      format: 'png',
    });
    expectColourNear(await firstPixel(data), RED);
  });

  it.each(['gif', 'webp'] as const)('renders the first frame of an animated %s', async (format) => {
    const { data, info } = await renderer.render(await twoFrameAnimation(format), {
      width: 16,
      height: undefined,
      fit: 'inside',
      format: 'png',
    });
    expect([info.width, info.height]).toEqual([16, 16]);
    expectColourNear(await firstPixel(data), RED);
    expect(await firstPixel(data)).not.toEqual(BLUE);
    expect((await sharp(data).metadata()).pages).toBeUndefined();
  });

  it('makes a 320 px thumbnail of a 12 MP JPEG', async () => {
    const { info } = await renderer.render(await twelveMegapixelJpeg(), {
      width: 320,
      height: undefined,
      fit: 'inside',
      format: 'webp',
    });
    expect([info.width, info.height]).toEqual([320, 240]);
  });

  async function renderRejection(input: Buffer): Promise<ImageRejectedError> {
    try {
      await renderer.render(input, { width: 64, height: undefined, fit: 'inside', format: 'webp' });
    } catch (error) {
      if (error instanceof ImageRejectedError) {
        return error;
      }
      throw error;
    }
    throw new Error('expected the renderer to refuse the input');
  }

  it('refuses a JPEG truncated in its pixel data as corrupt', async () => {
    const error = await renderRejection(await truncatedJpeg());
    expect(error.reason).toBe('corrupt');
    expect(String((error.cause as Error).message)).toMatch(/premature end of JPEG/);
  });

  it('refuses a PNG whose header is fine but whose pixel data is missing as corrupt', async () => {
    const error = await renderRejection(bilevelPngHeaderOnly(64, 64));
    expect(error.reason).toBe('corrupt');
  });

  // Second line of defence, should the inspector be bypassed.
  it('refuses a decompression bomb by libvips’ own pixel limit', async () => {
    const error = await renderRejection(await bilevelPng(20_000, 20_000));
    expect(error.reason).toBe('too-many-pixels');
    expect(String((error.cause as Error).message)).toMatch(/exceeds pixel limit/);
  });

  it.each([
    ['an SVG', () => SVG],
    ['a TIFF', () => solidImage('tiff')],
  ])('cannot read %s at all: its libvips loader is blocked', async (_name, make) => {
    const error = await renderRejection(await make());
    expect(error.reason).toBe('unsupported-format');
  });
});
