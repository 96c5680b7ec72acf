import { SecureApiError } from './errors/secure-api.error.js';
import { SecureApiErrorCode } from './errors/secure-api-error-code.js';

/**
 * A module option refused at bootstrap: the message names the option path, what is wrong and,
 * where there is one, how to fix it (`"throttle.tiers[1].ttl" must be a positive integer`).
 */
/** What a set of options configures: the first word of an {@link OptionsError}'s message. */
export type OptionsSubject = 'SecureApiModule' | 'SecureHttpClient';

export class OptionsError extends SecureApiError {
  /**
   * @param subject what the options configure, the message's first word
   */
  constructor(
    path: string,
    problem: string,
    fix?: string,
    cause?: unknown,
    subject: OptionsSubject = 'SecureApiModule',
  ) {
    super(
      SecureApiErrorCode.INVALID_OPTIONS,
      `${subject}: "${path}" ${problem}.${fix ? ` Potential solution: ${fix}.` : ''}`,
      { cause },
    );
  }
}

/** A plain object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A non-empty string, or a non-empty array of them, deduplicated. */
export function nonEmptyStrings(value: unknown, path: string, example: string): string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (
    !Array.isArray(list) ||
    list.length === 0 ||
    !list.every((item): item is string => typeof item === 'string' && item.trim() !== '')
  ) {
    throw new OptionsError(
      path,
      'must be a non-empty string or array of non-empty strings',
      `set it, e.g. ${path.split('.').pop() ?? path}: '${example}'`,
    );
  }
  return [...new Set(list)];
}

/** `fallback` when absent; otherwise a positive integer, at most `max` when given. */
export function positiveInteger(
  value: unknown,
  path: string,
  fallback: number,
  max?: number,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new OptionsError(path, 'must be a positive integer');
  }
  if (max !== undefined && value > max) {
    throw new OptionsError(path, `must be at most ${max}`);
  }
  return value;
}

/** How a refused option value is quoted in a message, without dumping objects. */
export function describeValue(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  if (value instanceof RegExp) return `a RegExp (${String(value)})`;
  if (value === true) return 'true';
  if (Array.isArray(value)) return value.length === 0 ? 'an empty array' : 'an array';
  return typeof value === 'string' ? `'${value}'` : typeof value;
}

/** `fallback` when absent; otherwise `true` or `false`. */
export function booleanOption(
  value: unknown,
  path: string,
  fallback: boolean,
  subject?: OptionsSubject,
): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    throw new OptionsError(path, 'must be true or false', undefined, undefined, subject);
  }
  return value;
}

/**
 * Refuses members the option object does not declare (a typo would otherwise be ignored);
 * `fix` words the potential solution for a given unknown key.
 */
export function knownKeys(
  value: Record<string, unknown>,
  path: string,
  known: Iterable<string>,
  fix: (key: string) => string = () => `use one of ${[...known].join(', ')}`,
  subject?: OptionsSubject,
): void {
  const names = new Set(known);
  for (const key of Object.keys(value)) {
    if (!names.has(key)) {
      throw new OptionsError(`${path}.${key}`, 'is not an option', fix(key), undefined, subject);
    }
  }
}
