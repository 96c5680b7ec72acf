import {
  DeleteObjectCommand,
  ListObjectsV2Command,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import {
  ADAPTERS,
  createTestPki,
  type HttpResponse,
  type TestCertificate,
} from '@secure-api/testing';
import sharp from 'sharp';
import { thumbnailKeyFor } from '../../src/thumbnails/thumbnail-key.js';
import {
  DEFAULT_THUMBNAIL_FIT,
  DEFAULT_THUMBNAIL_FORMAT,
  type ThumbnailFormat,
} from '../../src/thumbnails/thumbnail-parameters.js';
import {
  appended,
  HTML,
  jpegWithOrientationGpsAndIcc,
  PDF,
  pngWithText,
  solidPng,
  SVG,
  truncatedJpeg,
} from '../fixtures/images.js';
import { bilevelPng } from '../fixtures/png-bytes.js';
import {
  bootThumbnailService,
  callService,
  type CallOptions,
  downloadThumbnail,
  FAST_STORAGE,
  PROCESSED_BUCKET,
  processedBucketFiles,
  startThumbnailWorld,
  type ThumbnailService,
  type ThumbnailWorld,
  UPLOAD_BUCKET,
  UPLOADER_ID,
  uploadSource,
} from './fixtures/thumbnail-stack.fixture.js';

// The service end to end: real HTTPS with client certificates, tokens from the dev issuer
// (oidc-provider), storage through the dev S3 server that enforces deploy/iam/. Sources are
// uploaded as the uploader account, thumbnails read back as the viewer account: each party
// holds only its own permissions, as in production.
//
// Every app counts requests in its "ip" rate-limit tier (120 a minute): the main app of each
// adapter stays well below it, and the rate-limit test has an app of its own.

const MiB = 1024 * 1024;

interface CreateBody {
  sourceKey: string;
  width: number;
  height?: number;
  fit?: 'cover' | 'contain' | 'inside';
  format?: ThumbnailFormat;
}

interface Created {
  key: string;
  width: number;
  height: number;
  format: ThumbnailFormat;
  bytes: number;
}

interface Problem {
  status: number;
  code: string;
  detail: string;
  requestId?: string;
  errors?: Array<{ in: string; pointer: string; detail: string }>;
}

/** The key the service writes a request's thumbnail under (defaults applied). */
const keyOf = (body: CreateBody): string =>
  thumbnailKeyFor({
    sourceKey: body.sourceKey,
    width: body.width,
    height: body.height,
    fit: body.fit ?? DEFAULT_THUMBNAIL_FIT,
    format: body.format ?? DEFAULT_THUMBNAIL_FORMAT,
  });

/** The problem body without `requestId` (a random UUID, which could contain any digits). */
const withoutRequestId = (response: HttpResponse): string => {
  const { requestId: _requestId, ...rest } = response.json<Problem>();
  return JSON.stringify(rest);
};

describe.each(ADAPTERS)('thumbnail service over mutual TLS (%s)', (adapter) => {
  let world: ThumbnailWorld;
  let service: ThumbnailService;

  const call = (path: string, options?: CallOptions): Promise<HttpResponse> =>
    callService(world, service, path, options);
  /** `POST /v1/thumbnails` with the writer's token, another one, or none (`null`). */
  const create = (body: unknown, token: string | null = world.writeToken) =>
    call('/v1/thumbnails', { method: 'POST', body, ...(token === null ? {} : { token }) });

  /** Status, problem+json, `code`, and nothing secret or internal in the body. */
  const expectProblem = (response: HttpResponse, status: number, code: string): Problem => {
    expect({ status: response.status, code: response.json<Problem>().code }).toEqual({
      status,
      code,
    });
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.text).not.toContain(world.writeToken);
    expect(response.text).not.toMatch(/\bat .+:\d+:\d+/); // no stack frame
    expect(response.text).not.toContain(world.storage.endpoint);
    expect(response.text).not.toContain(world.storage.accounts.thumbnailService.accessKeyId);
    expect(response.text).not.toMatch(/temp-uploads|processed-thumbnails|AccessDenied/);
    return response.json<Problem>();
  };

  beforeAll(async () => {
    world = await startThumbnailWorld();
    service = await bootThumbnailService(world, adapter);
  });

  afterEach(() => {
    world?.storage.setAvailability('up');
  });

  afterAll(async () => {
    await service?.close();
    await world?.close();
  });

  describe('POST /v1/thumbnails, accepted', () => {
    it.each<ThumbnailFormat>(['webp', 'jpeg', 'png', 'avif'])(
      'makes a %s thumbnail from a PNG, stored for the viewer without metadata',
      async (format) => {
        const body: CreateBody = { sourceKey: `happy/${format}/photo.png`, width: 100, format };
        await uploadSource(world, body.sourceKey, await solidPng(400, 200));

        const response = await create(body);

        expect(response.status).toBe(201);
        const created = response.json<Created>();
        expect(created).toEqual({
          key: keyOf(body),
          width: 100,
          height: 50,
          format,
          bytes: expect.any(Number),
        });
        const stored = await downloadThumbnail(world, created.key);
        expect(stored?.contentType).toBe(`image/${format}`);
        expect(stored?.body.length).toBe(created.bytes);
        const metadata = await sharp(stored?.body).metadata();
        expect({
          format: metadata.format === 'heif' ? metadata.compression : metadata.format,
          width: metadata.width,
          height: metadata.height,
        }).toEqual({ format: format === 'avif' ? 'av1' : format, width: 100, height: 50 });
        expect(metadata.exif).toBeUndefined();
        expect(metadata.icc).toBeUndefined();
        expect(metadata.xmp).toBeUndefined();
      },
    );

    it('applies EXIF orientation 6 and strips EXIF, GPS, XMP and the ICC profile', async () => {
      // Stored 100 × 50 with orientation 6: upright it is 50 × 100, so 40 wide is 80 high.
      const body: CreateBody = { sourceKey: 'happy/sideways.jpg', width: 40, format: 'jpeg' };
      await uploadSource(world, body.sourceKey, await jpegWithOrientationGpsAndIcc(), 'image/jpeg');

      const response = await create(body);

      expect(response.status).toBe(201);
      expect(response.json()).toMatchObject({ width: 40, height: 80, format: 'jpeg' });
      const stored = await downloadThumbnail(world, response.json<Created>().key);
      const metadata = await sharp(stored?.body).metadata();
      expect([metadata.format, metadata.width, metadata.height]).toEqual(['jpeg', 40, 80]);
      expect(metadata.orientation).toBeUndefined();
      expect(metadata.exif).toBeUndefined();
      expect(metadata.icc).toBeUndefined();
      expect(metadata.xmp).toBeUndefined();
      expect(stored?.body.toString('latin1')).not.toMatch(/secret owner|secret creator/);
    });

    it('gives the same key for the same request twice', async () => {
      const body: CreateBody = { sourceKey: 'happy/twice.png', width: 64, fit: 'cover' };
      await uploadSource(world, body.sourceKey, await solidPng(128, 96));

      const first = await create(body);
      const second = await create({ ...body });

      expect([first.status, second.status]).toEqual([201, 201]);
      expect(second.json<Created>().key).toBe(first.json<Created>().key);
      expect(first.json<Created>().key).toMatch(/^thumbnails\/[0-9a-f]{64}\.webp$/);
      expect(await downloadThumbnail(world, first.json<Created>().key)).toBeDefined();
    });
  });

  describe('who may call', () => {
    it('refuses a request without a token: 401, Bearer challenge, ERR_SECURE_API_TOKEN_MISSING', async () => {
      const response = await create({ sourceKey: 'auth/none.png', width: 64 }, null);

      expectProblem(response, 401, 'ERR_SECURE_API_TOKEN_MISSING');
      expect(response.headers['www-authenticate']).toBe('Bearer realm="secure-api"');
    });

    it('refuses a token without thumbnails.write: 403 insufficient_scope', async () => {
      const response = await create({ sourceKey: 'auth/reader.png', width: 64 }, world.readToken);

      expectProblem(response, 403, 'ERR_SECURE_API_INSUFFICIENT_SCOPE');
      expect(response.headers['www-authenticate']).toBe(
        'Bearer realm="secure-api", error="insufficient_scope", scope="thumbnails.write"',
      );
      expect(response.text).not.toContain(world.readToken);
    });

    // TLS 1.3: the server's verdict on the client certificate comes after the client's Finished,
    // so the client sees it on its first read: the alert itself, or the connection closed.
    it.each<[string, () => Promise<TestCertificate | null>, RegExp]>([
      [
        'without a client certificate',
        () => Promise.resolve(null),
        /^ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED$/,
      ],
      [
        'with a look-alike certificate from another CA',
        async () => (await createTestPki()).client(UPLOADER_ID),
        /^(ERR_SSL_TLSV1_ALERT_UNKNOWN_CA|ERR_SSL_TLSV13_ALERT_UNKNOWN_CA|ECONNRESET)$/,
      ],
    ])('refuses the TLS handshake %s: no HTTP answer at all', async (_case, certificate, code) => {
      const cert = await certificate();

      const outcome: unknown = await call('/health/live', { cert }).then(
        (response) => ({ status: response.status }),
        (error: unknown) => error,
      );

      expect(outcome).toMatchObject({ code: expect.stringMatching(code) });
      expect(outcome).not.toHaveProperty('status');
      // Refused, not crashed: the same server answers the uploader's certificate.
      expect((await call('/health/live')).status).toBe(200);
    });
  });

  describe('refused bodies: 400 ERR_SECURE_API_VALIDATION_FAILED, the value not echoed', () => {
    it.each<[string, Record<string, unknown>, string[], string | undefined]>([
      ['width 15 (below 16)', { sourceKey: 'ok.png', width: 15 }, ['/width'], '15'],
      ['width 2049 (above 2048)', { sourceKey: 'ok.png', width: 2049 }, ['/width'], '2049'],
      ['width "100" (a string)', { sourceKey: 'ok.png', width: '100' }, ['/width'], '"100"'],
      [
        'an unknown member',
        { sourceKey: 'ok.png', width: 64, owner: 'evil-owner-value' },
        ['/owner'],
        'evil-owner-value',
      ],
      ['no sourceKey', { width: 64 }, ['/sourceKey'], undefined],
      [
        'an unknown fit',
        { sourceKey: 'ok.png', width: 64, fit: 'stretch-evil' },
        ['/fit'],
        'stretch-evil',
      ],
      [
        'sourceKey ../etc/passwd',
        { sourceKey: '../etc/passwd', width: 64 },
        ['/sourceKey'],
        'etc/passwd',
      ],
      ['sourceKey a/../b', { sourceKey: 'a/../b', width: 64 }, ['/sourceKey'], 'a/../b'],
      ['sourceKey /abs', { sourceKey: '/abs', width: 64 }, ['/sourceKey'], '/abs'],
      ['sourceKey a\\b', { sourceKey: 'a\\b', width: 64 }, ['/sourceKey'], 'a\\\\b'],
    ])('refuses %s', async (_case, body, pointers, echo) => {
      const response = await create(body);

      const problem = expectProblem(response, 400, 'ERR_SECURE_API_VALIDATION_FAILED');
      expect([...new Set(problem.errors?.map((error) => error.pointer))].sort()).toEqual(pointers);
      expect(problem.errors?.every((error) => error.in === 'body')).toBe(true);
      if (echo !== undefined) expect(withoutRequestId(response)).not.toContain(echo);
    });
  });

  describe('refused sources', () => {
    /** Uploads `source`, asks for a thumbnail, and checks that nothing was written. */
    async function refused(
      name: string,
      source: Buffer,
      contentType: string,
    ): Promise<HttpResponse> {
      const body: CreateBody = { sourceKey: `refused/${name}`, width: 64 };
      await uploadSource(world, body.sourceKey, source, contentType);
      const before = await processedBucketFiles(world);
      const response = await create(body);
      expect(await processedBucketFiles(world)).toEqual(before);
      expect(await downloadThumbnail(world, keyOf(body))).toBeUndefined();
      expect(withoutRequestId(response)).not.toContain(name);
      return response;
    }

    it.each<[string, string, string, () => Promise<Buffer>]>([
      ['an SVG with a script', 'drawing.svg', 'image/svg+xml', () => Promise.resolve(SVG)],
      ['an SVG named photo.jpg', 'svg-photo.jpg', 'image/jpeg', () => Promise.resolve(SVG)],
      [
        'photo.jpg: PNG bytes followed by HTML',
        'appended/photo.jpg',
        'image/jpeg',
        async () => appended(await solidPng(32, 32), HTML),
      ],
      [
        'photo.jpg: a PNG holding a <script> in a tEXt chunk',
        'text-chunk/photo.jpg',
        'image/jpeg',
        async () => pngWithText(await solidPng(32, 32), '<script>alert(1)</script>'),
      ],
      ['a PDF', 'document.pdf', 'application/pdf', () => Promise.resolve(PDF)],
    ])('answers 415 ERR_THUMBNAIL_UNSUPPORTED_FORMAT to %s', async (_case, name, type, source) => {
      const response = await refused(name, await source(), type);

      expectProblem(response, 415, 'ERR_THUMBNAIL_UNSUPPORTED_FORMAT');
    });

    it('answers 422 ERR_THUMBNAIL_CORRUPT_IMAGE to a truncated JPEG', async () => {
      const response = await refused('truncated.jpg', await truncatedJpeg(), 'image/jpeg');

      expectProblem(response, 422, 'ERR_THUMBNAIL_CORRUPT_IMAGE');
    });

    it('answers 422 ERR_THUMBNAIL_TOO_MANY_PIXELS to a 20,000 × 20,000 PNG bomb, without decoding it', async () => {
      // Issue 7 asks for the answer "within 1 s": the project has no timed assertions (they fail
      // on a loaded machine and pass on a fast one whatever the code does). What makes it fast is
      // that the header is refused before any pixel is decoded; decoding 400 MP would need
      // hundreds of MB, so the RSS bound below is what catches a decode, on any machine.
      const bomb = await bilevelPng(20_000, 20_000);
      const before = process.memoryUsage().rss;

      const response = await refused('bomb.png', bomb, 'image/png');

      const grown = process.memoryUsage().rss - before;
      expectProblem(response, 422, 'ERR_THUMBNAIL_TOO_MANY_PIXELS');
      expect(grown).toBeLessThan(100 * MiB);
    });

    it('answers 413 ERR_THUMBNAIL_SOURCE_TOO_LARGE to a 30 MB upload', async () => {
      // No image header is needed: the size is refused before the bytes are looked at.
      const response = await refused('huge.bin', Buffer.alloc(30 * MiB, 0x5a), 'image/jpeg');

      expectProblem(response, 413, 'ERR_THUMBNAIL_SOURCE_TOO_LARGE');
    });

    it('answers 404 ERR_THUMBNAIL_SOURCE_NOT_FOUND to a key nobody uploaded', async () => {
      const body: CreateBody = { sourceKey: 'missing/never-uploaded.png', width: 64 };

      const response = await create(body);

      expectProblem(response, 404, 'ERR_THUMBNAIL_SOURCE_NOT_FOUND');
      expect(withoutRequestId(response)).not.toContain('never-uploaded');
      expect(await downloadThumbnail(world, keyOf(body))).toBeUndefined();
    });
  });

  describe('storage outages', () => {
    it.each<['down' | 'reset' | 'stall', string]>([
      ['down', 'answers 503 ServiceUnavailable'],
      ['reset', 'drops the connection'],
      ['stall', 'accepts and never answers'],
    ])(
      'answers 503 ERR_STORAGE_UNAVAILABLE with Retry-After when storage is %s (%s), writing nothing',
      async (availability) => {
        const body: CreateBody = { sourceKey: `outage/${availability}.png`, width: 64 };
        await uploadSource(world, body.sourceKey, await solidPng(128, 128));
        const before = await processedBucketFiles(world);
        world.storage.setAvailability(availability);

        const response = await create(body);

        world.storage.setAvailability('up');
        expectProblem(response, 503, 'ERR_STORAGE_UNAVAILABLE');
        // From the service's configuration (FAST_STORAGE), not the storage's own Retry-After: 1.
        expect(response.headers['retry-after']).toBe(String(FAST_STORAGE.retryAfterSeconds));
        expect(await processedBucketFiles(world)).toEqual(before);
        expect(await downloadThumbnail(world, keyOf(body))).toBeUndefined();
        // The same request once storage is back: the source was there all along.
        expect((await create(body)).status).toBe(201);
      },
    );
  });

  describe('image job limits', () => {
    /** A read held at the gate until the test opens it. */
    interface HeldRead {
      readonly key: string;
      open(): void;
    }
    const held: Array<(read: HeldRead) => void> = [];
    /** The next read the service starts, held until `open()`. */
    const nextRead = (): Promise<HeldRead> => new Promise((resolve) => held.push(resolve));
    const beforeRead = (key: string): Promise<void> | void => {
      const notify = held.shift();
      if (notify === undefined) return;
      return new Promise<void>((open) => notify({ key, open }));
    };
    const post = (app: ThumbnailService, body: CreateBody): Promise<HttpResponse> =>
      callService(world, app, '/v1/thumbnails', { method: 'POST', token: world.writeToken, body });

    let narrow: ThumbnailService;
    let hasty: ThumbnailService;

    beforeAll(async () => {
      // One slot, no queue: a second job while the first is in its slot is refused at once.
      narrow = await bootThumbnailService(world, adapter, {
        imageJobs: { concurrency: 1, queue: 0, retryAfterSeconds: 3 },
        beforeRead,
      });
      hasty = await bootThumbnailService(world, adapter, {
        imageJobs: { concurrency: 1, queue: 0, timeoutMs: 50, retryAfterSeconds: 4 },
        beforeRead,
      });
    });

    afterAll(async () => {
      await narrow?.close();
      await hasty?.close();
    });

    it('answers 503 ERR_THUMBNAIL_BUSY with Retry-After while the only slot is taken', async () => {
      const body: CreateBody = { sourceKey: 'limits/busy.png', width: 64 };
      await uploadSource(world, body.sourceKey, await solidPng(64, 64));
      const reading = nextRead();
      const holder = post(narrow, body);
      const read = await reading;
      expect(read.key).toBe(body.sourceKey);

      const refused = await post(narrow, body);

      read.open();
      expectProblem(refused, 503, 'ERR_THUMBNAIL_BUSY');
      expect(refused.headers['retry-after']).toBe('3');
      // The slot holder was only waiting: it finishes once let through.
      expect((await holder).status).toBe(201);
    });

    it('answers 503 ERR_THUMBNAIL_TIMEOUT with Retry-After when a job outlives its budget', async () => {
      // The read is held until the answer is in: the 50 ms budget is spent whatever the speed
      // of the machine.
      const body: CreateBody = { sourceKey: 'limits/slow.png', width: 64 };
      await uploadSource(world, body.sourceKey, await solidPng(64, 64));
      const before = await processedBucketFiles(world);
      const reading = nextRead();

      const response = await post(hasty, body);

      (await reading).open();
      expectProblem(response, 503, 'ERR_THUMBNAIL_TIMEOUT');
      expect(response.headers['retry-after']).toBe('4');
      expect(await processedBucketFiles(world)).toEqual(before);
      expect(await downloadThumbnail(world, keyOf(body))).toBeUndefined();
    });
  });

  describe('health', () => {
    it('is live without a token', async () => {
      const response = await call('/health/live');

      expect(response.status).toBe(200);
      expect(response.json()).toEqual({ status: 'ok' });
    });

    it('is ready with issuer keys, storage and the rate-limit store up', async () => {
      const response = await call('/health/ready');

      expect(response.status).toBe(200);
      expect(response.json()).toEqual({
        status: 'ok',
        checks: { issuerKeys: 'up', storage: 'up', rateLimitStore: 'up' },
      });
    });

    it.each<'down' | 'stall'>(['down', 'stall'])(
      'is not ready while storage is %s: 503 ERR_THUMBNAIL_NOT_READY with Retry-After',
      async (availability) => {
        world.storage.setAvailability(availability);

        const response = await call('/health/ready');

        world.storage.setAvailability('up');
        const problem = expectProblem(response, 503, 'ERR_THUMBNAIL_NOT_READY');
        expect(response.headers['retry-after']).toBe('5');
        expect(problem.detail).toBe('Not ready: storage unavailable.');
        expect((await call('/health/ready')).status).toBe(200);
      },
    );
  });

  describe('least privilege at the storage', () => {
    const asService = (): S3Client =>
      new S3Client({
        endpoint: world.storage.endpoint,
        region: world.storage.region,
        forcePathStyle: true,
        credentials: world.storage.accounts.thumbnailService,
        maxAttempts: 1,
      });

    it.each<[string, (s3: S3Client) => Promise<unknown>]>([
      [
        'ListObjectsV2 temp-uploads (s3:ListBucket)',
        (s3) => s3.send(new ListObjectsV2Command({ Bucket: UPLOAD_BUCKET })),
      ],
      [
        'ListObjectsV2 processed-thumbnails (s3:ListBucket)',
        (s3) => s3.send(new ListObjectsV2Command({ Bucket: PROCESSED_BUCKET })),
      ],
      [
        'DeleteObject temp-uploads (s3:DeleteObject)',
        (s3) => s3.send(new DeleteObjectCommand({ Bucket: UPLOAD_BUCKET, Key: 'happy/twice.png' })),
      ],
    ])('denies the service’s own keys %s', async (_case, send) => {
      const s3 = asService();
      try {
        const error: unknown = await send(s3).then(
          () => undefined,
          (rejection: unknown) => rejection,
        );
        expect(error).toBeInstanceOf(S3ServiceException);
        expect(error).toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
      } finally {
        s3.destroy();
      }
    });

    describe('with the reader misconfigured to read processed-thumbnails', () => {
      let misconfigured: ThumbnailService;

      beforeAll(async () => {
        misconfigured = await bootThumbnailService(world, adapter, {
          storage: { ...FAST_STORAGE, uploadBucket: PROCESSED_BUCKET },
        });
      });

      afterAll(async () => {
        await misconfigured?.close();
      });

      it('answers 500 ERR_THUMBNAIL_INTERNAL_ERROR and logs the access denial', async () => {
        const response = await callService(world, misconfigured, '/v1/thumbnails', {
          method: 'POST',
          token: world.writeToken,
          body: { sourceKey: 'happy/twice.png', width: 64 },
        });

        const problem = expectProblem(response, 500, 'ERR_THUMBNAIL_INTERNAL_ERROR');
        expect(problem.detail).toBe('The thumbnail could not be made.');
        const [logged, ...more] = misconfigured.logs.find('thumbnail failed');
        expect(more).toEqual([]);
        expect(logged).toMatchObject({
          level: 'error',
          message: 'thumbnail failed: THUMBNAIL_INTERNAL_ERROR',
          fields: { err: { code: 'ERR_STORAGE_ACCESS_DENIED' } },
        });
        expect(misconfigured.logs.text()).toContain('AccessDenied');
        expect(misconfigured.logs.text()).not.toContain(
          world.storage.accounts.thumbnailService.secretAccessKey,
        );
        expect(misconfigured.logs.text()).not.toContain(world.writeToken);
      });

      it('is not ready: the storage probe is denied', async () => {
        const response = await callService(world, misconfigured, '/health/ready');

        expectProblem(response, 503, 'ERR_THUMBNAIL_NOT_READY');
      });
    });
  });
});

describe.each(ADAPTERS)('thumbnail service rate limits (%s)', (adapter) => {
  let world: ThumbnailWorld;
  let service: ThumbnailService;

  beforeAll(async () => {
    world = await startThumbnailWorld();
    service = await bootThumbnailService(world, adapter);
  });

  afterAll(async () => {
    await service?.close();
    await world?.close();
  });

  it('answers the 61st request of a caller within a minute 429 with Retry-After', async () => {
    // The "principal" tier allows 60 a minute (RATE_LIMIT_TIERS). A body the validation pipe
    // refuses is the cheapest request that still passes the guards, where the tiers count.
    const statuses: number[] = [];
    for (let i = 0; i < 60; i += 1) {
      const response = await callService(world, service, '/v1/thumbnails', {
        method: 'POST',
        token: world.writeToken,
        body: { sourceKey: 'rate/limit.png', width: 1 },
      });
      statuses.push(response.status);
    }

    const limited = await callService(world, service, '/v1/thumbnails', {
      method: 'POST',
      token: world.writeToken,
      body: { sourceKey: 'rate/limit.png', width: 1 },
    });

    expect(new Set(statuses)).toEqual(new Set([400]));
    expect(limited.status).toBe(429);
    expect(limited.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(limited.json()).toMatchObject({ status: 429, code: 'ERR_SECURE_API_RATE_LIMITED' });
    const retryAfter = Number(limited.headers['retry-after']);
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true);
    expect(limited.text).not.toContain(world.writeToken);
  });
});
