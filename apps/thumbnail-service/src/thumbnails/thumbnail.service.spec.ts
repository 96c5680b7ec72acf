import { ObjectNotFoundError, ObjectTooLargeError } from '@secure-api-sample/object-storage';
import sharp from 'sharp';
import {
  InMemoryThumbnailWriter,
  InMemoryUploadReader,
} from '../../test/fixtures/in-memory-storage.js';
import {
  jpegWithOrientationGpsAndIcc,
  solidPng,
  SVG,
  truncatedJpeg,
} from '../../test/fixtures/images.js';
import { bilevelPng } from '../../test/fixtures/png-bytes.js';
import type { CreateThumbnailDto } from './create-thumbnail.dto.js';
import { ImageRejectedError, type ImageRejectionReason } from './image-rejected.error.js';
import { ImageJobLimiter } from './image-job.limiter.js';
import { ImageWorkBusyError } from './image-work-busy.error.js';
import { ImageInspector } from './image.inspector.js';
import { thumbnailKeyFor } from './thumbnail-key.js';
import { MAX_SOURCE_BYTES, ThumbnailService } from './thumbnail.service.js';
import { ThumbnailRenderer } from './thumbnail.renderer.js';

function setUp(limiter = new ImageJobLimiter({ concurrency: 2, queue: 2 })) {
  const uploads = new InMemoryUploadReader();
  const thumbnails = new InMemoryThumbnailWriter();
  const renderer = new ThumbnailRenderer();
  const service = new ThumbnailService(
    uploads,
    thumbnails,
    new ImageInspector(),
    renderer,
    limiter,
  );
  return { uploads, thumbnails, renderer, service };
}

async function rejectionReason(promise: Promise<unknown>): Promise<ImageRejectionReason> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ImageRejectedError) {
      return error.reason;
    }
    throw error;
  }
  throw new Error('expected an ImageRejectedError');
}

describe('ThumbnailService', () => {
  it('reads, renders and writes a thumbnail, with the defaults webp and inside', async () => {
    const { uploads, thumbnails, service } = setUp();
    uploads.objects.set('u/photo.png', { body: await solidPng(400, 200) });

    const created = await service.create({ sourceKey: 'u/photo.png', width: 100 });

    const key = thumbnailKeyFor({
      sourceKey: 'u/photo.png',
      width: 100,
      height: undefined,
      fit: 'inside',
      format: 'webp',
    });
    const written = thumbnails.objects.get(key);
    expect(created).toEqual({
      key,
      width: 100,
      height: 50,
      format: 'webp',
      bytes: written?.body.length,
    });
    expect(written?.contentType).toBe('image/webp');
    expect((await sharp(written?.body).metadata()).format).toBe('webp');
    expect(uploads.reads).toEqual([
      {
        key: 'u/photo.png',
        options: { maxBytes: 25 * 1024 * 1024, signal: expect.any(AbortSignal) },
      },
    ]);
    expect(MAX_SOURCE_BYTES).toBe(26_214_400);
  });

  it('gives the same key for the same request twice, and another for other parameters', async () => {
    const { uploads, thumbnails, service } = setUp();
    uploads.objects.set('a.jpg', { body: await jpegWithOrientationGpsAndIcc() });
    const request: CreateThumbnailDto = {
      sourceKey: 'a.jpg',
      width: 40,
      fit: 'cover',
      format: 'jpeg',
    };

    const first = await service.create(request);
    const second = await service.create({ ...request });
    const other = await service.create({ ...request, format: 'png' });

    expect(second.key).toBe(first.key);
    expect(first.key).toMatch(/^thumbnails\/[0-9a-f]{64}\.jpg$/);
    expect(other.key).not.toBe(first.key);
    expect([thumbnails.writes, thumbnails.objects.size]).toEqual([3, 2]);
    // Orientation 6 applied: the 100 × 50 source is 50 × 100 upright, so 40 wide is 80 high.
    expect([first.width, first.height]).toEqual([40, 80]);
  });

  it('decides by content, not by the stored content type', async () => {
    const { uploads, thumbnails, service } = setUp();
    uploads.objects.set('x.png', { body: SVG, contentType: 'image/png' });
    await expect(rejectionReason(service.create({ sourceKey: 'x.png', width: 64 }))).resolves.toBe(
      'unsupported-format',
    );
    expect(thumbnails.writes).toBe(0);
  });

  it('refuses a decompression bomb by its header: the renderer is never called', async () => {
    const { uploads, thumbnails, renderer, service } = setUp();
    const render = jest.spyOn(renderer, 'render');
    uploads.objects.set('bomb.png', { body: await bilevelPng(20_000, 20_000) });
    await expect(
      rejectionReason(service.create({ sourceKey: 'bomb.png', width: 64 })),
    ).resolves.toBe('too-many-pixels');
    expect(render).not.toHaveBeenCalled();
    expect(thumbnails.writes).toBe(0);
  });

  it('refuses a truncated JPEG as corrupt and writes nothing', async () => {
    const { uploads, thumbnails, service } = setUp();
    uploads.objects.set('t.jpg', { body: await truncatedJpeg() });
    await expect(rejectionReason(service.create({ sourceKey: 't.jpg', width: 64 }))).resolves.toBe(
      'corrupt',
    );
    expect(thumbnails.writes).toBe(0);
  });

  it('turns ObjectTooLargeError into ImageRejectedError too-large, keeping it as cause', async () => {
    expect.assertions(3);
    const { uploads, service } = setUp();
    uploads.objects.set('big.png', { body: Buffer.alloc(MAX_SOURCE_BYTES + 1) });
    try {
      await service.create({ sourceKey: 'big.png', width: 64 });
    } catch (error) {
      expect(error).toBeInstanceOf(ImageRejectedError);
      expect((error as ImageRejectedError).reason).toBe('too-large');
      expect((error as ImageRejectedError).cause).toBeInstanceOf(ObjectTooLargeError);
    }
  });

  it('refuses a body over the limit even from a reader that does not check it', async () => {
    const { uploads, service } = setUp();
    const oversized = Buffer.alloc(MAX_SOURCE_BYTES + 1);
    jest
      .spyOn(uploads, 'read')
      .mockResolvedValue({ body: oversized, contentType: undefined, bytes: oversized.length });
    await expect(rejectionReason(service.create({ sourceKey: 'b.png', width: 64 }))).resolves.toBe(
      'too-large',
    );
  });

  it('lets storage errors through unchanged', async () => {
    const { service } = setUp();
    await expect(service.create({ sourceKey: 'missing.png', width: 64 })).rejects.toBeInstanceOf(
      ObjectNotFoundError,
    );
  });

  it('holds a limiter slot while reading, so a burst is refused before it is in memory', async () => {
    const { uploads, service } = setUp(new ImageJobLimiter({ concurrency: 1, queue: 0 }));
    uploads.objects.set('p.png', { body: await solidPng(32, 32) });
    let open!: () => void; // assigned synchronously by the Promise constructor
    uploads.gate = new Promise<void>((resolve) => {
      open = resolve;
    });

    const first = service.create({ sourceKey: 'p.png', width: 16 });
    await expect(service.create({ sourceKey: 'p.png', width: 16 })).rejects.toBeInstanceOf(
      ImageWorkBusyError,
    );
    expect(uploads.reads).toHaveLength(1);

    open();
    await expect(first).resolves.toMatchObject({ width: 16, height: 16 });
  });
});
