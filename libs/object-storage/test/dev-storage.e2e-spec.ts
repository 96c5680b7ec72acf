import { existsSync } from 'node:fs';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectAclCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import {
  startDevStorage,
  type DevStorage,
  type DevStorageAccount,
  type DevStorageDecision,
} from '@secure-api-sample/object-storage';

type AccountName = 'thumbnailService' | 'uploader' | 'viewer';

describe('development storage (s3rver behind IAM policy enforcement)', () => {
  let storage: DevStorage;
  const clients: S3Client[] = [];
  const decisions: DevStorageDecision[] = [];

  function client(credentials: Pick<DevStorageAccount, 'accessKeyId' | 'secretAccessKey'>) {
    const s3 = new S3Client({
      endpoint: storage.endpoint,
      region: storage.region,
      forcePathStyle: true,
      credentials,
      maxAttempts: 1,
    });
    clients.push(s3);
    return s3;
  }
  const as = (name: AccountName): S3Client => client(storage.accounts[name]);

  async function seed(bucket: string, key: string, body: string): Promise<void> {
    const writer = bucket === 'temp-uploads' ? 'uploader' : 'thumbnailService';
    await as(writer).send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  }

  async function read(name: AccountName, bucket: string, key: string): Promise<string> {
    const response = await as(name).send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return (await response.Body?.transformToString()) ?? '';
  }

  async function expectS3Error(
    promise: Promise<unknown>,
    name: string,
    status: number,
  ): Promise<void> {
    const error: unknown = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(S3ServiceException);
    expect(error).toMatchObject({ name, $metadata: { httpStatusCode: status } });
  }

  beforeAll(async () => {
    storage = await startDevStorage({ onDecision: (d) => decisions.push(d) });
    await seed('temp-uploads', 'seed.png', 'upload bytes');
    await seed('processed-thumbnails', 'seed.png', 'thumbnail bytes');
  });

  afterAll(async () => {
    for (const s3 of clients) s3.destroy();
    await storage.stop();
  });

  describe('allowed by the policies', () => {
    it('lets the uploader put into temp-uploads and the service read it back', async () => {
      await as('uploader').send(
        new PutObjectCommand({
          Bucket: 'temp-uploads',
          Key: 'dir/a b+c.png',
          Body: 'hello',
          ContentType: 'image/png',
        }),
      );
      const response = await as('thumbnailService').send(
        new GetObjectCommand({ Bucket: 'temp-uploads', Key: 'dir/a b+c.png' }),
      );
      expect(response.ContentType).toBe('image/png');
      expect(await response.Body?.transformToString()).toBe('hello');
    });

    it('lets the service HEAD an upload (s3:GetObject)', async () => {
      const head = await as('thumbnailService').send(
        new HeadObjectCommand({ Bucket: 'temp-uploads', Key: 'seed.png' }),
      );
      expect(head.ContentLength).toBe('upload bytes'.length);
    });

    it('lets the service put a thumbnail and the viewer read it', async () => {
      await as('thumbnailService').send(
        new PutObjectCommand({ Bucket: 'processed-thumbnails', Key: 't.png', Body: 'thumb' }),
      );
      expect(await read('viewer', 'processed-thumbnails', 't.png')).toBe('thumb');
    });
  });

  // Each row: who, what, and how to check that the store did not change.
  const denied: {
    account: AccountName;
    operation: string;
    send: (s3: S3Client) => Promise<unknown>;
    unchanged?: () => Promise<void>;
  }[] = [
    {
      account: 'thumbnailService',
      operation: 'ListObjectsV2 temp-uploads (s3:ListBucket)',
      send: (s3) => s3.send(new ListObjectsV2Command({ Bucket: 'temp-uploads' })),
    },
    {
      account: 'thumbnailService',
      operation: 'ListObjectsV2 processed-thumbnails (s3:ListBucket)',
      send: (s3) => s3.send(new ListObjectsV2Command({ Bucket: 'processed-thumbnails' })),
    },
    {
      account: 'thumbnailService',
      operation: 'DeleteObject temp-uploads/seed.png',
      send: (s3) => s3.send(new DeleteObjectCommand({ Bucket: 'temp-uploads', Key: 'seed.png' })),
      unchanged: async () =>
        expect(await read('thumbnailService', 'temp-uploads', 'seed.png')).toBe('upload bytes'),
    },
    {
      account: 'thumbnailService',
      operation: 'DeleteObject processed-thumbnails/seed.png',
      send: (s3) =>
        s3.send(new DeleteObjectCommand({ Bucket: 'processed-thumbnails', Key: 'seed.png' })),
      unchanged: async () =>
        expect(await read('viewer', 'processed-thumbnails', 'seed.png')).toBe('thumbnail bytes'),
    },
    {
      account: 'thumbnailService',
      operation: 'PutObject temp-uploads/seed.png (overwrite an upload)',
      send: (s3) =>
        s3.send(new PutObjectCommand({ Bucket: 'temp-uploads', Key: 'seed.png', Body: 'evil' })),
      unchanged: async () =>
        expect(await read('thumbnailService', 'temp-uploads', 'seed.png')).toBe('upload bytes'),
    },
    {
      account: 'thumbnailService',
      operation: 'GetObject processed-thumbnails/seed.png',
      send: (s3) =>
        s3.send(new GetObjectCommand({ Bucket: 'processed-thumbnails', Key: 'seed.png' })),
    },
    {
      account: 'thumbnailService',
      operation: 'PutObjectAcl processed-thumbnails/seed.png',
      send: (s3) =>
        s3.send(
          new PutObjectAclCommand({
            Bucket: 'processed-thumbnails',
            Key: 'seed.png',
            ACL: 'public-read',
          }),
        ),
    },
    {
      account: 'thumbnailService',
      operation: 'PutObject with ACL public-read (needs s3:PutObjectAcl too)',
      send: (s3) =>
        s3.send(
          new PutObjectCommand({
            Bucket: 'processed-thumbnails',
            Key: 'public.png',
            Body: 'x',
            ACL: 'public-read',
          }),
        ),
      unchanged: () =>
        expectS3Error(
          as('viewer').send(
            new GetObjectCommand({ Bucket: 'processed-thumbnails', Key: 'public.png' }),
          ),
          'NoSuchKey',
          404,
        ),
    },
    {
      account: 'thumbnailService',
      operation: 'ListBuckets (s3:ListAllMyBuckets)',
      send: (s3) => s3.send(new ListBucketsCommand({})),
    },
    {
      account: 'thumbnailService',
      operation: 'CreateBucket',
      send: (s3) => s3.send(new CreateBucketCommand({ Bucket: 'exfiltration' })),
    },
    {
      account: 'uploader',
      operation: 'GetObject temp-uploads/seed.png',
      send: (s3) => s3.send(new GetObjectCommand({ Bucket: 'temp-uploads', Key: 'seed.png' })),
    },
    {
      account: 'uploader',
      operation: 'PutObject processed-thumbnails/seed.png',
      send: (s3) =>
        s3.send(
          new PutObjectCommand({ Bucket: 'processed-thumbnails', Key: 'seed.png', Body: 'evil' }),
        ),
      unchanged: async () =>
        expect(await read('viewer', 'processed-thumbnails', 'seed.png')).toBe('thumbnail bytes'),
    },
    {
      account: 'uploader',
      operation: 'ListObjectsV2 temp-uploads',
      send: (s3) => s3.send(new ListObjectsV2Command({ Bucket: 'temp-uploads' })),
    },
    {
      account: 'uploader',
      operation: 'DeleteObject temp-uploads/seed.png',
      send: (s3) => s3.send(new DeleteObjectCommand({ Bucket: 'temp-uploads', Key: 'seed.png' })),
      unchanged: async () =>
        expect(await read('thumbnailService', 'temp-uploads', 'seed.png')).toBe('upload bytes'),
    },
    {
      account: 'viewer',
      operation: 'GetObject temp-uploads/seed.png',
      send: (s3) => s3.send(new GetObjectCommand({ Bucket: 'temp-uploads', Key: 'seed.png' })),
    },
    {
      account: 'viewer',
      operation: 'PutObject processed-thumbnails/seed.png',
      send: (s3) =>
        s3.send(
          new PutObjectCommand({ Bucket: 'processed-thumbnails', Key: 'seed.png', Body: 'evil' }),
        ),
      unchanged: async () =>
        expect(await read('viewer', 'processed-thumbnails', 'seed.png')).toBe('thumbnail bytes'),
    },
    {
      account: 'viewer',
      operation: 'ListObjectsV2 processed-thumbnails',
      send: (s3) => s3.send(new ListObjectsV2Command({ Bucket: 'processed-thumbnails' })),
    },
  ];

  describe.each(denied)('$account: $operation', ({ account, send, unchanged }) => {
    it('answers AccessDenied (403) before the store sees it', async () => {
      decisions.length = 0;
      await expectS3Error(send(as(account)), 'AccessDenied', 403);
      expect(decisions).toEqual([expect.objectContaining({ account, allowed: false })]);
      await unchanged?.();
    });
  });

  it('denies HEAD of an object outside the policy with a bare 403', async () => {
    const error: unknown = await as('viewer')
      .send(new HeadObjectCommand({ Bucket: 'temp-uploads', Key: 'seed.png' }))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ $metadata: { httpStatusCode: 403 } });
  });

  it('refuses a wrong secret with SignatureDoesNotMatch and does not store the object', async () => {
    const forged = client({
      accessKeyId: storage.accounts.uploader.accessKeyId,
      secretAccessKey: 'not-the-secret',
    });
    await expectS3Error(
      forged.send(new PutObjectCommand({ Bucket: 'temp-uploads', Key: 'forged.png', Body: 'x' })),
      'SignatureDoesNotMatch',
      403,
    );
    await expectS3Error(
      as('thumbnailService').send(
        new GetObjectCommand({ Bucket: 'temp-uploads', Key: 'forged.png' }),
      ),
      'NoSuchKey',
      404,
    );
  });

  it('refuses an unknown access key with InvalidAccessKeyId', async () => {
    const stranger = client({ accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: 'x' });
    await expectS3Error(
      stranger.send(new GetObjectCommand({ Bucket: 'temp-uploads', Key: 'seed.png' })),
      'InvalidAccessKeyId',
      403,
    );
  });

  it("refuses s3rver's built-in S3RVER key: only the bound accounts exist", async () => {
    const builtIn = client({ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' });
    await expectS3Error(
      builtIn.send(new GetObjectCommand({ Bucket: 'temp-uploads', Key: 'seed.png' })),
      'InvalidAccessKeyId',
      403,
    );
  });

  it('refuses an unsigned request with AccessDenied', async () => {
    const response = await fetch(`${storage.endpoint}/temp-uploads/seed.png`);
    expect(response.status).toBe(403);
    expect(await response.text()).toContain('<Code>AccessDenied</Code>');
  });

  it('answers the S3 AccessDenied XML document', async () => {
    const error: unknown = await as('viewer')
      .send(new GetObjectCommand({ Bucket: 'temp-uploads', Key: 'seed.png' }))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      name: 'AccessDenied',
      Code: 'AccessDenied',
      message: 'Access Denied',
    });
  });

  it('denies because of the bound document: a document granting s3:ListBucket lets it through', async () => {
    const granting = await startDevStorage({
      policies: {
        thumbnailService: {
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::temp-uploads' },
          ],
        },
        uploader: { Version: '2012-10-17', Statement: [] },
        viewer: { Version: '2012-10-17', Statement: [] },
      },
    });
    const s3 = new S3Client({
      endpoint: granting.endpoint,
      region: granting.region,
      forcePathStyle: true,
      credentials: granting.accounts.thumbnailService,
    });
    try {
      const listing = await s3.send(new ListObjectsV2Command({ Bucket: 'temp-uploads' }));
      expect(listing.KeyCount).toBe(0);
      await expectS3Error(
        s3.send(new ListObjectsV2Command({ Bucket: 'processed-thumbnails' })),
        'AccessDenied',
        403,
      );
    } finally {
      s3.destroy();
      await granting.stop();
    }
  });

  it('removes its temporary directory on stop', async () => {
    const other = await startDevStorage();
    expect(existsSync(other.directory)).toBe(true);
    await other.stop();
    expect(existsSync(other.directory)).toBe(false);
  });

  it.each([
    [{ port: -1 }, '"port" must be an integer from 0 to 65535, got -1'],
    [{ maxBodyBytes: 0 }, '"maxBodyBytes" must be a positive integer, got 0'],
  ])('refuses %j', async (options, message) => {
    await expect(startDevStorage(options)).rejects.toThrow(message);
  });

  it('issues fresh credentials on every start', async () => {
    const other = await startDevStorage();
    try {
      expect(other.accounts.uploader.accessKeyId).not.toBe(storage.accounts.uploader.accessKeyId);
      expect(other.accounts.uploader.accessKeyId).toMatch(/^AKIA[0-9A-F]{16}$/);
    } finally {
      await other.stop();
    }
  });
});
