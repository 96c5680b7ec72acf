import {
  type Abstract,
  type FactoryProvider,
  type InjectionToken,
  type OptionalFactoryDependency,
} from '@nestjs/common';
import { SecureApiError } from '../errors/secure-api.error.js';
import { SecureApiErrorCode } from '../errors/secure-api-error-code.js';
import { type SecureHttpClientOptions } from './http-client-options.js';
import { SecureHttpClient } from './secure-http-client.js';

/** Options computed from other providers, e.g. a `ConfigService`. */
export interface SecureHttpClientFactoryOptions {
  /** Returns the client's options; receives the `inject` providers in order. */
  useFactory: (
    ...dependencies: never[]
  ) => SecureHttpClientOptions | Promise<SecureHttpClientOptions>;
  /**
   * Providers passed to `useFactory`.
   * @default []
   */
  inject?: Array<InjectionToken | OptionalFactoryDependency>;
}

/**
 * A Nest provider of one {@link SecureHttpClient} under `token` (a Symbol or an abstract class,
 * one per upstream). The client is closed when the application shuts down
 * (`onApplicationShutdown`); invalid options fail the bootstrap.
 *
 * @example
 * export const IMAGES_API = Symbol('IMAGES_API');
 *
 * @Module({
 *   providers: [
 *     provideSecureHttpClient(IMAGES_API, {
 *       useFactory: (config: ConfigService) => ({
 *         baseUrl: config.getOrThrow('IMAGES_URL'),
 *         clientCredentials: { ... },
 *       }),
 *       inject: [ConfigService],
 *     }),
 *   ],
 * })
 * export class AppModule {}
 *
 * // elsewhere
 * constructor(@Inject(IMAGES_API) private readonly images: SecureHttpClient) {}
 */
export function provideSecureHttpClient(
  token: symbol | Abstract<unknown>,
  options: SecureHttpClientOptions | SecureHttpClientFactoryOptions,
): FactoryProvider<SecureHttpClient> {
  if (typeof token !== 'symbol' && typeof token !== 'function') {
    throw new SecureApiError(
      SecureApiErrorCode.INVALID_OPTIONS,
      'provideSecureHttpClient: the token must be a Symbol or an abstract class. Potential solution: export const IMAGES_API = Symbol("IMAGES_API").',
    );
  }
  if ('useFactory' in options && typeof options.useFactory === 'function') {
    const factory = options.useFactory as (
      ...dependencies: unknown[]
    ) => SecureHttpClientOptions | Promise<SecureHttpClientOptions>;
    return {
      provide: token,
      useFactory: async (...dependencies: unknown[]) =>
        new SecureHttpClient(await factory(...dependencies)),
      inject: options.inject ?? [],
    };
  }
  return {
    provide: token,
    useFactory: () => new SecureHttpClient(options as SecureHttpClientOptions),
  };
}
