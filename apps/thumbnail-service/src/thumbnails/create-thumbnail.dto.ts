import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { IsSafeObjectKey } from './safe-object-key.validator.js';
import {
  DEFAULT_THUMBNAIL_FIT,
  DEFAULT_THUMBNAIL_FORMAT,
  MAX_SOURCE_KEY_LENGTH,
  MAX_THUMBNAIL_DIMENSION,
  MIN_THUMBNAIL_DIMENSION,
  SOURCE_KEY_PATTERN,
  THUMBNAIL_FITS,
  THUMBNAIL_FORMATS,
  type ThumbnailFit,
  type ThumbnailFormat,
} from './thumbnail-parameters.js';

/**
 * Body of `POST /v1/thumbnails`; also its OpenAPI schema.
 *
 * Numbers are not converted: a JSON body carries numbers, and `"100"` is refused. Defaults of
 * `fit` and `format` are applied by `ThumbnailService`, not here, so the validated body says
 * exactly what the client sent.
 */
export class CreateThumbnailDto {
  @ApiProperty({
    description:
      'Key of the upload in `temp-uploads/`. No `.` or `..` segment, no empty segment, no backslash.',
    pattern: SOURCE_KEY_PATTERN.source,
    maxLength: MAX_SOURCE_KEY_LENGTH,
    example: 'user-42/holiday.jpg',
  })
  @IsString()
  @MaxLength(MAX_SOURCE_KEY_LENGTH)
  @Matches(SOURCE_KEY_PATTERN)
  @IsSafeObjectKey()
  sourceKey!: string;

  @ApiProperty({
    description: 'Width of the box, in pixels',
    type: 'integer',
    minimum: MIN_THUMBNAIL_DIMENSION,
    maximum: MAX_THUMBNAIL_DIMENSION,
    example: 320,
  })
  @IsInt()
  @Min(MIN_THUMBNAIL_DIMENSION)
  @Max(MAX_THUMBNAIL_DIMENSION)
  width!: number;

  @ApiPropertyOptional({
    description: 'Height of the box, in pixels; without it the aspect ratio is kept',
    type: 'integer',
    minimum: MIN_THUMBNAIL_DIMENSION,
    maximum: MAX_THUMBNAIL_DIMENSION,
    example: 240,
  })
  @IsOptional()
  @IsInt()
  @Min(MIN_THUMBNAIL_DIMENSION)
  @Max(MAX_THUMBNAIL_DIMENSION)
  height?: number;

  @ApiPropertyOptional({
    description: 'How the image fits the box (`sharp` semantics); never enlarged',
    enum: THUMBNAIL_FITS,
    default: DEFAULT_THUMBNAIL_FIT,
  })
  @IsOptional()
  @IsIn(THUMBNAIL_FITS)
  fit?: ThumbnailFit;

  @ApiPropertyOptional({
    description: 'Output format',
    enum: THUMBNAIL_FORMATS,
    default: DEFAULT_THUMBNAIL_FORMAT,
  })
  @IsOptional()
  @IsIn(THUMBNAIL_FORMATS)
  format?: ThumbnailFormat;
}
