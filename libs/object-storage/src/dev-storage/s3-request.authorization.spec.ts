import {
  parseS3Path,
  s3RequestAuthorizations,
  type S3RequestParts,
} from './s3-request.authorization.js';

function request(
  method: string,
  url: string,
  headers: S3RequestParts['headers'] = {},
): S3RequestParts {
  const [rawPath = '/', rawQuery = ''] = url.split('?');
  const query = new Map(
    rawQuery
      .split('&')
      .filter((pair) => pair !== '')
      .map((pair): [string, string] => {
        const [name = '', value = ''] = pair.split('=');
        return [name, value];
      }),
  );
  const { bucket, key } = parseS3Path(rawPath);
  return { method, bucket, key, query, headers };
}

describe('parseS3Path', () => {
  it.each([
    ['/', {}],
    ['/temp-uploads', { bucket: 'temp-uploads' }],
    ['/temp-uploads/', { bucket: 'temp-uploads' }],
    ['/temp-uploads/a%20b/c%2Bd.png', { bucket: 'temp-uploads', key: 'a b/c+d.png' }],
  ])('%s', (path, expected) => {
    expect(parseS3Path(path)).toEqual(expected);
  });
});

describe('s3RequestAuthorizations', () => {
  const object = 'arn:aws:s3:::temp-uploads/a.png';
  it.each([
    ['GET', '/?x-id=ListBuckets', {}, [['s3:ListAllMyBuckets', '*']]],
    ['GET', '/temp-uploads?list-type=2', {}, [['s3:ListBucket', 'arn:aws:s3:::temp-uploads']]],
    ['HEAD', '/temp-uploads', {}, [['s3:ListBucket', 'arn:aws:s3:::temp-uploads']]],
    ['PUT', '/new-bucket', {}, [['s3:CreateBucket', 'arn:aws:s3:::new-bucket']]],
    ['DELETE', '/temp-uploads', {}, [['s3:DeleteBucket', 'arn:aws:s3:::temp-uploads']]],
    ['GET', '/temp-uploads/a.png?x-id=GetObject', {}, [['s3:GetObject', object]]],
    ['HEAD', '/temp-uploads/a.png', {}, [['s3:GetObject', object]]],
    ['GET', '/temp-uploads/a.png?acl', {}, [['s3:GetObjectAcl', object]]],
    ['PUT', '/temp-uploads/a.png?x-id=PutObject', {}, [['s3:PutObject', object]]],
    ['PUT', '/temp-uploads/a.png?acl', {}, [['s3:PutObjectAcl', object]]],
    [
      'PUT',
      '/temp-uploads/a.png',
      { 'x-amz-acl': 'public-read' },
      [
        ['s3:PutObject', object],
        ['s3:PutObjectAcl', object],
      ],
    ],
    [
      'PUT',
      '/temp-uploads/a.png',
      { 'x-amz-copy-source': '/processed-thumbnails/b.png' },
      [
        ['s3:PutObject', object],
        ['s3:GetObject', 'arn:aws:s3:::processed-thumbnails/b.png'],
      ],
    ],
    ['DELETE', '/temp-uploads/a.png?x-id=DeleteObject', {}, [['s3:DeleteObject', object]]],
    ['PUT', '/temp-uploads/a.png?tagging', {}, [['s3:PutObjectTagging', object]]],
  ])('%s %s %j needs %j', (method, url, headers, needs) => {
    expect(s3RequestAuthorizations(request(method, url, headers))).toEqual(
      needs.map(([action, resource]) => ({ action, resource })),
    );
  });

  // Unmapped operations are denied by the development storage: they must not map to anything.
  it.each([
    ['POST', '/temp-uploads?delete'],
    ['POST', '/temp-uploads/a.png?uploads'],
    ['PUT', '/temp-uploads/a.png?partNumber=1&uploadId=x'],
    ['GET', '/temp-uploads/a.png?versionId=1'],
    ['GET', '/temp-uploads?policy'],
    ['PUT', '/temp-uploads?acl'],
    ['PATCH', '/temp-uploads/a.png'],
    ['DELETE', '/'],
  ])('%s %s maps to nothing', (method, url) => {
    expect(s3RequestAuthorizations(request(method, url))).toBeUndefined();
  });
});
