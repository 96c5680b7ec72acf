// `npm run demo`: a real client of the running sample service (`npm start`), as another service
// would be. It gets a client-credentials token from the development issuer, uploads an image to
// `temp-uploads` with the uploader's storage keys, asks `POST /v1/thumbnails` over mutual TLS
// with `SecureHttpClient`, downloads the thumbnail with the viewer's keys and writes it to
// ./thumbnail.<format>. `--scenario denied` shows what a misbehaving client gets instead: 401,
// 403 and 429, each with its problem+json code.
//
//   npm run demo -- [--image FILE] [--width N] [--format webp|jpeg|png|avif]
//   npm run demo -- --scenario denied
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Logger } from '@nestjs/common';
import {
  HttpClientConnectError,
  HttpClientError,
  SecureHttpClient,
  UpstreamHttpError,
} from '@secure-api/nestjs';
import sharp from 'sharp';

const root = path.resolve(import.meta.dirname, '..');
const demoFile = path.join(root, '.dev', 'demo.json');

/** The principal tier of apps/thumbnail-service/src/app.module.ts RATE_LIMIT_TIERS is 60/min. */
const MAX_BURST = 130;
const BURST_PARALLEL = 4;

const CONTENT_TYPES = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  heif: 'image/avif',
};

class DemoError extends Error {}

// SecureHttpClient logs each outbound request at debug level through Nest's logger; the demo
// prints its own lines, and keeps the client's warnings and errors.
Logger.overrideLogger(['warn', 'error', 'fatal']);

function usage() {
  return [
    'usage: npm run demo -- [--image FILE] [--width N] [--format webp|jpeg|png|avif]',
    '       npm run demo -- --scenario denied',
  ].join('\n');
}

function parseOptions() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        image: { type: 'string' },
        width: { type: 'string', default: '256' },
        format: { type: 'string', default: 'webp' },
        scenario: { type: 'string', default: 'thumbnail' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }));
  } catch (error) {
    throw new DemoError(`${error.message}\n${usage()}`);
  }
  if (values.help) {
    console.log(usage());
    process.exit(0);
  }
  if (!/^\d{1,5}$/.test(values.width)) {
    throw new DemoError(`--width must be a positive integer (got ${JSON.stringify(values.width)})`);
  }
  if (!['thumbnail', 'denied'].includes(values.scenario)) {
    throw new DemoError(
      `--scenario must be thumbnail or denied (got ${JSON.stringify(values.scenario)})`,
    );
  }
  // The format is the service's to check: a wrong one shows its 400 problem+json.
  return { ...values, width: Number(values.width) };
}

async function readDemoConfig() {
  let text;
  try {
    text = await readFile(demoFile, 'utf8');
  } catch (error) {
    if (error.code === 'ENOENT') {
      throw new DemoError(
        `${path.relative(process.cwd(), demoFile)} not found: start the service first: npm start`,
      );
    }
    throw error;
  }
  const demo = JSON.parse(text);
  if (demo.issuer === undefined || demo.storage === undefined) {
    throw new DemoError(
      'the running service uses an external issuer or S3 (AUTH_ISSUER / S3_ENDPOINT set): the demo needs the development ones of npm start',
    );
  }
  return demo;
}

/**
 * A client of the service: the uploader's certificate for mutual TLS, the development CA for
 * the service's certificate, and, with `client`, a client-credentials token for it. The token
 * is fetched from the issuer's https endpoint (the mTLS alias, which also accepts a secret), so
 * that nothing goes over plain http and `allowInsecureHttp` stays off.
 */
function serviceClient(demo, client, options = {}) {
  const pem = (name) => path.join(demo.pki, name);
  return new SecureHttpClient({
    ...options,
    baseUrl: demo.service,
    tls: { certFile: pem('uploader.crt'), keyFile: pem('uploader.key'), caFile: pem('ca.crt') },
    // One attempt: the demo shows what the service answers, not what a retry hides.
    retry: { attempts: 1 },
    ...(client === undefined
      ? {}
      : {
          clientCredentials: {
            tokenEndpoint: demo.issuer.mtlsTokenEndpoint ?? demo.issuer.tokenEndpoint,
            clientId: client.id,
            clientSecret: demo.issuer.clients[client.id].clientSecret,
            scope: client.scope,
            resource: demo.audience,
          },
        }),
  });
}

function storageClient(demo, account) {
  return new S3Client({
    endpoint: demo.storage.endpoint,
    region: demo.storage.region,
    credentials: demo.storage[account],
    forcePathStyle: true,
  });
}

/** A 1600 × 1200 gradient, as a JPEG: what the demo uploads without --image. */
async function generatedImage() {
  const width = 1600;
  const height = 1200;
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const offset = (y * width + x) * 3;
      pixels[offset] = Math.round((x / width) * 255);
      pixels[offset + 1] = Math.round((y / height) * 255);
      pixels[offset + 2] = 160;
    }
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 85 })
    .toBuffer();
}

async function upload(demo, image) {
  let body;
  try {
    body = image === undefined ? await generatedImage() : await readFile(image);
  } catch (error) {
    throw new DemoError(`cannot read --image ${image}: ${error.message}`);
  }
  const { format, width, height } = await sharp(body).metadata();
  const extension = { jpeg: 'jpg', heif: 'avif' }[format] ?? format ?? 'bin';
  const sourceKey = `demo/${randomBytes(8).toString('hex')}.${extension}`;
  const s3 = storageClient(demo, 'uploader');
  try {
    await s3.send(
      new PutObjectCommand({
        Bucket: 'temp-uploads',
        Key: sourceKey,
        Body: body,
        ContentType: CONTENT_TYPES[format] ?? 'application/octet-stream',
      }),
    );
  } finally {
    s3.destroy();
  }
  console.log(
    `uploaded   temp-uploads/${sourceKey} (${width}×${height} ${format}, ${body.length} bytes, ${image ?? 'generated'})`,
  );
  return sourceKey;
}

async function download(demo, key) {
  const s3 = storageClient(demo, 'viewer');
  try {
    const object = await s3.send(
      new GetObjectCommand({ Bucket: 'processed-thumbnails', Key: key }),
    );
    return Buffer.from(await object.Body.transformToByteArray());
  } finally {
    s3.destroy();
  }
}

async function makeThumbnail(demo, options) {
  const sourceKey = await upload(demo, options.image);
  const client = serviceClient(demo, { id: 'demo-client', scope: ['thumbnails.write'] });
  let created;
  try {
    const response = await client.post('/v1/thumbnails', {
      json: { sourceKey, width: options.width, format: options.format },
    });
    created = response.json();
    console.log(`created    ${response.status} ${JSON.stringify(created)}`);
  } finally {
    await client.close();
  }
  const thumbnail = await download(demo, created.key);
  const file = `thumbnail.${created.format}`;
  await writeFile(file, thumbnail);
  console.log(
    `downloaded processed-thumbnails/${created.key} as the viewer: ${created.width}×${created.height} ${created.format}, ${thumbnail.length} bytes`,
  );
  console.log(`wrote      ./${file}`);
}

/** Status, code, Retry-After and the problem+json of a refused request. */
function describeRefusal(label, error) {
  if (!(error instanceof UpstreamHttpError)) throw error;
  const body = error.bodyText();
  let code = '-';
  try {
    code = JSON.parse(body).code ?? '-';
  } catch {
    // Not JSON: the body is printed as it came.
  }
  const header = (name) => {
    const value = error.responseHeaders[name];
    return Array.isArray(value) ? value.join(', ') : (value ?? '-');
  };
  const rateLimit =
    error.status === 429
      ? `\n  RateLimit-Policy: ${header('ratelimit-policy')}  RateLimit: ${header('ratelimit')}`
      : `  WWW-Authenticate: ${header('www-authenticate')}`;
  console.log(
    `${label}\n  ${error.status} ${code}  Retry-After: ${header('retry-after')}${rateLimit}\n  ${body}`,
  );
}

async function expectRefusal(label, call) {
  try {
    const response = await call();
    throw new DemoError(`${label}: expected a refusal, got ${response.status}`);
  } catch (error) {
    if (error instanceof DemoError) throw error;
    describeRefusal(label, error);
  }
}

async function deniedScenario(demo) {
  const body = { json: { sourceKey: 'demo/missing.jpg', width: 256 } };

  const anonymous = serviceClient(demo, undefined);
  try {
    await expectRefusal('401: client certificate, no token', () =>
      anonymous.post('/v1/thumbnails', body),
    );
  } finally {
    await anonymous.close();
  }

  const reader = serviceClient(demo, { id: 'reader', scope: ['thumbnails.read'] });
  try {
    await expectRefusal('403: token of "reader", which lacks thumbnails.write', () =>
      reader.post('/v1/thumbnails', body),
    );
  } finally {
    await reader.close();
  }

  // A client that does not take no for an answer: the same request again and again (each a
  // 404, the upload does not exist), until the per-caller tier says 429. Bounded.
  // Its circuit breaker would stop it after 5 failures in a row (a 429 is one): this client
  // keeps going, to show what the service does about it.
  const burst = serviceClient(
    demo,
    { id: 'demo-client', scope: ['thumbnails.write'] },
    { circuitBreaker: { consecutiveFailures: MAX_BURST + 1 } },
  );
  const statuses = new Map();
  let refused;
  try {
    // The first request alone: it fetches the token (the development issuer allows 5 token
    // requests a minute), which the parallel ones then share.
    let sent = 0;
    while (refused === undefined && sent < MAX_BURST) {
      const batch = sent === 0 ? 1 : Math.min(BURST_PARALLEL, MAX_BURST - sent);
      sent += batch;
      const results = await Promise.allSettled(
        Array.from({ length: batch }, () => burst.post('/v1/thumbnails', body)),
      );
      for (const result of results) {
        const status =
          result.status === 'fulfilled' ? result.value.status : (result.reason?.status ?? 'error');
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (status === 429) refused ??= result.reason;
        else if (status === 'error') throw result.reason;
      }
    }
    const counts = [...statuses].map(([status, count]) => `${count} × ${status}`).join(', ');
    if (refused === undefined) {
      throw new DemoError(`429: no refusal after ${sent} requests (${counts})`);
    }
    describeRefusal(`429: a burst of ${sent} requests from one caller (${counts})`, refused);
  } finally {
    await burst.close();
  }
}

async function main() {
  const options = parseOptions();
  const demo = await readDemoConfig();
  if (options.scenario === 'denied') await deniedScenario(demo);
  else await makeThumbnail(demo, options);
}

/** Nothing listens where .dev/demo.json says: the service stopped without removing it. */
function refused(error) {
  for (let cause = error; cause !== undefined && cause !== null; cause = cause.cause) {
    if (cause.code === 'ECONNREFUSED' || cause instanceof HttpClientConnectError) return true;
  }
  return false;
}

try {
  await main();
} catch (error) {
  if (refused(error)) {
    console.error(
      `demo: nothing answers at the addresses of ${path.relative(process.cwd(), demoFile)} ` +
        `(${error.message}): start the service first: npm start`,
    );
  } else if (error instanceof DemoError) {
    console.error(`demo: ${error.message}`);
  } else if (error instanceof UpstreamHttpError) {
    console.error(`demo: the service answered ${error.status}:\n${error.bodyText()}`);
  } else if (error instanceof HttpClientError) {
    // Connection refused, token request refused, timeout: the code and message say which.
    console.error(`demo: ${error.code}: ${error.message}`);
  } else {
    console.error(`demo: ${error?.stack ?? error}`);
  }
  process.exitCode = 1;
}
