import { Throttle } from '@nestjs/throttler';

/** The preset of {@link ThrottleLogin}: 5 requests per minute. */
export const LOGIN_LIMIT = Object.freeze({ limit: 5, ttl: 60_000 });

/**
 * The preset for login-like routes (password checks, token exchanges, one-time codes): at most
 * 5 requests per minute per client address, counted for this route apart from the address's
 * other requests, and refused for a minute once over. `tier` names the module's `by: 'ip'` tier.
 *
 * @example
 * @Public()
 * @ThrottleLogin()
 * @Post('login')
 * login(@Body() credentials: LoginDto) { … }
 */
export function ThrottleLogin(tier = 'ip'): ReturnType<typeof Throttle> {
  return Throttle({ [tier]: { ...LOGIN_LIMIT, blockDuration: LOGIN_LIMIT.ttl } });
}
