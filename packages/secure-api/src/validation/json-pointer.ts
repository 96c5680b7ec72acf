/**
 * Escapes one reference token of a JSON Pointer (RFC 6901 §3): `~` becomes `~0` and `/`
 * becomes `~1`, in that order, so that `~1` in a name is not read back as `/`.
 */
export function escapePointerToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * Appends a member name or array index to a JSON Pointer.
 *
 * @example appendPointer('/items', 0) // '/items/0'
 * @example appendPointer('', 'a/b') // '/a~1b'
 */
export function appendPointer(pointer: string, token: string | number): string {
  return `${pointer}/${escapePointerToken(String(token))}`;
}

/**
 * Where a walk of a value is: the member name (or array index) under the path above it;
 * `undefined` is the root. Walks keep one of these per object they visit and make the JSON
 * Pointer only for what they report, instead of a string per member.
 */
export interface PointerPath {
  readonly key: string;
  readonly up: PointerPath | undefined;
}

/** The JSON Pointer of `path` (`''` for the root). */
export function pointerOf(path: PointerPath | undefined): string {
  const keys: string[] = [];
  for (let at = path; at !== undefined; at = at.up) keys.push(at.key);
  let pointer = '';
  for (let index = keys.length - 1; index >= 0; index -= 1) {
    pointer = appendPointer(pointer, keys[index] as string);
  }
  return pointer;
}
