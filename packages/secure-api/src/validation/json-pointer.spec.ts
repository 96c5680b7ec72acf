import { appendPointer, escapePointerToken, pointerOf } from './json-pointer.js';

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

  it('makes the pointer of a walk path from the root down, escaping each name', () => {
    expect(pointerOf(undefined)).toBe('');
    const items = { key: 'items', up: undefined };
    const second = { key: '1', up: items };
    expect(pointerOf({ key: 'a/b~c', up: second })).toBe('/items/1/a~1b~0c');
    // Siblings share the path above them.
    expect(pointerOf({ key: 'name', up: second })).toBe('/items/1/name');
  });
});
