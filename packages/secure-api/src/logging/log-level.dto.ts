import { IsIn, IsInt, IsString, Matches, Max, Min, ValidateIf } from 'class-validator';
import { type LevelWithSilent } from 'pino';
import {
  LOG_CONTEXT_PATTERN,
  LOG_LEVEL_TTL_CEILING_SECONDS,
  SETTABLE_LOG_LEVELS,
} from './log-level.service.js';

/**
 * Body of `PUT /admin/log-level`. `ttlSeconds` is bounded here by
 * {@link LOG_LEVEL_TTL_CEILING_SECONDS}; the service then applies the configured
 * `maxTtlSeconds`, with the same 400 problem.
 *
 * @example { "level": "debug", "ttlSeconds": 600 }
 * @example { "level": "trace", "ttlSeconds": 300, "logger": "ThumbnailsService" }
 */
export class SetLogLevelDto {
  /** One of {@link SETTABLE_LOG_LEVELS}. */
  @IsIn(SETTABLE_LOG_LEVELS)
  level!: LevelWithSilent;

  /** How long the level lasts, seconds. */
  @IsInt()
  @Min(1)
  @Max(LOG_LEVEL_TTL_CEILING_SECONDS)
  ttlSeconds!: number;

  /**
   * Only the log calls of this logger name (a Nest logger's `context`); absent: every logger.
   * @default undefined (every logger)
   */
  // Not @IsOptional(): it also skips null, and a null `logger` must not turn a change meant for
  // one logger into a change of every logger.
  @ValidateIf((_dto: SetLogLevelDto, value: unknown) => value !== undefined)
  @IsString()
  @Matches(LOG_CONTEXT_PATTERN)
  logger?: string;
}
