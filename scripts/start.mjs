// `npm start`: runs the sample thumbnail service on https://127.0.0.1:3000 with mutual TLS, and
// embedded stand-ins for whatever is not configured, all on loopback:
//
// - the development PKI in .dev/pki/ (`npm run pki`: made once, renewed when about to expire);
// - with AUTH_ISSUER unset, the development authorization server (libs/dev-issuer, on
//   oidc-provider): client credentials for the demo client, by secret and by certificate;
// - with S3_ENDPOINT unset, the development S3 server (libs/object-storage) with the buckets
//   temp-uploads and processed-thumbnails, every request checked against deploy/iam/;
// - rate limits in memory unless REDIS_URL is set.
//
// What `npm run demo` needs to reach them (endpoints, the demo client's secret, the development
// storage's keys) goes to .dev/demo.json, mode 0600: development credentials, valid only while
// this process runs. Nothing listens beyond 127.0.0.1.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const pkiDir = path.join(root, '.dev', 'pki');
const demoFile = path.join(root, '.dev', 'demo.json');
const audience = process.env.AUTH_AUDIENCE ?? 'https://thumbnails.local';
const port = process.env.PORT ?? '3000';
const pem = (name) => path.join(pkiDir, name);

const pki = spawnSync(process.execPath, [path.join(root, 'scripts', 'pki.mjs')], {
  stdio: ['ignore', 'ignore', 'inherit'],
});
if (pki.status !== 0) {
  console.error('start: the development PKI could not be made (node scripts/pki.mjs)');
  process.exit(1);
}
process.env.TLS_CERT_FILE ??= pem('server.crt');
process.env.TLS_KEY_FILE ??= pem('server.key');
process.env.TLS_CA_FILE ??= pem('ca.crt');

const stops = [];
const demo = { service: `https://127.0.0.1:${port}`, audience, pki: pkiDir };

if (process.env.AUTH_ISSUER === undefined) {
  const { startDevIssuer } = await import('@secure-api-sample/dev-issuer');
  const issuer = await startDevIssuer({
    resource: audience,
    scopes: ['thumbnails.write', 'thumbnails.read', 'logging.admin'],
    clients: [
      // The demo's client: a secret for the token, the uploader certificate for the service.
      { clientId: 'demo-client', scopes: ['thumbnails.write', 'thumbnails.read'] },
      // The same machine identity by certificate: its tokens are bound to it (cnf.x5t#S256).
      {
        clientId: 'uploader',
        scopes: ['thumbnails.write'],
        tlsClientAuth: { sanUri: 'spiffe://example.org/sa/uploader' },
      },
      // A client without thumbnails.write, for the demo's 403.
      { clientId: 'reader', scopes: ['thumbnails.read'] },
      { clientId: 'operator', scopes: ['logging.admin'] },
    ],
    tls: {
      ca: await readFile(pem('ca.crt'), 'utf8'),
      cert: await readFile(pem('server.crt'), 'utf8'),
      key: await readFile(pem('server.key'), 'utf8'),
    },
  });
  stops.push(() => issuer.close());
  process.env.AUTH_ISSUER = issuer.issuer;
  process.env.AUTH_AUDIENCE = audience;
  demo.issuer = {
    url: issuer.issuer,
    tokenEndpoint: issuer.tokenEndpoint,
    mtlsTokenEndpoint: issuer.mtlsTokenEndpoint,
    clients: Object.fromEntries(
      Object.values(issuer.clients).map((client) => [
        client.clientId,
        { clientSecret: client.clientSecret, scopes: client.scopes },
      ]),
    ),
  };
}

if (process.env.S3_ENDPOINT === undefined) {
  const { startDevStorage } = await import('@secure-api-sample/object-storage');
  const storage = await startDevStorage();
  stops.push(() => storage.stop());
  process.env.S3_ENDPOINT = storage.endpoint;
  process.env.S3_REGION = storage.region;
  // The service's own keys, bound to deploy/iam/thumbnail-service.policy.json.
  process.env.AWS_ACCESS_KEY_ID = storage.accounts.thumbnailService.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = storage.accounts.thumbnailService.secretAccessKey;
  const account = ({ accessKeyId, secretAccessKey }) => ({ accessKeyId, secretAccessKey });
  demo.storage = {
    endpoint: storage.endpoint,
    region: storage.region,
    uploader: account(storage.accounts.uploader),
    viewer: account(storage.accounts.viewer),
  };
}

await rm(demoFile, { force: true });
await writeFile(demoFile, `${JSON.stringify(demo, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
// Removed synchronously first: the service's own shutdown hook re-raises the signal when it has
// closed, which may end the process before anything asynchronous here has run.
const stop = async () => {
  rmSync(demoFile, { force: true });
  await Promise.allSettled(stops.map((close) => close()));
};
process.once('SIGINT', () => void stop().then(() => process.exit(130)));
process.once('SIGTERM', () => void stop().then(() => process.exit(143)));

console.log(`dev PKI:     ${path.relative(root, pkiDir)}/ (development only)`);
if (demo.issuer)
  console.log(
    `dev issuer:  ${demo.issuer.url} (mTLS token endpoint ${demo.issuer.mtlsTokenEndpoint})`,
  );
if (demo.storage)
  console.log(
    `dev storage: ${demo.storage.endpoint} (buckets temp-uploads, processed-thumbnails; IAM policies of deploy/iam/)`,
  );
console.log(`service:     https://127.0.0.1:${port} (client certificate required)`);
if (demo.issuer) {
  // A token for the demo client, fetched here so that the secret is not printed.
  const client = demo.issuer.clients['demo-client'];
  const response = await fetch(demo.issuer.tokenEndpoint, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`demo-client:${client.clientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      scope: 'thumbnails.write thumbnails.read',
      resource: audience,
    }),
  });
  const token = response.ok ? (await response.json()).access_token : undefined;
  console.log('\ntry it (the token is valid for 5 minutes; `npm run demo` gets its own):');
  console.log(
    `  curl --cacert .dev/pki/ca.crt --cert .dev/pki/uploader.crt --key .dev/pki/uploader.key \\\n` +
      `    -H 'content-type: application/json' -H "Authorization: Bearer ${token ?? '<token>'}" \\\n` +
      `    -d '{"sourceKey":"samples/photo.jpg","width":256}' https://127.0.0.1:${port}/v1/thumbnails`,
  );
  console.log('  npm run demo   # uploads an image, makes a thumbnail over mTLS, downloads it');
}

await import('../apps/thumbnail-service/dist/main.js');
