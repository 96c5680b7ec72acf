// `npm run pki [-- --force]`: a development PKI in .dev/pki/ (git-ignored) for trying mutual TLS
// on loopback: a CA, a server certificate for localhost, 127.0.0.1 and ::1, and client
// certificates for three SPIFFE workloads (uploader, thumbnailer, operator). ECDSA P-256; the
// CA lives 30 days, leaves 7 days, so a leaked file is soon worthless. Made by createTestPki()
// from @secure-api/testing.
//
// The CA is kept while ca.crt and ca.key are valid for more than another day, so that whatever
// already trusts ca.crt keeps working; leaves that expire within a day, or that this CA did not
// issue, are made again. --force makes everything anew. Key material is never printed.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createTestPki } from '@secure-api/testing';

const DAY_MS = 24 * 60 * 60 * 1000;
const CA_VALIDITY_MS = 30 * DAY_MS;
const LEAF_VALIDITY_MS = 7 * DAY_MS;
/** Anything expiring sooner than this is replaced. */
const RENEW_BEFORE_MS = DAY_MS;

const CLIENTS = [
  { name: 'uploader', spiffeId: 'spiffe://example.org/sa/uploader' },
  { name: 'thumbnailer', spiffeId: 'spiffe://example.org/sa/thumbnailer' },
  // The sample's /admin/log-level is for this peer only (LOG_ADMIN_PEERS).
  { name: 'operator', spiffeId: 'spiffe://example.org/sa/operator' },
];

const root = path.resolve(import.meta.dirname, '..');
const dir = path.join(root, '.dev', 'pki');

const args = process.argv.slice(2);
const unknown = args.filter((arg) => arg !== '--force');
if (unknown.length > 0) {
  console.error(`pki: unknown argument ${unknown.join(' ')}; usage: npm run pki [-- --force]`);
  process.exit(2);
}
const force = args.includes('--force');

/** The pair in `<name>.crt` / `<name>.key`, or undefined when either is missing. */
async function readPair(name) {
  try {
    return {
      cert: await readFile(path.join(dir, `${name}.crt`), 'utf8'),
      key: await readFile(path.join(dir, `${name}.key`), 'utf8'),
    };
  } catch (error) {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Why the pair cannot be kept, or undefined when it can: it parses, the key matches, it is
 * valid for more than RENEW_BEFORE_MS, and (for a leaf) `ca` issued it.
 */
function problem(pair, ca) {
  if (pair === undefined) return 'missing';
  let cert;
  try {
    cert = new X509Certificate(pair.cert);
    if (!cert.checkPrivateKey(createPrivateKey(pair.key))) return 'key does not match';
  } catch (error) {
    return `unreadable (${error.message})`;
  }
  if (ca === undefined ? !cert.ca : !(cert.checkIssued(ca) && cert.verify(ca.publicKey))) {
    return ca === undefined ? 'not a CA' : 'not issued by this CA';
  }
  if (cert.validFromDate.getTime() > Date.now()) return 'not valid yet';
  if (cert.validToDate.getTime() - Date.now() <= RENEW_BEFORE_MS) {
    return `expires ${cert.validToDate.toISOString()}`;
  }
  return undefined;
}

/** Replaces `file`: removed first so that a fresh file gets `mode` even if one existed. */
async function replaceFile(file, data, mode) {
  await rm(file, { force: true });
  await writeFile(file, data, { mode, flag: 'wx' });
}

async function writePair(name, pair) {
  await replaceFile(path.join(dir, `${name}.crt`), pair.cert, 0o644);
  await replaceFile(path.join(dir, `${name}.key`), pair.key, 0o600);
}

/** Keys kept from an earlier run are tightened to 0600 if they were left readable by others. */
async function tightenKey(name) {
  const file = path.join(dir, `${name}.key`);
  if (((await stat(file)).mode & 0o077) !== 0) {
    await chmod(file, 0o600);
    console.log(`  ${path.relative(root, file)}: mode set to 0600`);
  }
}

function report(action, name, pair, why) {
  const cert = new X509Certificate(pair.cert);
  const san = cert.subjectAltName === undefined ? '' : ` [${cert.subjectAltName}]`;
  const files = `${path.relative(root, path.join(dir, name))}.{crt,key}`;
  const reason = why === undefined ? '' : ` (was: ${why})`;
  console.log(
    `${action} ${files}  ${cert.subject}${san}  expires ${cert.validToDate.toISOString()}${reason}`,
  );
}

await mkdir(dir, { recursive: true, mode: 0o700 });

const existingCa = force ? undefined : await readPair('ca');
const caProblem = force ? 'forced' : problem(existingCa, undefined);
const pki =
  caProblem === undefined
    ? await createTestPki({
        ca: existingCa,
        // A leaf should not outlive the CA that vouches for it.
        leafValidityMs: Math.min(
          LEAF_VALIDITY_MS,
          new X509Certificate(existingCa.cert).validToDate.getTime() - Date.now(),
        ),
      })
    : await createTestPki({
        caCommonName: 'secure-api dev CA',
        caValidityMs: CA_VALIDITY_MS,
        leafValidityMs: LEAF_VALIDITY_MS,
      });
const caCert = new X509Certificate(pki.ca.cert);

if (caProblem === undefined) {
  await tightenKey('ca');
  report('kept ', 'ca', pki.ca);
} else {
  await writePair('ca', pki.ca);
  report('wrote', 'ca', pki.ca, caProblem === 'missing' || force ? undefined : caProblem);
}

const leaves = [
  { name: 'server', make: () => Promise.resolve(pki.server) },
  ...CLIENTS.map(({ name, spiffeId }) => ({ name, make: () => pki.client(spiffeId) })),
];
for (const { name, make } of leaves) {
  const existing = caProblem === undefined ? await readPair(name) : undefined;
  const why = caProblem === undefined ? problem(existing, caCert) : undefined;
  if (existing !== undefined && why === undefined) {
    await tightenKey(name);
    report('kept ', name, existing);
    continue;
  }
  const pair = await make();
  await writePair(name, pair);
  report('wrote', name, pair, why === 'missing' ? undefined : why);
}

console.log(`\nTrust ${path.relative(root, path.join(dir, 'ca.crt'))}; keys are mode 0600.`);
console.log('Development only: nothing outside this machine should trust this CA.');
