import { Controller, Get } from '@nestjs/common';
import { CurrentPrincipal, type Principal, Scopes } from '@secure-api/nestjs';

/** Thumbnails. The skeleton lists none yet; storage and processing arrive with the full sample. */
@Controller('thumbnails')
export class ThumbnailsController {
  @Scopes('thumbnails.read')
  @Get()
  list(@CurrentPrincipal() principal: Principal): { items: never[]; subject: string | undefined } {
    return { items: [], subject: principal.subject };
  }
}
