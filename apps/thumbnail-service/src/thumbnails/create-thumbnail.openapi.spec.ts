import { Body, Controller, Post } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Test } from '@nestjs/testing';
import { CreateThumbnailDto } from './create-thumbnail.dto.js';
import { ThumbnailCreatedDto } from './thumbnail-created.dto.js';

@Controller('thumbnails')
class SchemaOnlyController {
  @Post()
  create(@Body() _body: CreateThumbnailDto): ThumbnailCreatedDto {
    throw new Error('not called');
  }
}

interface Schema {
  readonly required?: string[];
  readonly properties: Record<string, Record<string, unknown>>;
}

describe('CreateThumbnailDto and ThumbnailCreatedDto in OpenAPI', () => {
  let schemas: Record<string, Schema>;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      controllers: [SchemaOnlyController],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    const document = SwaggerModule.createDocument(app, new DocumentBuilder().build(), {
      extraModels: [ThumbnailCreatedDto],
    });
    schemas = document.components?.schemas as unknown as Record<string, Schema>;
    await app.close();
  });

  it('documents the request: pattern, bounds, enums and defaults', () => {
    const schema = schemas['CreateThumbnailDto'];
    expect(schema?.required?.sort()).toEqual(['sourceKey', 'width']);
    expect(schema?.properties['sourceKey']).toMatchObject({
      type: 'string',
      pattern: '^[A-Za-z0-9][A-Za-z0-9/_.-]{0,511}$',
      maxLength: 512,
    });
    for (const dimension of ['width', 'height']) {
      expect(schema?.properties[dimension]).toMatchObject({
        type: 'integer',
        minimum: 16,
        maximum: 2048,
      });
    }
    expect(schema?.properties['fit']).toMatchObject({
      enum: ['cover', 'contain', 'inside'],
      default: 'inside',
    });
    expect(schema?.properties['format']).toMatchObject({
      enum: ['webp', 'jpeg', 'png', 'avif'],
      default: 'webp',
    });
  });

  it('documents the answer', () => {
    const schema = schemas['ThumbnailCreatedDto'];
    expect(schema?.required?.sort()).toEqual(['bytes', 'format', 'height', 'key', 'width']);
    expect(schema?.properties['format']).toMatchObject({ enum: ['webp', 'jpeg', 'png', 'avif'] });
    expect(schema?.properties['bytes']).toMatchObject({ type: 'integer' });
  });
});
