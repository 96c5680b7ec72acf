import { Body, Controller, Get, Put } from '@nestjs/common';
import { CurrentPrincipal } from '../auth/current-principal.decorator.js';
import { type Principal } from '../auth/principal.js';
import { Scopes } from '../auth/scopes.decorator.js';
import { AdminPeersRoute } from '../tls/allow-peers.decorator.js';
import { SetLogLevelDto } from './log-level.dto.js';
import {
  LogLevelService,
  type LogLevelState,
  type SetLogLevelResult,
} from './log-level.service.js';

/**
 * `GET` / `PUT /admin/log-level`, scope `logging.admin`: reads the levels in effect, and
 * changes the root's level or one logger name's for a bounded time. The change is logged with
 * the caller's subject. Registered by `SecureApiModule` when `logging.runtimeControl` is true;
 * as an authenticated route, its responses carry `Cache-Control: no-store`. Over mutual TLS,
 * only the peers of `logging.adminPeers` (else `tls.allowedPeers`) may call it.
 *
 * @example
 * PUT /admin/log-level  { "level": "debug", "ttlSeconds": 600 }
 * // 200 { "level": "debug", "previousLevel": "info", "revertsAt": "2026-12-01T12:10:00.000Z" }
 */
@Scopes('logging.admin')
@AdminPeersRoute(true)
@Controller('admin/log-level')
export class LogLevelController {
  constructor(private readonly levels: LogLevelService) {}

  /** The levels in effect: root, default, when the root reverts, and per-name levels. */
  @Get()
  get(): LogLevelState {
    return this.levels.get();
  }

  /** Sets a level for `ttlSeconds`; see {@link LogLevelService.set}. */
  @Put()
  set(
    @Body() body: SetLogLevelDto,
    @CurrentPrincipal() principal: Principal | undefined,
  ): SetLogLevelResult {
    return this.levels.set({
      level: body.level,
      ttlSeconds: body.ttlSeconds,
      logger: body.logger,
      actor: principal?.subject ?? principal?.clientId,
    });
  }
}
