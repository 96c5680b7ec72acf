import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  ObjectNotFoundError,
  ObjectTooLargeError,
  S3ThumbnailWriter,
  S3UploadReader,
  StorageAccessDeniedError,
  StorageUnavailableError,
  createS3Storage,
  startDevStorage,
  type DevStorage,
  type S3ConnectionOptions,
  type S3Storage,
} from '@secure-api-sample/object-storage';

const MiB = 1024 * 1024;

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe('S3 adapters against the development storage', () => {
  let dev: DevStorage;
  let uploader: S3Client;
  let viewer: S3Client;
  let storage: S3Storage;
  const closers: (() => void)[] = [];

  // Small timeouts so that the outage tests take well under a second each.
  const connection = (): S3ConnectionOptions => ({
    endpoint: dev.endpoint,
    region: dev.region,
    credentials: dev.accounts.thumbnailService,
    connectionTimeoutMs: 500,
    requestTimeoutMs: 300,
    operationTimeoutMs: 2_000,
    retryAfterSeconds: 7,
  });

  function sdkClient(account: 'uploader' | 'viewer'): S3Client {
    return new S3Client({
      endpoint: dev.endpoint,
      region: dev.region,
      forcePathStyle: true,
      credentials: dev.accounts[account],
    });
  }

  async function upload(key: string, body: Buffer | string, contentType = 'image/png') {
    await uploader.send(
      new PutObjectCommand({
        Bucket: 'temp-uploads',
        Key: key,
        Body: body,
        ContentType: contentType,
      }),
    );
  }

  async function thumbnailExists(key: string): Promise<boolean> {
    try {
      await viewer.send(new GetObjectCommand({ Bucket: 'processed-thumbnails', Key: key }));
      return true;
    } catch (error) {
      if ((error as { name?: unknown }).name === 'NoSuchKey') return false;
      throw error;
    }
  }

  beforeAll(async () => {
    dev = await startDevStorage();
    uploader = sdkClient('uploader');
    viewer = sdkClient('viewer');
    storage = createS3Storage(connection());
  });

  afterEach(() => dev.setAvailability('up'));

  afterAll(async () => {
    storage.close();
    for (const close of closers) close();
    uploader.destroy();
    viewer.destroy();
    await dev.stop();
  });

  describe('S3UploadReader', () => {
    it('reads an uploaded object with its content type and size', async () => {
      await upload('photo.png', Buffer.from('png bytes'));
      await expect(storage.reader.read('photo.png', { maxBytes: 1024 })).resolves.toEqual({
        body: Buffer.from('png bytes'),
        contentType: 'image/png',
        bytes: 9,
      });
    });

    it('reads an object of exactly maxBytes', async () => {
      await upload('exact.png', Buffer.alloc(1024, 1));
      const object = await storage.reader.read('exact.png', { maxBytes: 1024 });
      expect(object.bytes).toBe(1024);
    });

    it('reports a missing key as ObjectNotFoundError', async () => {
      const error = await rejection(storage.reader.read('missing.png', { maxBytes: 1024 }));
      expect(error).toBeInstanceOf(ObjectNotFoundError);
      expect(error).toMatchObject({
        code: 'ERR_STORAGE_OBJECT_NOT_FOUND',
        bucket: 'temp-uploads',
        key: 'missing.png',
        message: 'object "missing.png" not found in bucket "temp-uploads"',
      });
    });

    it('refuses an object one byte over maxBytes with ObjectTooLargeError', async () => {
      await upload('big.png', Buffer.alloc(1025, 1));
      const error = await rejection(storage.reader.read('big.png', { maxBytes: 1024 }));
      expect(error).toBeInstanceOf(ObjectTooLargeError);
      expect(error).toMatchObject({ code: 'ERR_STORAGE_OBJECT_TOO_LARGE', maxBytes: 1024 });
    });

    it('refuses a 30 MB object against a 25 MB limit', async () => {
      await upload('huge.png', Buffer.alloc(30 * MiB, 7));
      const error = await rejection(storage.reader.read('huge.png', { maxBytes: 25 * MiB }));
      expect(error).toMatchObject({ code: 'ERR_STORAGE_OBJECT_TOO_LARGE', maxBytes: 25 * MiB });
    });

    it('reports AccessDenied when pointed at the processed bucket (the policy denies it)', async () => {
      const reader = new S3UploadReader({ ...connection(), bucket: 'processed-thumbnails' });
      closers.push(() => reader.close());
      const error = await rejection(reader.read('anything.png', { maxBytes: 1024 }));
      expect(error).toBeInstanceOf(StorageAccessDeniedError);
      expect(error).toMatchObject({
        code: 'ERR_STORAGE_ACCESS_DENIED',
        upstreamCode: 'AccessDenied',
        message: 'storage denied GetObject processed-thumbnails/anything.png: AccessDenied',
      });
    });

    it('rethrows the caller abort reason', async () => {
      await upload('abort.png', Buffer.from('x'));
      const reason = new Error('client went away');
      const error = await rejection(
        storage.reader.read('abort.png', { maxBytes: 1024, signal: AbortSignal.abort(reason) }),
      );
      expect(error).toBe(reason);
    });
  });

  describe('S3ThumbnailWriter', () => {
    it('puts a thumbnail the viewer can read', async () => {
      await storage.writer.write('thumb.webp', Buffer.from('webp'), { contentType: 'image/webp' });
      const object = await viewer.send(
        new GetObjectCommand({ Bucket: 'processed-thumbnails', Key: 'thumb.webp' }),
      );
      expect(object.ContentType).toBe('image/webp');
      expect(await object.Body?.transformToString()).toBe('webp');
    });

    it('reports AccessDenied when pointed at the upload bucket, and stores nothing', async () => {
      const writer = new S3ThumbnailWriter({ ...connection(), bucket: 'temp-uploads' });
      closers.push(() => writer.close());
      await upload('victim.png', Buffer.from('original'));
      const error = await rejection(
        writer.write('victim.png', Buffer.from('overwrite'), { contentType: 'image/png' }),
      );
      expect(error).toBeInstanceOf(StorageAccessDeniedError);
      expect(error).toMatchObject({
        code: 'ERR_STORAGE_ACCESS_DENIED',
        upstreamCode: 'AccessDenied',
      });
      const { message } = error as Error;
      expect(message).not.toContain(dev.accounts.thumbnailService.accessKeyId);
      expect(message).not.toContain(dev.accounts.thumbnailService.secretAccessKey);
      await expect(storage.reader.read('victim.png', { maxBytes: 100 })).resolves.toMatchObject({
        body: Buffer.from('original'),
      });
    });
  });

  describe('outages', () => {
    const operations = [
      {
        name: 'read',
        run: () => storage.reader.read('photo.png', { maxBytes: 1024 }),
      },
      {
        name: 'write',
        run: () =>
          storage.writer.write('outage.png', Buffer.from('x'), { contentType: 'image/png' }),
      },
    ];

    describe.each(operations)('$name', ({ name, run }) => {
      it.each([
        ['down', 'ServiceUnavailable'],
        ['reset', expect.any(String)],
      ] as const)('reports storage %s as StorageUnavailableError', async (availability, reason) => {
        dev.setAvailability(availability);
        const error = await rejection(run());
        expect(error).toBeInstanceOf(StorageUnavailableError);
        expect(error).toMatchObject({
          code: 'ERR_STORAGE_UNAVAILABLE',
          retryAfterSeconds: 7,
          reason,
        });
        dev.setAvailability('up');
        if (name === 'write') expect(await thumbnailExists('outage.png')).toBe(false);
      });

      it('reports a stalled storage as StorageUnavailableError within the timeouts', async () => {
        dev.setAvailability('stall');
        const started = performance.now();
        const error = await rejection(run());
        const elapsed = performance.now() - started;
        expect(error).toBeInstanceOf(StorageUnavailableError);
        expect(error).toMatchObject({ code: 'ERR_STORAGE_UNAVAILABLE', reason: 'ETIMEDOUT' });
        // Two attempts of a 300 ms socket timeout, well inside the 2 s operation timeout.
        expect(elapsed).toBeGreaterThanOrEqual(550);
        expect(elapsed).toBeLessThan(2_000);
        dev.setAvailability('up');
        if (name === 'write') expect(await thumbnailExists('outage.png')).toBe(false);
      });
    });

    it('bounds a stalled call by operationTimeoutMs', async () => {
      const reader = new S3UploadReader({
        ...connection(),
        requestTimeoutMs: 5_000,
        operationTimeoutMs: 400,
      });
      closers.push(() => reader.close());
      dev.setAvailability('stall');
      const started = performance.now();
      const error = await rejection(reader.read('photo.png', { maxBytes: 1024 }));
      expect(performance.now() - started).toBeLessThan(1_500);
      expect(error).toMatchObject({ code: 'ERR_STORAGE_UNAVAILABLE', reason: 'OperationTimeout' });
    });

    it('reports a refused connection as StorageUnavailableError', async () => {
      const gone = await startDevStorage();
      await gone.stop();
      const reader = new S3UploadReader({ ...connection(), endpoint: gone.endpoint });
      closers.push(() => reader.close());
      const error = await rejection(reader.read('photo.png', { maxBytes: 1024 }));
      expect(error).toBeInstanceOf(StorageUnavailableError);
      expect(error).toMatchObject({ reason: 'ECONNREFUSED' });
    });
  });
});

describe('S3UploadReader against an endpoint that streams without Content-Length', () => {
  // An S3-compatible endpoint can stream a body chunked; the limit must hold while streaming.
  let server: http.Server;
  let endpoint: string;
  let sent = 0;
  let closed: Promise<void>;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      req.resume();
      sent = 0;
      closed = new Promise((resolve) => res.on('close', resolve));
      res.writeHead(200, { 'content-type': 'image/png', 'transfer-encoding': 'chunked' });
      const chunk = Buffer.alloc(64 * 1024, 1);
      const pump = (): void => {
        while (sent < 30 * MiB && !res.destroyed) {
          sent += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('stops reading a 30 MB stream soon after maxBytes', async () => {
    const reader = new S3UploadReader({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret' },
    });
    try {
      const error = await rejection(reader.read('stream.png', { maxBytes: 1 * MiB }));
      expect(error).toBeInstanceOf(ObjectTooLargeError);
      await closed;
      // Socket buffers hold a few MB at most; the sender never got near 30 MB.
      expect(sent).toBeLessThan(10 * MiB);
    } finally {
      reader.close();
    }
  });
});
