import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SignatureV4 } from '@smithy/signature-v4';
import S3rver from 's3rver';
import {
  loadSampleIamPolicies,
  type IamPolicyDocument,
  type SampleIamPolicies,
} from '../iam-policy.document.js';
import { DEV_ACCOUNT_ID, evaluateIamPolicy, type IamRequest } from '../iam-policy.evaluator.js';
import { S3_ERRORS, sendS3Error, type S3ErrorAnswer } from './s3-error.response.js';
import { parseS3Path, s3RequestAuthorizations } from './s3-request.authorization.js';
import { Sha256Checksum } from './sha256.checksum.js';
import { SigV4Verifier } from './sigv4.verifier.js';

/** Buckets the development storage creates. */
export const DEV_STORAGE_BUCKETS = Object.freeze(['temp-uploads', 'processed-thumbnails'] as const);

/**
 * How the development storage answers, for testing outages with real sockets:
 * `up` serves; `down` answers every request with 503 `ServiceUnavailable` and `Retry-After`;
 * `reset` destroys every connection as soon as a request arrives; `stall` accepts requests and
 * never answers.
 */
export type DevStorageAvailability = 'up' | 'down' | 'reset' | 'stall';

/** One principal of the development storage. Credentials are random for every start. */
export interface DevStorageAccount {
  /** Access key id, `AKIA…`. */
  readonly accessKeyId: string;
  /** Secret access key. */
  readonly secretAccessKey: string;
  /** The principal's ARN, as the policy simulator sees it. */
  readonly principalArn: string;
}

/** One authorization decision, reported through {@link DevStorageOptions.onDecision}. */
export interface DevStorageDecision {
  /** Which account asked (`thumbnailService`, `uploader`, `viewer`). */
  readonly account: keyof SampleIamPolicies;
  /** HTTP method and path as sent. */
  readonly request: string;
  /** The IAM authorizations the request needs; empty when it maps to no known operation. */
  readonly needs: readonly IamRequest[];
  /** Whether all of them were allowed. */
  readonly allowed: boolean;
}

/** Options of {@link startDevStorage}. */
export interface DevStorageOptions {
  /**
   * Where s3rver keeps objects. Kept on stop when given.
   * @default a new temporary directory, removed on stop
   */
  directory?: string;
  /** Public port on 127.0.0.1. @default 0 (any free port) */
  port?: number;
  /** Region clients must sign for. @default 'us-east-1' */
  region?: string;
  /**
   * The policy document bound to each account.
   * @default the documents in the repository's `deploy/iam/`
   */
  policies?: SampleIamPolicies;
  /** Largest request body accepted, in bytes. @default 64 MiB */
  maxBodyBytes?: number;
  /** Called for every authenticated request with the policy decision. */
  onDecision?: (decision: DevStorageDecision) => void;
}

/** A running development storage. */
export interface DevStorage {
  /** `http://127.0.0.1:PORT`, for `S3Client({ endpoint, forcePathStyle: true })`. */
  readonly endpoint: string;
  /** The region to sign for. */
  readonly region: string;
  /** Credentials of each principal, bound to its policy document. */
  readonly accounts: Readonly<Record<keyof SampleIamPolicies, DevStorageAccount>>;
  /** Where objects are stored. */
  readonly directory: string;
  /** Switches between serving and simulated outages. */
  setAvailability(availability: DevStorageAvailability): void;
  /** Closes every connection, stops s3rver and removes a temporary directory. */
  stop(): Promise<void>;
}

// s3rver 3.x accepts this built-in account; it checks the key id but does not verify V4
// signatures, which is why the proxy verifies them itself.
const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'expect',
]);

// Not frozen: the AWS SDK records where credentials came from on the credentials object.
function newAccount(name: string): DevStorageAccount {
  return {
    accessKeyId: `AKIA${randomBytes(8).toString('hex').toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString('base64'),
    principalArn: `arn:aws:iam::${DEV_ACCOUNT_ID}:user/${name}`,
  };
}

function parseQuery(rawQuery: string): Map<string, string> {
  const query = new Map<string, string>();
  for (const pair of rawQuery.split('&')) {
    if (pair === '') continue;
    const at = pair.indexOf('=');
    const name = decodeURIComponent(at === -1 ? pair : pair.slice(0, at));
    query.set(name, at === -1 ? '' : decodeURIComponent(pair.slice(at + 1)));
  }
  return query;
}

class BodyTooLargeError extends Error {}

async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > maxBytes) throw new BodyTooLargeError();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, bytes);
}

/**
 * Starts the development object storage: `s3rver` on its own loopback port, behind a proxy on
 * the public port that authenticates every request (SigV4, per-account random keys), maps it
 * to its IAM actions and evaluates them with `@cloud-copilot/iam-simulate` against the policy
 * document bound to the key. Denied requests get S3's `AccessDenied` and never reach the store.
 *
 * @param options directory, port, region and policies
 * @example
 * const storage = await startDevStorage();
 * const s3 = new S3Client({ endpoint: storage.endpoint, region: storage.region,
 *   forcePathStyle: true, credentials: storage.accounts.uploader });
 */
export async function startDevStorage(options: DevStorageOptions = {}): Promise<DevStorage> {
  const {
    port = 0,
    region = 'us-east-1',
    policies = loadSampleIamPolicies(),
    maxBodyBytes = 64 * 1024 * 1024,
    onDecision,
  } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new TypeError(`"port" must be an integer from 0 to 65535, got ${String(port)}`);
  }
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes <= 0) {
    throw new TypeError(`"maxBodyBytes" must be a positive integer, got ${String(maxBodyBytes)}`);
  }
  const ownsDirectory = options.directory === undefined;
  const directory = options.directory ?? (await mkdtemp(path.join(os.tmpdir(), 'dev-storage-')));

  const accounts = {
    thumbnailService: newAccount('thumbnail-service'),
    uploader: newAccount('uploader'),
    viewer: newAccount('viewer'),
  };
  const byKey = new Map<
    string,
    { name: keyof SampleIamPolicies; account: DevStorageAccount; policy: IamPolicyDocument }
  >();
  for (const name of ['thumbnailService', 'uploader', 'viewer'] as const) {
    byKey.set(accounts[name].accessKeyId, {
      name,
      account: accounts[name],
      policy: policies[name],
    });
  }
  const verifier = new SigV4Verifier(
    new Map([...byKey].map(([key, { account }]) => [key, account.secretAccessKey])),
    region,
  );

  const store = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: DEV_STORAGE_BUCKETS.map((name) => ({ name })),
  });
  const storeAddress = await store.run();
  const upstreamAgent = new http.Agent({ keepAlive: false });
  const upstreamSigner = new SignatureV4({
    service: 's3',
    region,
    credentials: S3RVER_CREDENTIALS,
    sha256: Sha256Checksum,
    uriEscapePath: false,
    applyChecksum: false,
  });

  let availability: DevStorageAvailability = 'up';

  const forward = async (
    req: IncomingMessage,
    res: ServerResponse,
    rawPath: string,
    query: Map<string, string>,
    body: Buffer,
  ): Promise<void> => {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined || HOP_BY_HOP.has(name)) continue;
      if (['authorization', 'x-amz-date', 'host', 'content-length'].includes(name)) continue;
      headers[name] = Array.isArray(value) ? value.join(',') : value;
    }
    const host = `127.0.0.1:${storeAddress.port}`;
    const signed = await upstreamSigner.sign({
      method: req.method ?? 'GET',
      protocol: 'http:',
      hostname: host,
      path: rawPath,
      query: Object.fromEntries(query),
      headers: { ...headers, host },
    });
    await new Promise<void>((resolve) => {
      const upstream = http.request(
        {
          host: '127.0.0.1',
          port: storeAddress.port,
          method: req.method,
          path: req.url,
          agent: upstreamAgent,
          headers: { ...signed.headers, 'content-length': String(body.length) },
        },
        (upstreamRes) => {
          const responseHeaders: Record<string, string | string[]> = {};
          for (const [name, value] of Object.entries(upstreamRes.headers)) {
            if (value !== undefined && !HOP_BY_HOP.has(name)) responseHeaders[name] = value;
          }
          res.writeHead(upstreamRes.statusCode ?? 502, responseHeaders);
          upstreamRes.pipe(res);
          upstreamRes.on('end', resolve);
          upstreamRes.on('error', () => {
            res.destroy();
            resolve();
          });
          res.on('close', () => {
            upstreamRes.destroy();
            resolve();
          });
        },
      );
      upstream.on('error', () => {
        if (!res.headersSent) {
          sendS3Error(res, S3_ERRORS.serviceUnavailable, {
            resource: rawPath,
            method: req.method ?? 'GET',
            requestId: 'upstream',
          });
        } else {
          res.destroy();
        }
        resolve();
      });
      upstream.end(body);
    });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const at = url.indexOf('?');
    const rawPath = at === -1 ? url : url.slice(0, at);
    const fail = (answer: S3ErrorAnswer, retryAfterSeconds?: number): void => {
      sendS3Error(res, answer, {
        resource: rawPath,
        method,
        requestId,
        ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
      });
    };
    if (availability === 'stall') return;
    if (availability === 'reset') {
      req.socket.destroy();
      return;
    }
    if (availability === 'down') {
      req.resume();
      fail(S3_ERRORS.serviceUnavailable, 1);
      return;
    }
    let query: Map<string, string>;
    let target: { bucket?: string; key?: string };
    try {
      query = parseQuery(at === -1 ? '' : url.slice(at + 1));
      target = parseS3Path(rawPath);
    } catch {
      // Malformed percent-encoding: S3 answers 400 as well; deny without guessing the target.
      req.resume();
      fail(S3_ERRORS.accessDenied);
      return;
    }
    let body: Buffer;
    try {
      body = await readBody(req, maxBodyBytes);
    } catch (error) {
      res.setHeader('connection', 'close');
      fail(error instanceof BodyTooLargeError ? S3_ERRORS.entityTooLarge : S3_ERRORS.accessDenied);
      return;
    }
    const verified = await verifier.verify({ method, rawPath, query, headers: req.headers, body });
    if (!verified.ok) {
      fail(verified.error);
      return;
    }
    // The verifier only accepts keys from this map.
    const principal = byKey.get(verified.accessKeyId);
    if (principal === undefined) {
      fail(S3_ERRORS.invalidAccessKeyId);
      return;
    }
    const needs =
      s3RequestAuthorizations({
        method,
        bucket: target.bucket,
        key: target.key,
        query,
        headers: req.headers,
      }) ?? [];
    let allowed = needs.length > 0;
    for (const need of needs) {
      if (!allowed) break;
      try {
        allowed =
          (await evaluateIamPolicy(principal.policy, need, principal.account.principalArn)) ===
          'Allowed';
      } catch {
        // The simulator refuses requests it cannot type (e.g. an ARN it cannot parse): deny.
        allowed = false;
      }
    }
    onDecision?.({ account: principal.name, request: `${method} ${rawPath}`, needs, allowed });
    if (!allowed) {
      fail(S3_ERRORS.accessDenied);
      return;
    }
    await forward(req, res, rawPath, query, body);
  };

  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port: publicPort } = server.address() as AddressInfo;

  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${publicPort}`,
    region,
    accounts,
    directory,
    setAvailability: (next) => {
      availability = next;
    },
    stop: () => {
      stopped ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const socket of sockets) socket.destroy();
        await closed;
        upstreamAgent.destroy();
        await store.close();
        if (ownsDirectory) await rm(directory, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
