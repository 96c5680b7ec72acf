import {
  booleanOption,
  isRecord,
  knownKeys,
  OptionsError,
  positiveInteger,
} from '../option-checks.js';

/**
 * Whether the server asks for a client certificate:
 * - `'require'`: the handshake fails without a valid one (mutual TLS);
 * - `'optional'`: a client may send none, but a certificate that is sent must verify, else the
 *   connection is closed (Node alone would let it through unverified);
 * - `'none'`: server-only TLS.
 */
export type ClientCertificateMode = 'require' | 'optional' | 'none';

/**
 * The server's TLS files, for {@link createHttpsOptions} and for the module's `tls` option.
 * Paths are read at boot (and on rotation), never at request time.
 */
export interface TlsFileOptions {
  /** PEM server certificate, optionally followed by its intermediates. */
  certFile: string;
  /** PEM private key of `certFile` (PKCS#8, SEC1 or PKCS#1). */
  keyFile: string;
  /**
   * PEM CA certificates that client certificates must chain to. Required unless
   * `clientCertificate` is `'none'`; only these are trusted, never the system store.
   */
  caFile?: string;
  /** @default 'require' */
  clientCertificate?: ClientCertificateMode;
  /**
   * PEM CRL of the CA. With it, a revoked client certificate fails the handshake; an expired
   * CRL (past `nextUpdate`) fails the boot or the rotation, since OpenSSL would then refuse
   * every client.
   * @default undefined (no revocation check)
   */
  crlFile?: string;
}

/** The module's `tls` option: the same files, plus rotation and the peer allowlist. */
export interface TlsOptions extends TlsFileOptions {
  /**
   * Watch the files (their folders, so that an atomic rename or a Kubernetes secret update is
   * seen) and swap them into the running server with `setSecureContext()`: new handshakes use
   * the new files, open connections stay. Files that fail to load leave the old ones in place
   * and log an error.
   * @default false
   */
  watch?: boolean;
  /**
   * Peers that may call any route, by SPIFFE ID (`'spiffe://example.org/sa/uploader'`) or DNS
   * name (`'dns:uploader.internal'`), matched exactly. A request without a verified client
   * certificate, or with another identity, is a 403. `@AllowPeers()` narrows it per route.
   * @default undefined (any verified peer)
   */
  allowedPeers?: readonly string[];
  /**
   * How often the session-ticket key is replaced. Tickets let clients resume a session without
   * a full handshake; a fresh key limits how much traffic one leaked key exposes (a resumed
   * TLS 1.2 session has no forward secrecy against the ticket key).
   * @default 3_600_000 (one hour)
   */
  ticketKeyRotationMs?: number;
}

/** The `tls` option after defaults and validation; frozen. */
export interface ResolvedTlsOptions {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string | undefined;
  readonly clientCertificate: ClientCertificateMode;
  readonly crlFile: string | undefined;
  readonly watch: boolean;
  readonly allowedPeers: readonly string[] | undefined;
  readonly ticketKeyRotationMs: number;
}

const FILE_KEYS = ['certFile', 'keyFile', 'caFile', 'clientCertificate', 'crlFile'] as const;
const MODULE_KEYS = [...FILE_KEYS, 'watch', 'allowedPeers', 'ticketKeyRotationMs'] as const;

/** SPIFFE ID syntax (SPIFFE-ID §2): lowercase trust domain, a path, no query or fragment. */
const SPIFFE_ID = /^spiffe:\/\/[a-z0-9._-]+(\/[A-Za-z0-9._-]+)+$/;
const DNS_PEER =
  /^dns:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * Checks one peer pattern of `allowedPeers` or `@AllowPeers()`: a SPIFFE ID or `dns:` name.
 * @returns the error's problem, or undefined when it is well formed
 */
export function peerPatternProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'must be a string';
  if (value.startsWith('spiffe://')) {
    return SPIFFE_ID.test(value)
      ? undefined
      : "must be a SPIFFE ID with a lowercase trust domain and a path, e.g. 'spiffe://example.org/sa/uploader'";
  }
  if (value.startsWith('dns:')) {
    return DNS_PEER.test(value) ? undefined : "must be a DNS name, e.g. 'dns:uploader.internal'";
  }
  return "must start with 'spiffe://' or 'dns:'";
}

function filePath(value: unknown, path: string, required: boolean): string | undefined {
  if (value === undefined && !required) return undefined;
  if (typeof value !== 'string' || value.trim() === '') {
    throw new OptionsError(path, 'must be the path of a PEM file');
  }
  return value;
}

/** Validates the file members shared by {@link createHttpsOptions} and the module option. */
export function resolveTlsFileOptions(
  value: unknown,
  path: string,
  extraKeys: readonly string[] = [],
): Omit<ResolvedTlsOptions, 'watch' | 'allowedPeers' | 'ticketKeyRotationMs'> {
  if (!isRecord(value)) {
    throw new OptionsError(
      path,
      'must be an object',
      "{ certFile: 'server.crt', keyFile: 'server.key', caFile: 'ca.crt' }",
    );
  }
  knownKeys(value, path, [...FILE_KEYS, ...extraKeys]);
  const clientCertificate = value.clientCertificate ?? 'require';
  if (
    clientCertificate !== 'require' &&
    clientCertificate !== 'optional' &&
    clientCertificate !== 'none'
  ) {
    throw new OptionsError(`${path}.clientCertificate`, "must be 'require', 'optional' or 'none'");
  }
  const caFile = filePath(value.caFile, `${path}.caFile`, clientCertificate !== 'none');
  const crlFile = filePath(value.crlFile, `${path}.crlFile`, false);
  if (crlFile !== undefined && clientCertificate === 'none') {
    throw new OptionsError(
      `${path}.crlFile`,
      "has no effect when clientCertificate is 'none'",
      'drop crlFile, or ask for client certificates',
    );
  }
  return {
    certFile: filePath(value.certFile, `${path}.certFile`, true) as string,
    keyFile: filePath(value.keyFile, `${path}.keyFile`, true) as string,
    caFile,
    clientCertificate,
    crlFile,
  };
}

/** Resolves the module's `tls` option; `undefined` when the module does not manage TLS. */
export function resolveTlsOptions(value: unknown): ResolvedTlsOptions | undefined {
  if (value === undefined || value === false) return undefined;
  const files = resolveTlsFileOptions(value, 'tls', MODULE_KEYS.slice(FILE_KEYS.length));
  const record = value as Record<string, unknown>;
  let allowedPeers: string[] | undefined;
  if (record.allowedPeers !== undefined) {
    if (!Array.isArray(record.allowedPeers) || record.allowedPeers.length === 0) {
      throw new OptionsError(
        'tls.allowedPeers',
        'must be a non-empty array',
        "e.g. allowedPeers: ['spiffe://example.org/sa/uploader'], or leave it out",
      );
    }
    record.allowedPeers.forEach((peer: unknown, index) => {
      const problem = peerPatternProblem(peer);
      if (problem !== undefined) throw new OptionsError(`tls.allowedPeers[${index}]`, problem);
    });
    if (files.clientCertificate === 'none') {
      throw new OptionsError(
        'tls.allowedPeers',
        "needs client certificates, but clientCertificate is 'none'",
        "set clientCertificate: 'require'",
      );
    }
    allowedPeers = [...new Set(record.allowedPeers as string[])];
  }
  return Object.freeze({
    ...files,
    watch: booleanOption(record.watch, 'tls.watch', false),
    allowedPeers: allowedPeers === undefined ? undefined : Object.freeze(allowedPeers),
    ticketKeyRotationMs: positiveInteger(
      record.ticketKeyRotationMs,
      'tls.ticketKeyRotationMs',
      3_600_000,
      86_400_000,
    ),
  });
}
