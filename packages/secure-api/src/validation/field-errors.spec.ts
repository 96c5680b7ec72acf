import { type ValidationError } from '@nestjs/common';
import { findPrototypeKeys, MAX_FIELD_ERRORS, toFieldErrors } from './field-errors.js';

function error(
  property: string | undefined,
  constraints?: Record<string, string>,
  children: ValidationError[] = [],
): ValidationError {
  return { property: property as string, constraints, children };
}

describe('toFieldErrors', () => {
  it('points at nested members and array items, and drops the property name', () => {
    expect(
      toFieldErrors([
        error('quality', { max: 'quality must not be greater than 100' }),
        error('size', undefined, [error('width', { max: 'width must not be greater than 4096' })]),
        error('labels', undefined, [
          error('0', undefined, [
            error('name', { isLength: 'name must be longer than or equal to 1 characters' }),
          ]),
        ]),
        error('tags', { isString: 'each value in tags must be a string' }),
        error('size', { nestedValidation: 'nested property size must be either object or array' }),
      ]),
    ).toEqual([
      { pointer: '/quality', detail: 'must not be greater than 100' },
      { pointer: '/size/width', detail: 'must not be greater than 4096' },
      { pointer: '/labels/0/name', detail: 'must be longer than or equal to 1 characters' },
      { pointer: '/tags', detail: 'each value must be a string' },
      { pointer: '/size', detail: 'must be either object or array' },
    ]);
  });

  it('keeps a custom message that does not start with the property name', () => {
    expect(toFieldErrors([error('fit', { isEnum: 'pick cover or contain' })])).toEqual([
      { pointer: '/fit', detail: 'pick cover or contain' },
    ]);
  });

  it('escapes an unknown member name (RFC 6901) and never quotes a long one', () => {
    const long = 'k'.repeat(65);
    expect(
      toFieldErrors([
        error('a/b~c', { whitelistValidation: 'property a/b~c should not exist' }),
        error(long, { whitelistValidation: `property ${long} should not exist` }),
        error('labels', undefined, [
          error('0', undefined, [
            error('\u0000x', { whitelistValidation: 'property \u0000x should not exist' }),
          ]),
        ]),
      ]),
    ).toEqual([
      { pointer: '/a~1b~0c', detail: 'is not allowed' },
      { pointer: '', detail: 'has a member that is not allowed' },
      { pointer: '/labels/0', detail: 'has a member that is not allowed' },
    ]);
  });

  it('reports a nested value of a class without rules at its own member', () => {
    expect(
      toFieldErrors([
        error('size', undefined, [
          error(undefined, {
            unknownValue: 'an unknown value was passed to the validate function',
          }),
        ]),
      ]),
    ).toEqual([{ pointer: '/size', detail: 'is not a value this route can validate' }]);
  });

  it(`lists at most ${MAX_FIELD_ERRORS} errors`, () => {
    const many = Array.from({ length: 50 }, (_, index) =>
      error(`m${index}`, { whitelistValidation: `property m${index} should not exist` }),
    );
    const listed = toFieldErrors(many);
    expect(listed).toHaveLength(MAX_FIELD_ERRORS);
    expect(listed[0]).toEqual({ pointer: '/m0', detail: 'is not allowed' });
  });
});

describe('findPrototypeKeys', () => {
  it('finds own __proto__, constructor and prototype members at any depth', () => {
    const value: unknown = JSON.parse(
      '{"__proto__":{"x":1},"a":[{"ok":1},{"constructor":{"prototype":{}}}],"b":{"c":"__proto__"}}',
    );
    expect(findPrototypeKeys(value)).toEqual(
      expect.arrayContaining([
        { pointer: '/__proto__', detail: 'is not allowed' },
        { pointer: '/a/1/constructor', detail: 'is not allowed' },
        { pointer: '/a/1/constructor/prototype', detail: 'is not allowed' },
      ]),
    );
    expect(findPrototypeKeys(value)).toHaveLength(3);
  });

  it('points through escaped member names and array items, and looks at arrays too', () => {
    const value = JSON.parse('{"a/b":{"c~d":[{"ok":1},{"prototype":1}]},"list":[]}') as {
      list: unknown[];
    };
    // Not something JSON.parse makes, but a query parser or app code could.
    Object.defineProperty(value.list, '__proto__', { value: 1, enumerable: true });
    expect(findPrototypeKeys(value)).toEqual([
      { pointer: '/list/__proto__', detail: 'is not allowed' },
      { pointer: '/a~1b/c~0d/1/prototype', detail: 'is not allowed' },
    ]);
  });

  it('finds nothing in ordinary values, primitives and binary data', () => {
    expect(findPrototypeKeys({ name: 'constructor', list: ['__proto__'] })).toEqual([]);
    expect(findPrototypeKeys('__proto__')).toEqual([]);
    expect(findPrototypeKeys(undefined)).toEqual([]);
    expect(findPrototypeKeys(Buffer.from('{"__proto__":1}'))).toEqual([]);
  });
});
