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
