/** The sample's settings, read once from the environment at startup. */
export interface ServiceConfig {
  readonly host: string;
  readonly port: number;
  readonly authIssuer: string;
  readonly authAudience: string;
}

/** Loopback defaults: with nothing set, the service listens and trusts only this machine. */
export const DEFAULTS = {
  host: '127.0.0.1',
  port: 3000,
  authIssuer: 'http://127.0.0.1:9400',
  authAudience: 'https://thumbnails.local',
} as const;

/** Reads `HOST`, `PORT`, `AUTH_ISSUER` and `AUTH_AUDIENCE`, refusing values that cannot work. */
export function loadServiceConfig(env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  const port = env.PORT === undefined ? DEFAULTS.port : Number(env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new Error(`PORT must be an integer from 0 to 65535 (got ${JSON.stringify(env.PORT)})`);
  }
  return Object.freeze({
    host: env.HOST ?? DEFAULTS.host,
    port,
    authIssuer: env.AUTH_ISSUER ?? DEFAULTS.authIssuer,
    authAudience: env.AUTH_AUDIENCE ?? DEFAULTS.authAudience,
  });
}
