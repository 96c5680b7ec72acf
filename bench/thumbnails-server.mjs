// The two arms of the thumbnail benchmark, each run as a child process of bench/thumbnails.mjs:
//
//   --mode route   the sample service itself: the built AppModule.register(config, { storage })
//                  (apps/thumbnail-service/dist) over HTTPS with client certificates required,
//                  certificates from createTestPki(), tokens from createLocalIssuer() (the app
//                  only needs the issuer's JWKS). Storage:
//                    --storage memory  in-memory UploadReader/ThumbnailWriter holding the 12 MP
//                                      JPEG (the fair comparison: HTTP and the security layers
//                                      against the image work, no S3 in between);
//                    --storage s3      the development S3 server (libs/object-storage) on
//                                      loopback, every request checked against deploy/iam/.
//                  Prints { url, token, ca, cert, key }.
//   --mode sharp   the same work without HTTP: the app's ImageInspector and ThumbnailRenderer
//                  (same sharp process settings, same render options) on the same bytes, in a
//                  closed loop of `concurrency` jobs for `seconds`, started over IPC with
//                  { run: { seconds, concurrency, width, format } }; answers { ops, … }.
//
// Both print one JSON line when ready and serve until the runner leaves (bench/lib/
// server-child.mjs). Logging: LOG_LEVEL silent (the module's logger stays in place, writes
// nothing), as the other benchmarks turn theirs off.
//
// The rate limits. The app's tiers (RATE_LIMIT_TIERS: 120/min per address, 60/min per caller,
// 200/s in all) would refuse a benchmark after a few seconds, from one address with one token.
// Their limits are raised to 10⁹ here, names, keys and windows unchanged: the throttler guards
// still run and count every request, as in production, they just never refuse.
//
//   node bench/thumbnails-server.mjs --mode route|sharp --image FILE [--storage memory|s3]
//     [--max-seconds 3600]
import 'reflect-metadata';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createHttpsOptions } from '@secure-api/nestjs';
import { bootApp, createLocalIssuer, createTestPki } from '@secure-api/testing';
import { ThumbnailWriter, UploadReader } from '@secure-api-sample/object-storage';
import { fail, setProgramName, warn } from './lib/cli.mjs';
import { announceReady, positiveSeconds, serveUntilParentLeaves } from './lib/server-child.mjs';

setProgramName('bench/thumbnails-server');

const APP_DIST = new URL('../apps/thumbnail-service/dist/', import.meta.url);
const AUDIENCE = 'https://thumbnails.bench';
const SOURCE_KEY = 'bench/12mp.jpg';
const RAISED_LIMIT = 1_000_000_000;

function readArguments() {
  const { values } = parseArgs({
    options: {
      mode: { type: 'string' },
      image: { type: 'string' },
      storage: { type: 'string', default: 'memory' },
      'max-seconds': { type: 'string', default: '3600' },
    },
    strict: true,
  });
  if (!['route', 'sharp'].includes(values.mode)) {
    fail(`--mode must be route or sharp (got ${JSON.stringify(values.mode)})`);
  }
  if (!['memory', 's3'].includes(values.storage)) {
    fail(`--storage must be memory or s3 (got ${JSON.stringify(values.storage)})`);
  }
  if (!values.image) fail('--image FILE is required (the 12-megapixel JPEG)');
  return {
    mode: values.mode,
    image: values.image,
    storage: values.storage,
    maxSeconds: positiveSeconds(values['max-seconds'], 'max-seconds'),
  };
}

/** The test fixture's in-memory ports (apps/thumbnail-service/test/fixtures), in plain JS. */
class InMemoryUploadReader extends UploadReader {
  constructor(objects) {
    super();
    this.objects = objects;
  }

  async read(key, options) {
    const body = this.objects.get(key);
    if (body === undefined) throw new Error(`no upload ${key}`);
    if (body.length > options.maxBytes) throw new Error(`upload ${key} is too large`);
    return { body, contentType: 'image/jpeg', bytes: body.length };
  }
}

class InMemoryThumbnailWriter extends ThumbnailWriter {
  writes = 0;
  last = undefined;

  write(key, body) {
    this.writes += 1;
    this.last = { key, bytes: body.length };
    return Promise.resolve();
  }
}

/** Raises every rate-limit tier's limit in the SecureApiModule options of `module` (see top). */
function raiseRateLimits(module) {
  let raised = 0;
  const visit = (node) => {
    if (node === null || typeof node !== 'object') return;
    for (const provider of node.providers ?? []) {
      const tiers = provider?.useValue?.throttle?.tiers;
      if (Array.isArray(tiers)) {
        provider.useValue = {
          ...provider.useValue,
          throttle: {
            ...provider.useValue.throttle,
            tiers: tiers.map((tier) => ({ ...tier, limit: RAISED_LIMIT })),
          },
        };
        raised += 1;
      }
    }
    for (const child of node.imports ?? []) visit(child);
  };
  visit(module);
  if (raised !== 1) throw new Error(`expected one throttle option to raise, found ${raised}`);
  return module;
}

/** The development S3 server with the image uploaded; sets the service's credentials. */
async function devS3(image) {
  const { startDevStorage } = await import('@secure-api-sample/object-storage');
  const { PutObjectCommand, S3Client } = await import('@aws-sdk/client-s3');
  const storage = await startDevStorage();
  const uploader = new S3Client({
    endpoint: storage.endpoint,
    region: storage.region,
    credentials: storage.accounts.uploader,
    forcePathStyle: true,
  });
  await uploader.send(
    new PutObjectCommand({
      Bucket: 'temp-uploads',
      Key: SOURCE_KEY,
      Body: image,
      ContentType: 'image/jpeg',
    }),
  );
  uploader.destroy();
  // As scripts/start.mjs: the service's own keys, through the SDK's credential chain.
  process.env.AWS_ACCESS_KEY_ID = storage.accounts.thumbnailService.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = storage.accounts.thumbnailService.secretAccessKey;
  return storage;
}

async function serveRoute(options, image) {
  const { AppModule } = await import(new URL('app.module.js', APP_DIST).href);
  const { loadServiceConfig } = await import(new URL('config/service.config.js', APP_DIST).href);
  const pkiDir = await mkdtemp(path.join(os.tmpdir(), 'bench-thumbnails-pki-'));
  const pki = await createTestPki();
  const client = await pki.client('spiffe://example.org/sa/uploader');
  const files = await pki.writeTo(pkiDir);
  const issuer = await createLocalIssuer({ audience: AUDIENCE });
  const s3 = options.storage === 's3' ? await devS3(image) : undefined;
  let booted;
  const stop = serveUntilParentLeaves({
    maxSeconds: options.maxSeconds,
    close: async () => {
      await booted?.close().catch(() => undefined);
      await issuer.close().catch(() => undefined);
      await s3?.stop().catch(() => undefined);
      await rm(pkiDir, { recursive: true, force: true });
    },
  });
  try {
    const config = loadServiceConfig({
      AUTH_ISSUER: issuer.url,
      AUTH_AUDIENCE: AUDIENCE,
      TLS_CERT_FILE: files.certFile,
      TLS_KEY_FILE: files.keyFile,
      TLS_CA_FILE: files.caFile,
      LOG_LEVEL: 'silent',
      ...(s3 === undefined ? {} : { S3_ENDPOINT: s3.endpoint, S3_REGION: s3.region }),
    });
    const overrides =
      s3 === undefined
        ? {
            storage: {
              reader: new InMemoryUploadReader(new Map([[SOURCE_KEY, image]])),
              writer: new InMemoryThumbnailWriter(),
            },
          }
        : {};
    // As main.ts: HTTPS with client certificates required, the module's own body parsing.
    booted = await bootApp(raiseRateLimits(AppModule.register(config, overrides)), {
      adapter: 'express',
      logger: false,
      nestOptions: {
        httpsOptions: createHttpsOptions({
          certFile: config.tls.certFile,
          keyFile: config.tls.keyFile,
          caFile: config.tls.caFile,
          clientCertificate: 'require',
        }),
      },
    });
  } catch (error) {
    warn(`boot failed: ${String(error?.stack ?? error)}`);
    await stop(1);
    return;
  }
  announceReady({
    url: booted.url,
    mode: 'route',
    storage: options.storage,
    sourceKey: SOURCE_KEY,
    imageJobs: booted.app.get(await imageJobLimiterClass()).options,
    token: issuer.mint({
      scope: 'thumbnails.write',
      subject: 'bench-client',
      expiresInSeconds: options.maxSeconds + 60,
    }),
    ca: pki.ca.cert,
    cert: client.cert,
    key: client.key,
  });
}

async function imageJobLimiterClass() {
  const { ImageJobLimiter } = await import(
    new URL('thumbnails/image-job.limiter.js', APP_DIST).href
  );
  return ImageJobLimiter;
}

/** The route's image work without HTTP: read (a Buffer), inspect, render, as the service. */
async function serveSharp(options, image) {
  const { ImageInspector } = await import(new URL('thumbnails/image.inspector.js', APP_DIST).href);
  const { ThumbnailRenderer } = await import(
    new URL('thumbnails/thumbnail.renderer.js', APP_DIST).href
  );
  const inspector = new ImageInspector();
  const renderer = new ThumbnailRenderer();
  serveUntilParentLeaves({ maxSeconds: options.maxSeconds, close: async () => undefined });
  const job = async (width, format) => {
    await inspector.inspect(image);
    return renderer.render(image, { width, height: undefined, fit: 'inside', format });
  };
  process.on('message', (message) => {
    if (message?.run === undefined) return;
    const { seconds, concurrency, width, format } = message.run;
    void (async () => {
      const latencies = [];
      let errors = 0;
      let lastInfo;
      const deadline = performance.now() + seconds * 1000;
      const started = performance.now();
      const worker = async () => {
        while (performance.now() < deadline) {
          const begun = performance.now();
          try {
            lastInfo = (await job(width, format)).info;
            latencies.push(performance.now() - begun);
          } catch (error) {
            errors += 1;
            if (errors === 1) warn(`sharp job failed: ${String(error?.stack ?? error)}`);
          }
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
      process.send?.({
        ran: {
          ops: latencies.length,
          errors,
          wallSeconds: (performance.now() - started) / 1000,
          latenciesMs: latencies,
          info: lastInfo,
        },
      });
    })();
  });
  announceReady({ mode: 'sharp', uvThreadpool: process.env.UV_THREADPOOL_SIZE ?? '4 (default)' });
}

async function main() {
  const options = readArguments();
  const image = await readFile(options.image);
  if (options.mode === 'route') await serveRoute(options, image);
  else await serveSharp(options, image);
}

main().catch((error) => {
  warn(String(error?.stack ?? error));
  process.exit(1);
});
