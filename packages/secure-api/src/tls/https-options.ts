import { constants, randomBytes } from 'node:crypto';
import { type ServerOptions } from 'node:https';
import { type SecureContextOptions } from 'node:tls';
import { loadTlsMaterial, type TlsMaterial } from './tls-files.js';
import {
  type ClientCertificateMode,
  resolveTlsFileOptions,
  type TlsFileOptions,
} from './tls-options.js';

/**
 * The secure-context part of the server options: what `setSecureContext()` takes again on
 * rotation. TLS 1.2 at least (1.3 is preferred by negotiation), the runtime's cipher list in
 * the server's order, no renegotiation (SSL_OP_NO_RENEGOTIATION: a client-initiated
 * renegotiation costs the server a full handshake, CVE-2011-1473).
 */
export function secureContextOptions(
  material: TlsMaterial,
): SecureContextOptions & SecureHttpsOptions {
  return {
    cert: material.cert,
    key: material.key,
    ...(material.ca === undefined ? {} : { ca: material.ca }),
    ...(material.crl === undefined ? {} : { crl: material.crl }),
    minVersion: 'TLSv1.2',
    honorCipherOrder: true,
    secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
  };
}

/** `requestCert` / `rejectUnauthorized` for a client-certificate mode. */
export function clientCertificateOptions(
  mode: ClientCertificateMode,
): Pick<ServerOptions, 'requestCert' | 'rejectUnauthorized'> {
  return { requestCert: mode !== 'none', rejectUnauthorized: mode === 'require' };
}

/**
 * What {@link createHttpsOptions} returns: a subset of `https.ServerOptions` that both
 * `NestFactory.create(…, { httpsOptions })` and `new FastifyAdapter({ https })` accept as it is.
 */
export type SecureHttpsOptions = Pick<
  ServerOptions,
  | 'cert'
  | 'key'
  | 'ca'
  | 'crl'
  | 'minVersion'
  | 'honorCipherOrder'
  | 'secureOptions'
  | 'requestCert'
  | 'rejectUnauthorized'
  | 'ticketKeys'
>;

/**
 * The options for `NestFactory.create(AppModule, { httpsOptions })` or
 * `new FastifyAdapter({ https })`: the server's certificate and key, the CA that client
 * certificates must chain to (the system store is never trusted for clients), the CRL when
 * given, TLS 1.2 minimum, no renegotiation, session resumption with tickets (the key is
 * replaced every `tls.ticketKeyRotationMs` when the module manages the server).
 *
 * The files are read and checked now: a missing file, a key that does not match the
 * certificate, an expired certificate, CA or CRL fails with a message naming the file.
 *
 * With `clientCertificate: 'optional'`, Node lets a certificate that does not verify through;
 * `SecureApiModule` with the same `tls` option closes such connections. Peer identities and
 * certificate-bound tokens need the module's `tls` option as well.
 *
 * @throws SecureApiError `ERR_SECURE_API_INVALID_OPTIONS` for a malformed option,
 *   `ERR_SECURE_API_TLS_CONFIG_INVALID` for a file that cannot be used
 *
 * @example
 * const tls = { certFile: '.dev/pki/server.crt', keyFile: '.dev/pki/server.key', caFile: '.dev/pki/ca.crt' };
 * const app = await NestFactory.create(AppModule, { httpsOptions: createHttpsOptions(tls) });
 * // and in the root module: SecureApiModule.forRoot({ auth, tls: { ...tls, watch: true } })
 */
export function createHttpsOptions(tls: TlsFileOptions): SecureHttpsOptions {
  const files = resolveTlsFileOptions(tls, 'tls', ['watch', 'allowedPeers', 'ticketKeyRotationMs']);
  return {
    ...secureContextOptions(loadTlsMaterial(files)),
    ...clientCertificateOptions(files.clientCertificate),
    // An explicit key rather than Node's per-process default, so that the module can replace it.
    ticketKeys: randomBytes(48),
  };
}
