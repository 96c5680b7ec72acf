import { type ValidationError } from '@nestjs/common';
import { type FieldError } from '../errors/problem-details.js';
import { SecureApiErrorCode } from '../errors/secure-api-error-code.js';
import { SecureApiHttpError } from '../errors/secure-api-http.error.js';
import { appendPointer, type PointerPath, pointerOf } from './json-pointer.js';

/** A failed check, relative to the value one pipe call validated. */
export interface RelativeFieldError {
  readonly pointer: string;
  readonly detail: string;
}

/**
 * Most entries one response lists. `forbidNonWhitelisted` makes one error per unknown member,
 * so without a cap a body of many small members would buy a response as large as itself.
 */
export const MAX_FIELD_ERRORS = 20;

/**
 * Member names a client may see quoted back in a pointer (printable ASCII, at most 64). An
 * unknown member's name is the client's own input: a long or odd one is reported against its
 * parent object instead, so a rejection never echoes more than a short identifier.
 */
const ECHOABLE_NAME = /^[\x20-\x7e]{1,64}$/;

/** Keys that reach `Object.prototype` through a careless merge or `plainToInstance`. */
const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype'] as const;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * class-validator's messages start with the property name ("width must not be greater than
 * 4096", "each value in tags must be a string"); the pointer already names the member.
 */
function detailOf(constraint: string, message: string, property: string): string {
  if (constraint === 'whitelistValidation') return 'is not allowed';
  // forbidUnknownValues: a nested value whose class declares no rules, typically
  // @ValidateNested() without @Type(), would otherwise pass unchecked.
  if (constraint === 'unknownValue') return 'is not a value this route can validate';
  const lead = new RegExp(
    `^(each value in nested property |each value in |nested property |property )?${escapeRegExp(property)}\\s+`,
  );
  return message.replace(lead, (_match, prefix: string | undefined) =>
    prefix?.startsWith('each value in') === true ? 'each value ' : '',
  );
}

/**
 * Flattens class-validator's error tree into one entry per failed constraint, each with the
 * JSON Pointer of its member (`/items/0/name`), at most {@link MAX_FIELD_ERRORS}.
 *
 * Errors are built with `validationError: { target: false, value: false }`, so neither the
 * object nor the submitted value is in them; the details come from the constraint messages.
 */
export function toFieldErrors(errors: readonly ValidationError[]): RelativeFieldError[] {
  const result: RelativeFieldError[] = [];
  const pending: Array<{ readonly error: ValidationError; readonly parent: string }> = errors
    .map((error) => ({ error, parent: '' }))
    .reverse();
  while (pending.length > 0 && result.length < MAX_FIELD_ERRORS) {
    // The loop condition holds, so there is an item to pop.
    const { error, parent } = pending.pop()!;
    const property = typeof error.property === 'string' ? error.property : '';
    const constraints = Object.entries(error.constraints ?? {});
    const isUnknownMember = constraints.some(([name]) => name === 'whitelistValidation');
    const pointer =
      property === '' || (isUnknownMember && !ECHOABLE_NAME.test(property))
        ? parent
        : appendPointer(parent, property);
    for (const [name, message] of constraints) {
      if (result.length >= MAX_FIELD_ERRORS) break;
      const detail =
        pointer === parent && isUnknownMember
          ? 'has a member that is not allowed'
          : detailOf(name, message, property);
      result.push({ pointer, detail });
    }
    const children = error.children ?? [];
    for (let index = children.length - 1; index >= 0; index -= 1) {
      const child = children[index];
      if (child !== undefined) pending.push({ error: child, parent: pointer });
    }
  }
  return result;
}

/**
 * Finds own `__proto__`, `constructor` and `prototype` members anywhere in a parsed value.
 * `JSON.parse` makes `"__proto__"` an ordinary own member, which Nest's ValidationPipe deletes
 * silently; this package refuses the request instead, so a client that sends one learns it is
 * not accepted and the attempt is visible, rather than half of its body being dropped.
 */
export function findPrototypeKeys(value: unknown): RelativeFieldError[] {
  const found: RelativeFieldError[] = [];
  if (typeof value !== 'object' || value === null) return found;
  const visited = new WeakSet<object>();
  const pending: Visit[] = [{ node: value, path: undefined }];
  while (pending.length > 0 && found.length < MAX_FIELD_ERRORS) {
    // The loop condition holds, so there is an item to pop.
    const visit = pending.pop()!;
    const node = visit.node;
    if (visited.has(node) || ArrayBuffer.isView(node) || node instanceof ArrayBuffer) continue;
    visited.add(node);
    for (const key of PROTOTYPE_KEYS) {
      if (Object.hasOwn(node, key)) {
        found.push({
          pointer: appendPointer(pointerOf(visit.path), key),
          detail: 'is not allowed',
        });
      }
    }
    // Own enumerable names only: the holes of a sparse array are not listed, and an own
    // "__proto__" member is read as itself, never the prototype chain. Only objects are
    // visited; the pointer of one is made only if something is found under it.
    for (const key of Object.keys(node)) {
      const child: unknown = (node as Record<string, unknown>)[key];
      if (typeof child === 'object' && child !== null) {
        pending.push({ node: child, path: { key, up: visit.path } });
      }
    }
  }
  return found.slice(0, MAX_FIELD_ERRORS);
}

/** An object {@link findPrototypeKeys} visits, and where. */
interface Visit {
  readonly node: object;
  readonly path: PointerPath | undefined;
}

/** The `400 ERR_SECURE_API_VALIDATION_FAILED` problem listing `errors`. */
export function validationFailed(errors: readonly FieldError[]): SecureApiHttpError {
  return new SecureApiHttpError(SecureApiErrorCode.VALIDATION_FAILED, {
    status: 400,
    title: 'Validation failed',
    detail:
      errors.length >= MAX_FIELD_ERRORS
        ? `The request does not match what this route accepts; the first ${MAX_FIELD_ERRORS} problems are listed.`
        : 'The request does not match what this route accepts.',
    errors,
  });
}
