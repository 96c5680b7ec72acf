import {
  type ArgumentMetadata,
  Inject,
  Injectable,
  type ValidationError,
  ValidationPipe,
} from '@nestjs/common';
import { type FieldError } from '../errors/problem-details.js';
import { SECURE_API_OPTIONS } from '../secure-api.constants.js';
import { type ResolvedSecureApiOptions } from '../secure-api.options.js';
import {
  findPrototypeKeys,
  type RelativeFieldError,
  toFieldErrors,
  validationFailed,
} from './field-errors.js';
import { appendPointer } from './json-pointer.js';

const LOCATIONS: Readonly<Partial<Record<ArgumentMetadata['type'], FieldError['in']>>> = {
  body: 'body',
  query: 'query',
  param: 'path',
};

/** Raised inside the pipe; {@link SecureValidationPipe.transform} adds where it happened. */
class ValidationFailure extends Error {
  constructor(readonly errors: readonly RelativeFieldError[]) {
    super('Validation failed');
  }
}

/**
 * The global validation pipe: Nest's `ValidationPipe` with settings that refuse what a client
 * should not be able to slip through, and errors as `ERR_SECURE_API_VALIDATION_FAILED`
 * problems listing `{ in, pointer, detail }` for each failed check.
 *
 * - `whitelist` + `forbidNonWhitelisted`: a member the DTO does not declare is a 400, not
 *   silently dropped (a client that sends `isAdmin` learns it is not accepted);
 * - `forbidUnknownValues`: a value whose class has no rules is a 400; this is what catches
 *   `@ValidateNested()` without `@Type()`, which would otherwise accept any object;
 * - `transform` without implicit conversion: a DTO instance reaches the handler, but `"12"`
 *   stays a string unless the DTO asks with `@Type(() => Number)`, and primitive parameters
 *   (`@Query('n') n: number`) are passed as received, never through `+value` (which turns
 *   `"0x10"` into 16 and `""` into 0): use `ParseIntPipe` for those;
 * - `validationError: { target: false, value: false }`: no error carries what was sent;
 * - own `__proto__`, `constructor` and `prototype` members anywhere in the value are a 400,
 *   where Nest would delete them silently.
 *
 * Installed with `APP_PIPE` by `SecureApiModule` unless `validation: false`. Values of
 * custom parameter decorators are not validated, as in Nest.
 */
@Injectable()
export class SecureValidationPipe extends ValidationPipe {
  private readonly enabled: boolean;

  constructor(@Inject(SECURE_API_OPTIONS) options: ResolvedSecureApiOptions) {
    super({
      whitelist: true,
      forbidNonWhitelisted: true,
      forbidUnknownValues: true,
      transform: true,
      transformOptions: { enableImplicitConversion: false },
      validationError: { target: false, value: false },
      exceptionFactory: (errors: ValidationError[]) => new ValidationFailure(toFieldErrors(errors)),
    });
    this.enabled = options.validation;
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const location = LOCATIONS[metadata.type];
    if (!this.enabled || location === undefined) return value;
    const base = metadata.data === undefined ? '' : appendPointer('', metadata.data);
    try {
      if (this.toValidate(metadata) && value !== undefined && value !== null) {
        // Nest accepts a primitive or an array where a DTO is expected when the class has no
        // required member; a body of `[]` or `"x"` is never a valid object.
        if (typeof value !== 'object' || Array.isArray(value) || this.isBinary(value)) {
          throw new ValidationFailure([{ pointer: '', detail: 'must be an object' }]);
        }
      }
      return await super.transform(value, metadata);
    } catch (error) {
      if (!(error instanceof ValidationFailure)) throw error;
      throw validationFailed(
        error.errors.map(({ pointer, detail }) => ({
          in: location,
          pointer: base + pointer,
          detail,
        })),
      );
    }
  }

  /** Primitives are passed as received: see the class documentation. */
  protected override transformPrimitive(value: unknown): unknown {
    return value;
  }

  /**
   * Refuses the value if it has any of the members Nest's `stripProtoKeys()` would delete (own
   * `__proto__`, `constructor` or `prototype`, at any depth). A value that passes has none of
   * them, so Nest's own walk, which would only delete them, is not run as well.
   */
  protected override stripProtoKeys(value: unknown): void {
    const found = findPrototypeKeys(value);
    if (found.length > 0) throw new ValidationFailure(found);
  }
}
