import { Body, Controller, HttpCode, Logger, Post, Req } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiTooManyRequestsResponse,
  ApiPayloadTooLargeResponse,
  ApiServiceUnavailableResponse,
  ApiUnprocessableEntityResponse,
  ApiUnsupportedMediaTypeResponse,
} from '@nestjs/swagger';
import { Scopes, SecureApiHttpError } from '@secure-api/nestjs';
import { type IncomingMessage } from 'node:http';
import { CreateThumbnailDto } from './create-thumbnail.dto.js';
import { ThumbnailCreatedDto } from './thumbnail-created.dto.js';
import { httpProblemFor } from './thumbnail-error.mapping.js';
import { ThumbnailService } from './thumbnail.service.js';

/**
 * `POST /v1/thumbnails`, scope `thumbnails.write`, over mutual TLS (the app serves nothing else).
 * The body is checked by the module's validation pipe against {@link CreateThumbnailDto} before
 * this runs; what the image work refuses becomes a problem+json answer with an
 * `ERR_THUMBNAIL_…` code, the error itself only in the log.
 */
@Scopes('thumbnails.write')
@Controller('v1/thumbnails')
export class ThumbnailsController {
  private readonly logger = new Logger('Thumbnails');

  constructor(private readonly thumbnails: ThumbnailService) {}

  /** Makes (or makes again: the key depends only on the request) one thumbnail. */
  @Post()
  @HttpCode(201)
  @ApiBody({ type: CreateThumbnailDto })
  @ApiCreatedResponse({ type: ThumbnailCreatedDto })
  @ApiBadRequestResponse({ description: 'The body does not match the schema' })
  @ApiNotFoundResponse({ description: 'No upload has this source key' })
  @ApiPayloadTooLargeResponse({ description: 'The source image is over 25 MiB' })
  @ApiUnsupportedMediaTypeResponse({
    description: 'The source is not a JPEG, PNG, WebP, GIF or AVIF image',
  })
  @ApiUnprocessableEntityResponse({
    description: 'The source is corrupt or has over 50 megapixels',
  })
  @ApiTooManyRequestsResponse({
    description: 'A rate-limit tier refused the request; see Retry-After',
  })
  @ApiServiceUnavailableResponse({
    description: 'Storage or image workers busy or down; see Retry-After',
  })
  async create(
    @Body() body: CreateThumbnailDto,
    @Req() request: IncomingMessage | { raw: IncomingMessage },
  ): Promise<ThumbnailCreatedDto> {
    // The client going away stops the work that has not started yet.
    const raw = 'raw' in request ? request.raw : request;
    const abort = new AbortController();
    const onClose = (): void => {
      if (!raw.complete || !raw.socket?.writable) abort.abort();
    };
    raw.once('close', onClose);
    try {
      return await this.thumbnails.create(body, { signal: abort.signal });
    } catch (error) {
      throw this.problemFor(error);
    } finally {
      raw.off('close', onClose);
    }
  }

  private problemFor(error: unknown): SecureApiHttpError {
    const problem = httpProblemFor(error);
    if (problem.status >= 500) {
      this.logger.error({ msg: `thumbnail failed: ${problem.code}`, err: error });
    } else {
      this.logger.warn({ msg: `thumbnail refused: ${problem.code}` });
    }
    return new SecureApiHttpError(`ERR_${problem.code}`, {
      status: problem.status,
      title: problem.title,
      detail: problem.detail,
      ...(problem.retryAfterSeconds === undefined
        ? {}
        : { headers: { 'retry-after': String(problem.retryAfterSeconds) } }),
      cause: error,
    });
  }
}
