import { Reflector } from '@nestjs/core';

// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). Checking at decoration time
// keeps the scopes safe to quote in a WWW-Authenticate challenge.
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

function validateScopes(scopes: string[]): readonly string[] {
  for (const scope of scopes) {
    if (typeof scope !== 'string' || !SCOPE_TOKEN.test(scope)) {
      throw new TypeError(
        `@Scopes(): ${JSON.stringify(scope)} is not a valid scope token (RFC 6749 §3.3: printable ASCII without spaces, quotes or backslashes)`,
      );
    }
  }
  return Object.freeze([...scopes]);
}

/**
 * Scopes a route requires, on a controller or a handler: the token must carry every one
 * (exact, case-sensitive match). Class and handler scopes add up. A missing scope is a 403
 * with `WWW-Authenticate: Bearer error="insufficient_scope", scope="…"`.
 *
 * `@Scopes()` with no scope declares a route that any valid token may call.
 *
 * With `@nestjs/swagger`, `applySecureApiOpenApi()` publishes these scopes as each
 * operation's security requirement, read by the same logic the guards use.
 *
 * @example
 * @Scopes('profile.read')
 * @Controller('profile')
 * class ProfileController {
 *   @Get() read() {}
 *   @Scopes('profile.write') @Put() write() {}   // needs profile.read and profile.write
 * }
 */
export const Scopes = (...scopes: string[]): ClassDecorator & MethodDecorator =>
  ScopesMetadata(validateScopes(scopes));

/** The metadata decorator behind {@link Scopes}; read it with `Reflector`. */
export const ScopesMetadata = Reflector.createDecorator<readonly string[]>();
