import { ApiProperty } from '@nestjs/swagger';
import { THUMBNAIL_FORMATS, type ThumbnailFormat } from './thumbnail-parameters.js';

/** Answer of `POST /v1/thumbnails` (`201`); also its OpenAPI schema. */
export class ThumbnailCreatedDto {
  @ApiProperty({
    description:
      'Key of the thumbnail in `processed-thumbnails/`; the same request always gives the same key',
    example: 'thumbnails/3f0c…e1.webp',
  })
  key!: string;

  @ApiProperty({ description: 'Width of the thumbnail, in pixels', type: 'integer' })
  width!: number;

  @ApiProperty({ description: 'Height of the thumbnail, in pixels', type: 'integer' })
  height!: number;

  @ApiProperty({ description: 'Format of the thumbnail', enum: THUMBNAIL_FORMATS })
  format!: ThumbnailFormat;

  @ApiProperty({ description: 'Size of the thumbnail, in bytes', type: 'integer' })
  bytes!: number;
}
