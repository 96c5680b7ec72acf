import type { IamRequest } from '../iam-policy.evaluator.js';

/** The parts of a path-style S3 request that decide which IAM actions it needs. */
export interface S3RequestParts {
  /** HTTP method, upper case. */
  method: string;
  /** Bucket from the path, if any. */
  bucket: string | undefined;
  /** Decoded object key from the path, if any. */
  key: string | undefined;
  /** Decoded query parameters. */
  query: ReadonlyMap<string, string>;
  /** Lower-case request headers. */
  headers: Readonly<Record<string, string | string[] | undefined>>;
}

// Parameters that select a variant of the response but not a different operation.
const OBJECT_READ_PARAMS = new Set([
  'x-id',
  'response-cache-control',
  'response-content-disposition',
  'response-content-encoding',
  'response-content-language',
  'response-content-type',
  'response-expires',
]);
const LIST_PARAMS = new Set([
  'x-id',
  'list-type',
  'prefix',
  'delimiter',
  'max-keys',
  'marker',
  'continuation-token',
  'start-after',
  'encoding-type',
  'fetch-owner',
]);
const PLAIN_PARAMS = new Set(['x-id']);

function onlyParams(query: ReadonlyMap<string, string>, allowed: ReadonlySet<string>): boolean {
  for (const name of query.keys()) if (!allowed.has(name)) return false;
  return true;
}

function has(query: ReadonlyMap<string, string>, name: string, allowed: ReadonlySet<string>) {
  return query.has(name) && onlyParams(query, new Set([...allowed, name]));
}

/**
 * Splits a raw path-style request path into bucket and decoded key.
 *
 * @param rawPath the request path without the query, as sent
 */
export function parseS3Path(rawPath: string): { bucket?: string; key?: string } {
  const [, bucket = '', ...rest] = rawPath.split('/');
  const key = rest.map((segment) => decodeURIComponent(segment)).join('/');
  return {
    ...(bucket === '' ? {} : { bucket: decodeURIComponent(bucket) }),
    ...(key === '' ? {} : { key }),
  };
}

/**
 * The IAM authorizations an S3 request needs, as AWS documents them for each operation; all of
 * them must be allowed. `undefined` for operations the development storage does not map: those
 * are denied, so nothing new slips through unevaluated.
 *
 * @param request method, bucket, key, query and headers
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html
 */
export function s3RequestAuthorizations(request: S3RequestParts): IamRequest[] | undefined {
  const { method, bucket, key, query, headers } = request;
  if (bucket === undefined) {
    return method === 'GET' && onlyParams(query, PLAIN_PARAMS)
      ? [{ action: 's3:ListAllMyBuckets', resource: '*' }]
      : undefined;
  }
  const bucketArn = `arn:aws:s3:::${bucket}`;
  if (key === undefined) {
    if ((method === 'GET' || method === 'HEAD') && onlyParams(query, LIST_PARAMS)) {
      return [{ action: 's3:ListBucket', resource: bucketArn }];
    }
    if (method === 'PUT' && onlyParams(query, PLAIN_PARAMS)) {
      return [{ action: 's3:CreateBucket', resource: bucketArn }];
    }
    if (method === 'DELETE' && onlyParams(query, PLAIN_PARAMS)) {
      return [{ action: 's3:DeleteBucket', resource: bucketArn }];
    }
    return undefined;
  }
  const objectArn = `${bucketArn}/${key}`;
  if (method === 'GET' || method === 'HEAD') {
    if (onlyParams(query, OBJECT_READ_PARAMS))
      return [{ action: 's3:GetObject', resource: objectArn }];
    if (has(query, 'acl', PLAIN_PARAMS))
      return [{ action: 's3:GetObjectAcl', resource: objectArn }];
    if (has(query, 'tagging', PLAIN_PARAMS)) {
      return [{ action: 's3:GetObjectTagging', resource: objectArn }];
    }
    return undefined;
  }
  if (method === 'PUT') {
    if (has(query, 'acl', PLAIN_PARAMS))
      return [{ action: 's3:PutObjectAcl', resource: objectArn }];
    if (has(query, 'tagging', PLAIN_PARAMS)) {
      return [{ action: 's3:PutObjectTagging', resource: objectArn }];
    }
    if (!onlyParams(query, PLAIN_PARAMS)) return undefined;
    const needs: IamRequest[] = [{ action: 's3:PutObject', resource: objectArn }];
    // A canned or explicit ACL on upload also needs s3:PutObjectAcl.
    if (
      Object.keys(headers).some((name) => name === 'x-amz-acl' || name.startsWith('x-amz-grant-'))
    ) {
      needs.push({ action: 's3:PutObjectAcl', resource: objectArn });
    }
    const copySource = headers['x-amz-copy-source'];
    if (typeof copySource === 'string') {
      const source = decodeURIComponent(copySource.split('?')[0] ?? '').replace(/^\//, '');
      needs.push({ action: 's3:GetObject', resource: `arn:aws:s3:::${source}` });
    }
    return needs;
  }
  if (method === 'DELETE' && onlyParams(query, PLAIN_PARAMS)) {
    return [{ action: 's3:DeleteObject', resource: objectArn }];
  }
  return undefined;
}
