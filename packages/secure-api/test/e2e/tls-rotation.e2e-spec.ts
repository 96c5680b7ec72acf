import { randomBytes, X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { Agent, request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import {
  SecureApiErrorCode,
  TlsServerService,
  type TlsOptions,
  type TlsStatus,
} from '@secure-api/nestjs';
import {
  ADAPTERS,
  type AdapterName,
  type BootedApp,
  createLocalIssuer,
  createLogCapture,
  createTestPki,
  type LocalIssuer,
  type LogCapture,
  type TestCertificate,
  type TestPki,
} from '@secure-api/testing';
import { bootMtlsApp, PEERS } from './fixtures/mtls-app.fixture.js';

// Certificate rotation with tls.watch: the module swaps rotated files into the running server
// with setSecureContext(), so that new handshakes get the new certificate while open
// connections keep theirs, and refuses files that do not load without dropping the old ones.

/** Longest wait for one reload, a handshake or a request; the watcher settles after 100 ms. */
const BOUND_MS = 5_000;
const TEST_TIMEOUT_MS = 20_000;

type ReloadOutcome =
  | { readonly kind: 'reloaded'; readonly status: TlsStatus }
  | { readonly kind: 'reloadFailed'; readonly error: Error }
  | { readonly kind: 'timeout' };

/**
 * The service's next reload attempt, whichever way it went; `'timeout'` when there was none
 * within the bound (never a rejection, so that it can run beside a load and be asserted after).
 * Call it before changing the files.
 */
function nextReload(service: TlsServerService): Promise<ReloadOutcome> {
  return new Promise((resolve) => {
    const settle = (outcome: ReloadOutcome): void => {
      clearTimeout(timer);
      service.off('reloaded', onReloaded);
      service.off('reloadFailed', onFailed);
      resolve(outcome);
    };
    const onReloaded = (status: TlsStatus): void => settle({ kind: 'reloaded', status });
    const onFailed = (error: Error): void => settle({ kind: 'reloadFailed', error });
    const timer = setTimeout(() => settle({ kind: 'timeout' }), BOUND_MS);
    service.on('reloaded', onReloaded);
    service.on('reloadFailed', onFailed);
  });
}

/** Writes a temporary file in the same folder, to be renamed over the target. */
async function staged(file: string, content: string, mode: number): Promise<string> {
  const temporary = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temporary, content, { mode });
  return temporary;
}

/**
 * Replaces the certificate and the key the way a rotation tool does: both written under
 * temporary names first, then each renamed over its file (one atomic step each, back to back, so
 * that the pair matches again well within the watcher's 100 ms).
 */
async function rotateFiles(
  files: { certFile: string; keyFile: string },
  to: { cert?: string; key?: string },
): Promise<void> {
  const renames: [string, string][] = [];
  if (to.key !== undefined)
    renames.push([await staged(files.keyFile, to.key, 0o600), files.keyFile]);
  if (to.cert !== undefined) {
    renames.push([await staged(files.certFile, to.cert, 0o644), files.certFile]);
  }
  for (const [from, target] of renames) await rename(from, target);
}

const fingerprintOf = (cert: TestCertificate): string =>
  new X509Certificate(cert.cert).fingerprint256;

/** The fingerprint of the certificate a new, full handshake gets. */
function presentedFingerprint(url: string, tls: ClientTls): Promise<string | undefined> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), ...tls });
    const timer = setTimeout(() => socket.destroy(new Error('no handshake')), BOUND_MS);
    socket.once('error', (error: Error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const fingerprint = socket.getPeerX509Certificate()?.fingerprint256;
      socket.once('close', () => resolve(fingerprint));
      socket.destroy();
    });
  });
}

type TlsFiles = Pick<TlsOptions, 'certFile' | 'keyFile' | 'caFile' | 'crlFile'>;

/** How one connection that offered `session` went: resumed or not, and what came back. */
interface Resumption {
  readonly reused: boolean;
  /** The raw HTTP response to `GET /public`: empty when the server closed without one. */
  readonly response: string;
  /** The last session ticket received, for the next connection. */
  readonly session: Buffer | undefined;
}

/** Connects (offering `session` when given), sends one GET and waits for the server to close. */
function connectOnce(url: string, tls: ClientTls, session?: Buffer): Promise<Resumption> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({
      host: hostname,
      port: Number(port),
      ...tls,
      ...(session === undefined ? {} : { session }),
    });
    const timer = setTimeout(() => socket.destroy(new Error('no close')), BOUND_MS);
    let reused = false;
    let ticket: Buffer | undefined;
    const chunks: Buffer[] = [];
    socket.on('session', (received: Buffer) => (ticket = received));
    socket.once('secureConnect', () => {
      reused = socket.isSessionReused();
      socket.write('GET /public HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    });
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    // A refused client may see ECONNRESET; what matters is what it received before the close.
    socket.on('error', () => undefined);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ reused, response: Buffer.concat(chunks).toString('utf8'), session: ticket });
    });
  });
}

interface ClientTls {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/** One served (or failed) request of the load. */
interface Served {
  readonly stream: 'keep-alive' | 'new-connection';
  readonly index: number;
  readonly status: number | undefined;
  readonly error: string | undefined;
  /** The fingerprint of the server certificate of the connection it went over. */
  readonly fingerprint: string | undefined;
  readonly socket: TLSSocket | undefined;
  /** Finished after the rotation began and before the reload: served during the swap. */
  readonly duringRotation: boolean;
}

function get(
  url: string,
  tls: ClientTls,
  agent: Agent | false,
): Promise<Pick<Served, 'status' | 'error' | 'fingerprint' | 'socket'>> {
  return new Promise((resolve) => {
    const request = httpsRequest(
      `${url}/public`,
      { agent, timeout: BOUND_MS, ...tls },
      (response) => {
        const socket = response.socket as TLSSocket;
        const fingerprint = socket.getPeerX509Certificate()?.fingerprint256;
        response.resume();
        response.on('end', () =>
          resolve({ status: response.statusCode, error: undefined, fingerprint, socket }),
        );
      },
    );
    request.on('timeout', () => request.destroy(new Error('request timed out')));
    request.on('error', (error: Error & { code?: string }) =>
      resolve({
        status: undefined,
        error: error.code ?? error.message,
        fingerprint: undefined,
        socket: undefined,
      }),
    );
    request.end();
  });
}

describe.each(ADAPTERS)('TLS certificate rotation on %s', (adapter: AdapterName) => {
  let pki: TestPki;
  let root: string;
  let issuer: LocalIssuer;
  let client: TestCertificate;
  const booted: BootedApp[] = [];

  const auth = () => ({ issuer: issuer.url, audience: issuer.audience, jwksUri: issuer.jwksUri });
  const clientTls = (): ClientTls => ({ ca: pki.ca.cert, cert: client.cert, key: client.key });
  /** A server certificate from the same CA, for the address the tests connect to. */
  const newServerCertificate = (): Promise<TestCertificate> =>
    pki.issue({ kind: 'server', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'] });

  /** A folder of its own with the PKI's files, and an app watching them. */
  async function bootWatching(files?: TlsFiles): Promise<{
    app: BootedApp;
    service: TlsServerService;
    files: TlsFiles;
    logs: LogCapture;
  }> {
    let tls = files;
    if (tls === undefined) {
      const written = await pki.writeTo(await mkdtemp(join(root, 'files-')));
      tls = { certFile: written.certFile, keyFile: written.keyFile, caFile: written.caFile };
    }
    const logs = createLogCapture();
    const app = await bootMtlsApp(adapter, { auth: auth(), tls: { ...tls, watch: true } }, logs);
    booted.push(app);
    return { app, service: app.app.get(TlsServerService), files: tls, logs };
  }

  beforeAll(async () => {
    pki = await createTestPki();
    client = await pki.client(PEERS.uploader);
    root = await mkdtemp(join(tmpdir(), 'secure-api-rotation-'));
    issuer = await createLocalIssuer();
  });

  afterEach(async () => {
    for (const app of booted.splice(0)) await app.close();
  });

  afterAll(async () => {
    await issuer?.close();
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  });

  it(
    'rotates under load: no request fails, new handshakes get the new certificate, an open connection keeps working',
    async () => {
      const { app, service, files } = await bootWatching();
      const oldFingerprint = fingerprintOf(pki.server);
      const next = await newServerCertificate();
      const newFingerprint = fingerprintOf(next);
      expect(service.status()?.certificateFingerprint).toBe(oldFingerprint);

      const PER_STREAM = 150;
      /** The rotation begins once this many requests of both streams are done. */
      const ROTATE_AFTER = 50;
      /** From this index on, each stream waits for the reload: 30 requests each come after it. */
      const AFTER_RELOAD_FROM = 120;
      const NEW_CONNECTION_WORKERS = 4;

      const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
      const results: Served[] = [];
      let done = 0;
      let rotating = false;
      let reloadSeen = false;
      let rotation: Promise<ReloadOutcome> | undefined;
      let openGate: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => (openGate = resolve));

      const rotate = async (): Promise<ReloadOutcome> => {
        const reload = nextReload(service);
        rotating = true;
        await rotateFiles(files, { cert: next.cert, key: next.key });
        const outcome = await reload;
        reloadSeen = true;
        openGate();
        return outcome;
      };
      const one = async (stream: Served['stream'], index: number): Promise<void> => {
        if (index >= AFTER_RELOAD_FROM) await gate;
        const result = await get(app.url, clientTls(), stream === 'keep-alive' ? keepAlive : false);
        results.push({ stream, index, ...result, duringRotation: rotating && !reloadSeen });
        done += 1;
        if (done === ROTATE_AFTER) rotation = rotate();
      };
      const keepAliveStream = async (): Promise<void> => {
        for (let index = 0; index < PER_STREAM; index += 1) await one('keep-alive', index);
      };
      let nextIndex = 0;
      const newConnectionWorker = async (): Promise<void> => {
        while (nextIndex < PER_STREAM) {
          const index = nextIndex;
          nextIndex += 1;
          await one('new-connection', index);
        }
      };
      try {
        await Promise.all([
          keepAliveStream(),
          ...Array.from({ length: NEW_CONNECTION_WORKERS }, newConnectionWorker),
        ]);
      } finally {
        keepAlive.destroy();
      }

      expect(await rotation).toEqual({
        kind: 'reloaded',
        status: expect.objectContaining({
          certificateFingerprint: newFingerprint,
          lastError: undefined,
        }) as unknown,
      });
      expect(results).toHaveLength(2 * PER_STREAM);
      expect(results.filter((served) => served.status !== 200)).toEqual([]);
      // Requests were in flight while the files were replaced and the watcher settled.
      expect(results.filter((served) => served.duringRotation).length).toBeGreaterThan(0);

      const overKeepAlive = results.filter((served) => served.stream === 'keep-alive');
      expect(new Set(overKeepAlive.map((served) => served.socket)).size).toBe(1);
      // The one connection was opened before the rotation, and kept its certificate after it.
      expect(new Set(overKeepAlive.map((served) => served.fingerprint))).toEqual(
        new Set([oldFingerprint]),
      );
      expect(overKeepAlive.filter((served) => served.index >= AFTER_RELOAD_FROM)).toHaveLength(
        PER_STREAM - AFTER_RELOAD_FROM,
      );

      const overNewConnections = results.filter((served) => served.stream === 'new-connection');
      for (const served of overNewConnections) {
        expect([oldFingerprint, newFingerprint]).toContain(served.fingerprint);
      }
      expect(
        overNewConnections
          .filter((served) => served.index >= AFTER_RELOAD_FROM)
          .map((served) => served.fingerprint),
      ).toEqual(Array.from({ length: PER_STREAM - AFTER_RELOAD_FROM }, () => newFingerprint));
      await expect(presentedFingerprint(app.url, clientTls())).resolves.toBe(newFingerprint);
    },
    TEST_TIMEOUT_MS,
  );

  /** A rotation that must be refused: what is written, and the file the error names. */
  interface BadRotation {
    readonly name: string;
    readonly write: (files: { certFile: string; keyFile: string }) => Promise<void>;
    readonly file: 'certFile' | 'keyFile';
    readonly problem: RegExp;
  }

  const BAD_ROTATIONS: readonly BadRotation[] = [
    {
      name: 'a key that does not match the certificate',
      write: async (files) => rotateFiles(files, { key: (await newServerCertificate()).key }),
      file: 'keyFile',
      problem: /does not match the certificate/,
    },
    {
      name: 'a certificate file that holds no PEM certificate',
      write: (files) => rotateFiles(files, { cert: 'not a certificate\n' }),
      file: 'certFile',
      problem: /holds no PEM certificate/,
    },
    {
      name: 'a certificate file that is gone',
      write: (files) => rm(files.certFile),
      file: 'certFile',
      problem: /does not exist/,
    },
  ];

  it.each(BAD_ROTATIONS)(
    'refuses $name: reloadFailed naming the file, the old certificate stays, a later good write recovers',
    async (bad) => {
      const { app, service, files, logs } = await bootWatching();
      const oldFingerprint = fingerprintOf(pki.server);
      const file = files[bad.file];

      const failed = nextReload(service);
      await bad.write(files);
      const outcome = await failed;
      expect(outcome.kind).toBe('reloadFailed');
      const { error } = outcome as Extract<ReloadOutcome, { kind: 'reloadFailed' }>;
      expect(error).toMatchObject({ code: SecureApiErrorCode.TLS_CONFIG_INVALID, file });
      expect(error.message).toContain(`"${file}"`);
      expect(error.message).toMatch(bad.problem);
      expect(logs.entries.filter((entry) => entry.level === 'error')).toEqual([
        expect.objectContaining({ message: expect.stringContaining(`"${file}"`) as unknown }),
      ]);
      expect(service.status()).toMatchObject({
        certificateFingerprint: oldFingerprint,
        lastError: error.message,
      });
      await expect(presentedFingerprint(app.url, clientTls())).resolves.toBe(oldFingerprint);

      const next = await newServerCertificate();
      const recovered = nextReload(service);
      await rotateFiles(files, { cert: next.cert, key: next.key });
      expect(await recovered).toMatchObject({
        kind: 'reloaded',
        status: { certificateFingerprint: fingerprintOf(next), lastError: undefined },
      });
      await expect(presentedFingerprint(app.url, clientTls())).resolves.toBe(fingerprintOf(next));
    },
    TEST_TIMEOUT_MS,
  );

  // A session ticket carries the verification of the handshake it came from: resumed, a client
  // is not checked against the CA and CRL again. Trust files that changed must end the sessions
  // verified against the old ones, or a revoked client keeps resuming (a TLS 1.3 resumption
  // gets fresh tickets) until the ticket key is replaced.
  it(
    'does not resume, after a CRL rotation that revokes a client, a session from before it',
    async () => {
      const revocable = await pki.client(PEERS.thumbnailer);
      const written = await pki.writeTo(await mkdtemp(join(root, 'crl-')), {}, { withCrl: true });
      const { crlFile } = written;
      if (crlFile === undefined) throw new Error('writeTo() wrote no CRL');
      const { app, service } = await bootWatching({
        certFile: written.certFile,
        keyFile: written.keyFile,
        caFile: written.caFile,
        crlFile,
      });
      const tls: ClientTls = { ca: pki.ca.cert, cert: revocable.cert, key: revocable.key };
      const ok = expect.stringMatching(/^HTTP\/1\.1 200 /) as unknown;

      const first = await connectOnce(app.url, tls);
      expect(first).toMatchObject({ reused: false, response: ok });
      // The control: before the rotation, the ticket resumes.
      const resumed = await connectOnce(app.url, tls, first.session);
      expect(resumed).toMatchObject({ reused: true, response: ok });

      await pki.revoke(revocable);
      const reload = nextReload(service);
      await rename(await staged(crlFile, await pki.crl(), 0o644), crlFile);
      expect(await reload).toMatchObject({ kind: 'reloaded' });
      // The new CRL is in force for a full handshake…
      expect(await connectOnce(app.url, tls)).toMatchObject({ reused: false, response: '' });
      // …and a ticket from before it must not stand in for one.
      expect(await connectOnce(app.url, tls, resumed.session ?? first.session)).toMatchObject({
        reused: false,
        response: '',
      });
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'picks up a Kubernetes secret update: the "..data" symlink swapped to a new version folder',
    async () => {
      // The kubelet's layout: server.crt -> ..data/server.crt, ..data -> ..v1; an update writes
      // ..v2, points a new symlink at it and renames that over ..data.
      const mount = await mkdtemp(join(root, 'secret-'));
      const version = async (name: string, server: TestCertificate): Promise<void> => {
        await mkdir(join(mount, name));
        await writeFile(join(mount, name, 'server.crt'), server.cert);
        await writeFile(join(mount, name, 'server.key'), server.key, { mode: 0o600 });
        await writeFile(join(mount, name, 'ca.crt'), pki.ca.cert);
      };
      await version('..v1', pki.server);
      await symlink('..v1', join(mount, '..data'));
      for (const name of ['server.crt', 'server.key', 'ca.crt']) {
        await symlink(join('..data', name), join(mount, name));
      }
      const { app, service } = await bootWatching({
        certFile: join(mount, 'server.crt'),
        keyFile: join(mount, 'server.key'),
        caFile: join(mount, 'ca.crt'),
      });
      await expect(presentedFingerprint(app.url, clientTls())).resolves.toBe(
        fingerprintOf(pki.server),
      );

      const next = await newServerCertificate();
      await version('..v2', next);
      const reload = nextReload(service);
      await symlink('..v2', join(mount, '..data_tmp'));
      await rename(join(mount, '..data_tmp'), join(mount, '..data'));
      expect(await reload).toMatchObject({
        kind: 'reloaded',
        status: { certificateFingerprint: fingerprintOf(next) },
      });
      await expect(presentedFingerprint(app.url, clientTls())).resolves.toBe(fingerprintOf(next));
    },
    TEST_TIMEOUT_MS,
  );
});
