import { Controller, Get } from '@nestjs/common';
import {
  JwksKeyStore,
  Public,
  SecureApiErrorCode,
  SecureApiHttpError,
  type JwksStatus,
} from '@secure-api/nestjs';

/** Liveness and readiness probes; public, and they reveal no configuration. */
@Public()
@Controller('health')
export class HealthController {
  constructor(private readonly keys: JwksKeyStore) {}

  /** The process is up. */
  @Get('live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** The service can verify tokens: the issuer's keys are loaded. 503 until they are. */
  @Get('ready')
  ready(): { status: 'ok'; keys: number } {
    const status: JwksStatus = this.keys.status();
    if (!status.ready) {
      throw new SecureApiHttpError(SecureApiErrorCode.JWKS_UNAVAILABLE, {
        status: 503,
        title: 'Service Unavailable',
        detail: 'The token issuer keys are not loaded yet.',
        headers: { 'retry-after': '5' },
      });
    }
    return { status: 'ok', keys: status.sources.reduce((sum, s) => sum + s.keyCount, 0) };
  }
}
