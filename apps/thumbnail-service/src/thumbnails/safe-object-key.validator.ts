import {
  registerDecorator,
  type ValidationArguments,
  type ValidationOptions,
} from 'class-validator';

/**
 * Whether `value` is an object key that cannot climb out of its area or name one object in two
 * ways: no `.` or `..` segment, no empty segment (so no leading, trailing or doubled `/`), no
 * backslash and no control character (NUL included).
 */
export function isSafeObjectKey(value: unknown): boolean {
  if (typeof value !== 'string' || value.length === 0) {
    return false;
  }
  // Backslashes are path separators on some storage back ends and proxies; control characters
  // (NUL above all) truncate keys in C-based tools.
  // eslint-disable-next-line no-control-regex
  if (/[\\\u0000-\u001f\u007f]/.test(value)) {
    return false;
  }
  return value.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}

/**
 * Refuses object keys {@link isSafeObjectKey} refuses.
 *
 * @example
 * ```ts
 * class Body {
 *   @IsSafeObjectKey()
 *   sourceKey!: string;
 * }
 * ```
 */
export function IsSafeObjectKey(options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol): void => {
    registerDecorator({
      name: 'isSafeObjectKey',
      target: target.constructor,
      propertyName: String(propertyName),
      options,
      validator: {
        validate: (value: unknown): boolean => isSafeObjectKey(value),
        defaultMessage: (args?: ValidationArguments): string =>
          `${args?.property ?? 'key'} must not contain "." or ".." segments, empty segments, backslashes or control characters`,
      },
    });
  };
}
