import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import {
  JwksKeyStore,
  Public,
  RateLimiter,
  SecureApiHttpError,
  type JwksStatus,
} from '@secure-api/nestjs';
import { ObjectNotFoundError, UploadReader } from '@secure-api-sample/object-storage';

/** The key the storage probe asks for; it never exists, and "not found" proves access works. */
export const STORAGE_PROBE_KEY = '.health/probe';

/**
 * Liveness and readiness probes (`@nestjs/terminus`); public, and they reveal no configuration:
 * a failed check names the dependency, never its address or error.
 */
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly keys: JwksKeyStore,
    private readonly limiter: RateLimiter,
    private readonly uploads: UploadReader,
  ) {}

  /** The process is up. */
  @Get('live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /**
   * Ready to serve: the issuer's keys are loaded, the upload bucket answers (a `GetObject` of a
   * key that does not exist: the one call the service's IAM policy allows there, and a 404
   * proves the credentials and the network), and Redis answers when rate limits use it.
   * 503 with `Retry-After` otherwise.
   */
  @Get('ready')
  @HealthCheck()
  async ready(): Promise<{ status: 'ok'; checks: Record<string, 'up'> }> {
    try {
      const result = await this.health.check([
        () => this.keysCheck(),
        () => this.storageCheck(),
        () => this.rateLimitStoreCheck(),
      ]);
      return {
        status: 'ok',
        checks: Object.fromEntries(Object.keys(result.info ?? {}).map((name) => [name, 'up'])),
      };
    } catch (error) {
      const down = Object.keys(
        (error as { response?: { error?: Record<string, unknown> } }).response?.error ?? {},
      );
      throw new SecureApiHttpError('ERR_THUMBNAIL_NOT_READY', {
        status: 503,
        title: 'Service Unavailable',
        detail: `Not ready: ${down.length > 0 ? down.join(', ') : 'a dependency'} unavailable.`,
        headers: { 'retry-after': '5' },
        cause: error,
      });
    }
  }

  private keysCheck() {
    const status: JwksStatus = this.keys.status();
    const check = this.indicators.check('issuerKeys');
    return status.ready ? check.up() : check.down();
  }

  private async storageCheck() {
    const check = this.indicators.check('storage');
    try {
      await this.uploads.read(STORAGE_PROBE_KEY, {
        maxBytes: 1,
        signal: AbortSignal.timeout(3000),
      });
      return check.up();
    } catch (error) {
      return error instanceof ObjectNotFoundError ? check.up() : check.down();
    }
  }

  private rateLimitStoreCheck() {
    const check = this.indicators.check('rateLimitStore');
    return this.limiter.storeStatus().ready ? check.up() : check.down();
  }
}
