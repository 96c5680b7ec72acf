import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** A page of thumbnails, as `GET /thumbnails` returns it; also its OpenAPI schema. */
export class ThumbnailListDto {
  @ApiProperty({ type: [String], description: 'Thumbnail ids; none until storage arrives' })
  items!: never[];

  @ApiPropertyOptional({ description: 'The `sub` of the caller’s access token' })
  subject!: string | undefined;
}
