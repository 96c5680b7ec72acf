import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { CreateThumbnailDto } from './create-thumbnail.dto.js';

// The options of the global SecureValidationPipe that matter here.
const OPTIONS = { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true };

async function failedProperties(body: Record<string, unknown>): Promise<string[]> {
  const errors = await validate(plainToInstance(CreateThumbnailDto, body), OPTIONS);
  return errors.map((error) => error.property);
}

const valid = { sourceKey: 'user-42/holiday.jpg', width: 320 };

describe('CreateThumbnailDto', () => {
  it.each<[string, Record<string, unknown>]>([
    ['the minimum body', valid],
    ['every field', { ...valid, height: 240, fit: 'cover', format: 'avif' }],
    ['the smallest box', { ...valid, width: 16, height: 16 }],
    ['the largest box', { ...valid, width: 2048, height: 2048 }],
    ['a 512-character key', { ...valid, sourceKey: 'a'.repeat(512) }],
    ['a key with dots inside segments', { ...valid, sourceKey: 'a.b/c..d/e.f.jpg' }],
    ['a key of one character', { ...valid, sourceKey: 'a' }],
    // @IsOptional() lets null through as "absent"; the service treats it so.
    ['null optional fields', { ...valid, height: null, fit: null, format: null }],
    ...(['cover', 'contain', 'inside'] as const).map((fit): [string, Record<string, unknown>] => [
      `fit ${fit}`,
      { ...valid, fit },
    ]),
    ...(['webp', 'jpeg', 'png', 'avif'] as const).map(
      (format): [string, Record<string, unknown>] => [`format ${format}`, { ...valid, format }],
    ),
  ])('accepts %s', async (_name, body) => {
    await expect(failedProperties(body)).resolves.toEqual([]);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['a missing sourceKey', { width: 320 }, 'sourceKey'],
    ['a numeric sourceKey', { ...valid, sourceKey: 42 }, 'sourceKey'],
    ['an empty sourceKey', { ...valid, sourceKey: '' }, 'sourceKey'],
    ['a .. segment inside', { ...valid, sourceKey: 'a/../b' }, 'sourceKey'],
    ['a leading .. segment', { ...valid, sourceKey: '../x' }, 'sourceKey'],
    ['a trailing .. segment', { ...valid, sourceKey: 'a/..' }, 'sourceKey'],
    ['a leading . segment', { ...valid, sourceKey: './x' }, 'sourceKey'],
    ['a . segment inside', { ...valid, sourceKey: 'a/./b' }, 'sourceKey'],
    ['an absolute key', { ...valid, sourceKey: '/abs' }, 'sourceKey'],
    ['a trailing slash', { ...valid, sourceKey: 'a/' }, 'sourceKey'],
    ['an empty segment', { ...valid, sourceKey: 'a//b' }, 'sourceKey'],
    ['a backslash', { ...valid, sourceKey: 'a\\b' }, 'sourceKey'],
    ['a backslash traversal', { ...valid, sourceKey: 'a\\..\\b' }, 'sourceKey'],
    ['a NUL', { ...valid, sourceKey: 'a\u0000.png' }, 'sourceKey'],
    ['a newline', { ...valid, sourceKey: 'a\n.png' }, 'sourceKey'],
    ['a percent-encoded traversal', { ...valid, sourceKey: 'a/%2e%2e/b' }, 'sourceKey'],
    ['a space', { ...valid, sourceKey: 'a b.png' }, 'sourceKey'],
    ['a non-ASCII character', { ...valid, sourceKey: 'café.png' }, 'sourceKey'],
    ['a 513-character key', { ...valid, sourceKey: 'a'.repeat(513) }, 'sourceKey'],
    ['a missing width', { sourceKey: 'a.png' }, 'width'],
    ['width 15', { ...valid, width: 15 }, 'width'],
    ['width 2049', { ...valid, width: 2049 }, 'width'],
    ['width 1.5', { ...valid, width: 1.5 }, 'width'],
    ['width 100.5', { ...valid, width: 100.5 }, 'width'],
    ['width "100" (no implicit conversion)', { ...valid, width: '100' }, 'width'],
    ['width NaN', { ...valid, width: Number.NaN }, 'width'],
    ['width Infinity', { ...valid, width: Number.POSITIVE_INFINITY }, 'width'],
    ['height 15', { ...valid, height: 15 }, 'height'],
    ['height 2049', { ...valid, height: 2049 }, 'height'],
    ['height "240"', { ...valid, height: '240' }, 'height'],
    ['an unknown fit', { ...valid, fit: 'fill' }, 'fit'],
    ['a fit in capitals', { ...valid, fit: 'COVER' }, 'fit'],
    ['an unknown format', { ...valid, format: 'gif' }, 'format'],
    ['format svg', { ...valid, format: 'svg' }, 'format'],
    ['an unknown property', { ...valid, quality: 90 }, 'quality'],
  ])('refuses %s', async (_name, body, property) => {
    await expect(failedProperties(body)).resolves.toEqual([property]);
  });
});
