import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse } from '@nestjs/swagger';
import { CurrentPrincipal, type Principal, Scopes } from '@secure-api/nestjs';
import { ThumbnailListDto } from './thumbnail-list.dto.js';

/** Thumbnails. The skeleton lists none yet; storage and processing arrive with the full sample. */
@Controller('thumbnails')
export class ThumbnailsController {
  @Scopes('thumbnails.read')
  @ApiOkResponse({ type: ThumbnailListDto })
  @Get()
  list(@CurrentPrincipal() principal: Principal): ThumbnailListDto {
    return { items: [], subject: principal.subject };
  }
}
