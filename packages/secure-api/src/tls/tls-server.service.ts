import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Server as TlsServer, type TLSSocket } from 'node:tls';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { SecureApiError } from '../errors/secure-api.error.js';
import { SecureApiErrorCode } from '../errors/secure-api-error-code.js';
import { logSecurityEvent, SecurityEvent } from '../logging/security-event.js';
import { SECURE_API_OPTIONS } from '../secure-api.constants.js';
import { type ResolvedSecureApiOptions } from '../secure-api.options.js';
import { clientCertificateOptions, secureContextOptions } from './https-options.js';
import { TlsFileWatcher } from './tls-file.watcher.js';
import { loadTlsMaterial } from './tls-files.js';
import { type ResolvedTlsOptions } from './tls-options.js';

/** What {@link TlsServerService.status} reports, for readiness probes and dashboards. */
export interface TlsStatus {
  /** SHA-256 fingerprint of the certificate new handshakes present (`AA:BB:…`). */
  readonly certificateFingerprint: string;
  readonly certificateExpiresAt: Date;
  /** When the files were last loaded into the server (boot counts). */
  readonly loadedAt: Date;
  /** The last reload failure's message (it names the file), cleared by a successful reload. */
  readonly lastError: string | undefined;
}

/** Refused handshakes logged per window, before the rest are only counted. */
const REJECTIONS_PER_WINDOW = 20;
const REJECTION_WINDOW_MS = 10_000;

/**
 * Runs the module's side of the TLS server when `tls` is configured: checks at boot that the app
 * serves HTTPS with the configured client-certificate mode, closes connections whose presented
 * certificate did not verify (`'optional'` mode), logs refused handshakes as `mtls.rejected`
 * (at most 20 per 10 s, then a count, so a scan cannot flood the log), replaces the
 * session-ticket key on a timer, and with `watch` swaps rotated files in with
 * `setSecureContext()`.
 *
 * Emits `'reloaded'` (with {@link TlsStatus}) and `'reloadFailed'` (with the error) after each
 * attempt, for tests and metrics.
 */
@Injectable()
export class TlsServerService
  extends EventEmitter<{ reloaded: [TlsStatus]; reloadFailed: [Error] }>
  implements OnApplicationBootstrap, OnApplicationShutdown
{
  private readonly logger = new Logger('SecureApi');
  private readonly tls: ResolvedTlsOptions | undefined;
  private server: TlsServer | undefined;
  private watcher: TlsFileWatcher | undefined;
  private ticketTimer: NodeJS.Timeout | undefined;
  private current: TlsStatus | undefined;
  private rejections = { windowStart: 0, logged: 0, suppressed: 0 };

  constructor(
    @Inject(SECURE_API_OPTIONS) options: ResolvedSecureApiOptions,
    private readonly adapterHost: HttpAdapterHost,
  ) {
    super();
    this.tls = options.tls;
  }

  onApplicationBootstrap(): void {
    const tls = this.tls;
    const adapter = this.adapterHost.httpAdapter as HttpAdapterHost['httpAdapter'] | undefined;
    if (tls === undefined || adapter === undefined) return;
    const server: unknown = adapter.getHttpServer();
    if (!(server instanceof TlsServer)) {
      throw new SecureApiError(
        SecureApiErrorCode.TLS_CONFIG_INVALID,
        'SecureApiModule: "tls" is set but the app does not serve HTTPS. Potential solution: create it with NestFactory.create(AppModule, { httpsOptions: createHttpsOptions(tls) }) (Express) or new FastifyAdapter({ https: createHttpsOptions(tls) }).',
      );
    }
    const expected = clientCertificateOptions(tls.clientCertificate);
    const actual = server as TlsServer & { requestCert?: boolean; rejectUnauthorized?: boolean };
    if (
      Boolean(actual.requestCert) !== expected.requestCert ||
      Boolean(actual.rejectUnauthorized) !== expected.rejectUnauthorized
    ) {
      throw new SecureApiError(
        SecureApiErrorCode.TLS_CONFIG_INVALID,
        `SecureApiModule: the HTTPS server does not ask for client certificates as tls.clientCertificate '${tls.clientCertificate}' says. Potential solution: create the server with createHttpsOptions() of the same tls options.`,
      );
    }
    this.server = server;
    const material = loadTlsMaterial(tls);
    this.current = {
      certificateFingerprint: material.certificate.fingerprint256,
      certificateExpiresAt: material.certificate.validToDate,
      loadedAt: new Date(),
      lastError: undefined,
    };
    // Ahead of the HTTP server's own listener, so that a connection is closed before any of its
    // bytes are parsed as a request.
    server.prependListener('secureConnection', (socket: TLSSocket) => this.screen(socket));
    server.on('tlsClientError', (error: Error & { code?: string }, socket: TLSSocket) =>
      this.handshakeRefused(error, socket),
    );
    this.ticketTimer = setInterval(
      () => server.setTicketKeys(randomBytes(48)),
      tls.ticketKeyRotationMs,
    );
    this.ticketTimer.unref();
    if (tls.watch) {
      const files = [tls.certFile, tls.keyFile, tls.caFile, tls.crlFile].filter(
        (file): file is string => file !== undefined,
      );
      this.watcher = new TlsFileWatcher(files, () => this.reload());
      this.watcher.start();
    }
  }

  onApplicationShutdown(): void {
    this.watcher?.stop();
    clearInterval(this.ticketTimer);
  }

  /** The certificate new handshakes get and the last reload's outcome. */
  status(): TlsStatus | undefined {
    return this.current;
  }

  /**
   * Reads the files again and, when they load, makes them the server's for new handshakes;
   * open connections keep theirs. Session tickets issued before are void (a fresh ticket key),
   * so that a changed CA or CRL applies to every new connection. When they do not, the old ones stay and the error is logged.
   * Called by the watcher; callable by hand (on `SIGHUP`, say).
   *
   * @returns whether the new files are in use
   */
  reload(): boolean {
    const tls = this.tls;
    const server = this.server;
    if (tls === undefined || server === undefined) return false;
    try {
      const material = loadTlsMaterial(tls);
      server.setSecureContext(secureContextOptions(material));
      // Node carries the ticket key over to the new context, and a resumed session is not
      // checked against the CA or CRL again: without a new key, a client revoked by this very
      // rotation would go on resuming its old session until the next scheduled key change.
      server.setTicketKeys(randomBytes(48));
      this.current = {
        certificateFingerprint: material.certificate.fingerprint256,
        certificateExpiresAt: material.certificate.validToDate,
        loadedAt: new Date(),
        lastError: undefined,
      };
      this.logger.log({
        msg: 'TLS files reloaded',
        certificateFingerprint: this.current.certificateFingerprint,
        certificateExpiresAt: this.current.certificateExpiresAt.toISOString(),
      });
      this.emit('reloaded', this.current);
      return true;
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      if (this.current !== undefined)
        this.current = { ...this.current, lastError: failure.message };
      this.logger.error({
        msg: `TLS files not reloaded, the previous ones stay: ${failure.message}`,
      });
      this.emit('reloadFailed', failure);
      return false;
    }
  }

  /**
   * `'optional'` asks for a certificate and, with `rejectUnauthorized: false`, lets one that
   * does not verify finish the handshake; a client that sends one must not be served as
   * anonymous either, since it may be an impostor probing what an unverified identity gets.
   */
  private screen(socket: TLSSocket): void {
    if (socket.authorized || socket.getPeerX509Certificate() === undefined) return;
    this.logRejection(String(socket.authorizationError));
    socket.destroy();
  }

  /**
   * A certificate that does not verify is refused by Node after the handshake, without an
   * alert: the error is then a bare ECONNRESET and the reason is on the socket
   * (`authorizationError`). OpenSSL's own refusals (no certificate, protocol version) come as
   * `ERR_SSL_*` codes. Anything else is a client that went away mid-handshake (a TCP health
   * check, a port scan), not a refused certificate.
   */
  private handshakeRefused(error: Error & { code?: string }, socket: TLSSocket | undefined): void {
    const verifyError = (socket as { authorizationError?: unknown } | undefined)
      ?.authorizationError;
    const code = error.code ?? '';
    if (typeof verifyError === 'string' || verifyError instanceof Error) {
      this.logRejection(verifyError instanceof Error ? verifyError.message : verifyError);
    } else if (code.startsWith('ERR_SSL')) {
      this.logRejection(code);
    }
  }

  private logRejection(reason: string): void {
    const now = Date.now();
    const window = this.rejections;
    if (now - window.windowStart >= REJECTION_WINDOW_MS) {
      if (window.suppressed > 0) {
        logSecurityEvent(
          this.logger,
          SecurityEvent.MTLS_REJECTED,
          'Refused TLS handshakes not logged one by one',
          {
            reason: 'suppressed',
            count: window.suppressed,
          },
        );
      }
      this.rejections = { windowStart: now, logged: 0, suppressed: 0 };
    }
    if (this.rejections.logged >= REJECTIONS_PER_WINDOW) {
      this.rejections.suppressed += 1;
      return;
    }
    this.rejections.logged += 1;
    logSecurityEvent(this.logger, SecurityEvent.MTLS_REJECTED, `TLS handshake refused: ${reason}`, {
      reason,
    });
  }
}
