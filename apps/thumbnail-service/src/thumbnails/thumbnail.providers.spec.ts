import { Test } from '@nestjs/testing';
import { ThumbnailWriter, UploadReader } from '@secure-api-sample/object-storage';
import {
  InMemoryThumbnailWriter,
  InMemoryUploadReader,
} from '../../test/fixtures/in-memory-storage.js';
import { solidPng } from '../../test/fixtures/images.js';
import { IMAGE_JOB_LIMITER_OPTIONS, ImageJobLimiter } from './image-job.limiter.js';
import { ImageInspector } from './image.inspector.js';
import { ThumbnailService } from './thumbnail.service.js';
import { ThumbnailRenderer } from './thumbnail.renderer.js';

// The wiring the module will use: the ports bound by their abstract classes, the rest as is.
async function compile(extra: { provide: symbol; useValue: unknown }[] = []) {
  const moduleRef = await Test.createTestingModule({
    providers: [
      ThumbnailService,
      ImageInspector,
      ThumbnailRenderer,
      ImageJobLimiter,
      { provide: UploadReader, useClass: InMemoryUploadReader },
      { provide: ThumbnailWriter, useClass: InMemoryThumbnailWriter },
      ...extra,
    ],
  }).compile();
  return moduleRef;
}

describe('thumbnail providers in a Nest module', () => {
  it('resolves ThumbnailService with its ports and makes a thumbnail', async () => {
    const moduleRef = await compile();
    const uploads = moduleRef.get(UploadReader);
    expect(uploads).toBeInstanceOf(InMemoryUploadReader);
    (uploads as InMemoryUploadReader).objects.set('a.png', { body: await solidPng(64, 64) });
    await expect(
      moduleRef.get(ThumbnailService).create({ sourceKey: 'a.png', width: 32 }),
    ).resolves.toMatchObject({ width: 32, height: 32, format: 'webp' });
    expect(moduleRef.get(ImageJobLimiter).options.queue).toBe(
      moduleRef.get(ImageJobLimiter).options.concurrency * 2,
    );
  });

  it('takes ImageJobLimiter options from IMAGE_JOB_LIMITER_OPTIONS', async () => {
    const moduleRef = await compile([
      { provide: IMAGE_JOB_LIMITER_OPTIONS, useValue: { concurrency: 3, queue: 1 } },
    ]);
    expect(moduleRef.get(ImageJobLimiter).options).toMatchObject({ concurrency: 3, queue: 1 });
  });
});
