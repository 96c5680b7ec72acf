import { plainToInstance } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  MinLength,
  validateSync,
} from 'class-validator';

/** The pino levels `LOG_LEVEL` accepts. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** The sample's settings, read and checked once from the environment at startup; frozen. */
export interface ServiceConfig {
  readonly host: string;
  readonly port: number;
  readonly authIssuer: string;
  readonly authAudience: string;
  readonly authJwksUri: string | undefined;
  readonly tls: {
    readonly certFile: string;
    readonly keyFile: string;
    readonly caFile: string;
    /** SPIFFE IDs that may call at all; undefined: any certificate of the CA. */
    readonly allowedPeers: readonly string[] | undefined;
    /** SPIFFE IDs that may call `/admin/log-level` (with scope `logging.admin`). */
    readonly adminPeers: readonly string[];
  };
  /** Undefined: AWS S3 itself. */
  readonly s3Endpoint: string | undefined;
  readonly s3Region: string;
  /** Undefined: rate limits counted in memory, per instance. */
  readonly redisUrl: string | undefined;
  readonly logLevel: (typeof LOG_LEVELS)[number];
}

/** What has a default; nothing secret does, and nothing that says whom to trust. */
export const DEFAULTS = Object.freeze({
  host: '127.0.0.1',
  port: 3000,
  authAudience: 'https://thumbnails.local',
  s3Region: 'us-east-1',
  logLevel: 'info',
  adminPeers: ['spiffe://example.org/sa/operator'],
});

const SPIFFE_LIST =
  /^spiffe:\/\/[a-z0-9._-]+(\/[A-Za-z0-9._-]+)+(,spiffe:\/\/[a-z0-9._-]+(\/[A-Za-z0-9._-]+)+)*$/;
const URL_OPTIONS = { require_tld: false, require_protocol: true, protocols: ['http', 'https'] };

/**
 * The environment variables the service reads, as class-validator checks them. Each message
 * names the variable; values are never echoed (a misplaced secret must not reach the log).
 */
export class ServiceEnvironment {
  @IsOptional()
  @IsString()
  @MinLength(1)
  HOST?: string;

  @IsOptional()
  @IsInt({ message: 'PORT must be an integer from 0 to 65535' })
  @Min(0, { message: 'PORT must be an integer from 0 to 65535' })
  @Max(65_535, { message: 'PORT must be an integer from 0 to 65535' })
  PORT?: number;

  @IsUrl(URL_OPTIONS, { message: 'AUTH_ISSUER must be the http(s) URL of the token issuer' })
  AUTH_ISSUER!: string;

  @IsOptional()
  @IsString()
  @MinLength(1, { message: 'AUTH_AUDIENCE must be a non-empty string' })
  AUTH_AUDIENCE?: string;

  @IsOptional()
  @IsUrl(URL_OPTIONS, { message: 'AUTH_JWKS_URI must be an http(s) URL' })
  AUTH_JWKS_URI?: string;

  @IsString({ message: 'TLS_CERT_FILE must be the path of the server certificate (PEM)' })
  @MinLength(1, { message: 'TLS_CERT_FILE must be the path of the server certificate (PEM)' })
  TLS_CERT_FILE!: string;

  @IsString({ message: 'TLS_KEY_FILE must be the path of the server key (PEM)' })
  @MinLength(1, { message: 'TLS_KEY_FILE must be the path of the server key (PEM)' })
  TLS_KEY_FILE!: string;

  @IsString({ message: 'TLS_CA_FILE must be the path of the CA for client certificates (PEM)' })
  @MinLength(1, { message: 'TLS_CA_FILE must be the path of the CA for client certificates (PEM)' })
  TLS_CA_FILE!: string;

  @IsOptional()
  @Matches(SPIFFE_LIST, { message: 'TLS_ALLOWED_PEERS must be comma-separated SPIFFE IDs' })
  TLS_ALLOWED_PEERS?: string;

  @IsOptional()
  @Matches(SPIFFE_LIST, { message: 'LOG_ADMIN_PEERS must be comma-separated SPIFFE IDs' })
  LOG_ADMIN_PEERS?: string;

  @IsOptional()
  @IsUrl(URL_OPTIONS, { message: 'S3_ENDPOINT must be an http(s) URL' })
  S3_ENDPOINT?: string;

  @IsOptional()
  @Matches(/^[a-z]{2}(-[a-z]+)+-\d$/, {
    message: 'S3_REGION must be a region name, e.g. eu-west-1',
  })
  S3_REGION?: string;

  @IsOptional()
  @Matches(/^rediss?:\/\/\S+$/, { message: 'REDIS_URL must be a redis:// or rediss:// URL' })
  REDIS_URL?: string;

  @IsOptional()
  @IsIn(LOG_LEVELS, { message: `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}` })
  LOG_LEVEL?: (typeof LOG_LEVELS)[number];
}

/** A boot failure naming each variable that is wrong; never its value. */
export class ServiceConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid service configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ServiceConfigError';
  }
}

/** Every variable the service reads. */
export const SERVICE_VARIABLES = [
  'HOST',
  'PORT',
  'AUTH_ISSUER',
  'AUTH_AUDIENCE',
  'AUTH_JWKS_URI',
  'TLS_CERT_FILE',
  'TLS_KEY_FILE',
  'TLS_CA_FILE',
  'TLS_ALLOWED_PEERS',
  'LOG_ADMIN_PEERS',
  'S3_ENDPOINT',
  'S3_REGION',
  'REDIS_URL',
  'LOG_LEVEL',
] as const;

const list = (value: string | undefined): readonly string[] | undefined =>
  value === undefined ? undefined : Object.freeze(value.split(','));

/**
 * Checks the variables the service reads (the rest of the environment is ignored) and returns
 * the typed settings. Used by `main.ts` before the app exists (the TLS files are needed to create
 * it) and by `ConfigModule.forRoot({ validate })`.
 *
 * @throws ServiceConfigError naming every variable that is missing or wrong
 */
export function loadServiceConfig(env: Record<string, unknown> = process.env): ServiceConfig {
  const given: Record<string, unknown> = {};
  for (const name of SERVICE_VARIABLES) {
    const value = env[name];
    if (value !== undefined && value !== '') given[name] = value;
  }
  // PORT is the one number; everything else stays a string, as the environment gives it.
  if (typeof given.PORT === 'string' && /^\d+$/.test(given.PORT)) given.PORT = Number(given.PORT);
  const parsed = plainToInstance(ServiceEnvironment, given);
  const errors = validateSync(parsed, {
    forbidUnknownValues: true,
    validationError: { target: false, value: false },
  });
  if (errors.length > 0) {
    throw new ServiceConfigError(
      errors.flatMap((error) =>
        Object.values(error.constraints ?? {}).length > 0
          ? [Object.values(error.constraints ?? {})[0] as string]
          : [`${error.property} is invalid`],
      ),
    );
  }
  return Object.freeze({
    host: parsed.HOST ?? DEFAULTS.host,
    port: parsed.PORT ?? DEFAULTS.port,
    authIssuer: parsed.AUTH_ISSUER,
    authAudience: parsed.AUTH_AUDIENCE ?? DEFAULTS.authAudience,
    authJwksUri: parsed.AUTH_JWKS_URI,
    tls: Object.freeze({
      certFile: parsed.TLS_CERT_FILE,
      keyFile: parsed.TLS_KEY_FILE,
      caFile: parsed.TLS_CA_FILE,
      allowedPeers: list(parsed.TLS_ALLOWED_PEERS),
      adminPeers: list(parsed.LOG_ADMIN_PEERS) ?? Object.freeze([...DEFAULTS.adminPeers]),
    }),
    s3Endpoint: parsed.S3_ENDPOINT,
    s3Region: parsed.S3_REGION ?? DEFAULTS.s3Region,
    redisUrl: parsed.REDIS_URL,
    logLevel: parsed.LOG_LEVEL ?? (DEFAULTS.logLevel as ServiceConfig['logLevel']),
  });
}
