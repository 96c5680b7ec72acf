import { appendPointer, escapePointerToken } from './json-pointer.js';

describe('JSON Pointer (RFC 6901)', () => {
  it.each([
    ['width', 'width'],
    ['a/b', 'a~1b'],
    ['m~n', 'm~0n'],
    // "~1" in a name must come back as "~1", not "/": "~" is escaped first (§4).
    ['~1', '~01'],
    ['', ''],
  ])('escapes %j as %j', (token, escaped) => {
    expect(escapePointerToken(token)).toBe(escaped);
  });

  it('builds nested pointers with array indexes', () => {
    expect(appendPointer(appendPointer(appendPointer('', 'items'), 0), 'name')).toBe(
      '/items/0/name',
    );
    expect(appendPointer('', 'a/b')).toBe('/a~1b');
  });
});
