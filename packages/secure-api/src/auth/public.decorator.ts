import { Reflector } from '@nestjs/core';

/**
 * Marks a controller or handler as reachable without a token. Every other route requires a
 * valid bearer token and a `@Scopes()` declaration.
 *
 * @example
 * @Public()
 * @Get('health/live')
 * live() { return { status: 'ok' }; }
 */
export const Public = Reflector.createDecorator<void, true>({ transform: () => true });
