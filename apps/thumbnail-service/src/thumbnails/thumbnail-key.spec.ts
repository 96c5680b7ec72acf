import { thumbnailKeyFor } from './thumbnail-key.js';
import type { ThumbnailParameters } from './thumbnail-parameters.js';

const base: ThumbnailParameters = {
  sourceKey: 'user-42/holiday.jpg',
  width: 320,
  height: undefined,
  fit: 'inside',
  format: 'webp',
};

describe('thumbnailKeyFor', () => {
  it('is thumbnails/<64 hex digits>.<extension>', () => {
    expect(thumbnailKeyFor(base)).toMatch(/^thumbnails\/[0-9a-f]{64}\.webp$/);
    expect(thumbnailKeyFor({ ...base, format: 'jpeg' })).toMatch(/\.jpg$/);
    expect(thumbnailKeyFor({ ...base, format: 'png' })).toMatch(/\.png$/);
    expect(thumbnailKeyFor({ ...base, format: 'avif' })).toMatch(/\.avif$/);
  });

  it('gives the same key for the same request', () => {
    expect(thumbnailKeyFor({ ...base })).toBe(thumbnailKeyFor(base));
  });

  it.each<[string, Partial<ThumbnailParameters>]>([
    ['source key', { sourceKey: 'user-42/holiday.jpeg' }],
    ['width', { width: 321 }],
    ['height', { height: 320 }],
    ['fit', { fit: 'cover' }],
    ['format', { format: 'png' }],
  ])('gives another key when the %s differs', (_field, change) => {
    expect(thumbnailKeyFor({ ...base, ...change })).not.toBe(thumbnailKeyFor(base));
  });

  it('cannot be made to collide by moving characters between fields', () => {
    // A naive "sourceKey|width" join would give "a|1" + "0" and "a|10" alike.
    expect(thumbnailKeyFor({ ...base, sourceKey: 'a', width: 10 })).not.toBe(
      thumbnailKeyFor({ ...base, sourceKey: 'a","width":1', width: 0 }),
    );
  });

  it.each(['holiday', 'user-42/holiday.jpg', 'a/b/c.png'])(
    'never contains the source key %j',
    (sourceKey) => {
      const key = thumbnailKeyFor({ ...base, sourceKey });
      expect(key).not.toContain(sourceKey);
      expect(key.split('/')).toHaveLength(2);
    },
  );
});
