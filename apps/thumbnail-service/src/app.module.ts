import {
  type DynamicModule,
  Module,
  type OnApplicationShutdown,
  type Provider,
} from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { TerminusModule } from '@nestjs/terminus';
import { SecureApiModule, type ThrottleTier } from '@secure-api/nestjs';
import {
  createS3Storage,
  type S3Storage,
  ThumbnailWriter,
  UploadReader,
} from '@secure-api-sample/object-storage';
import { type ServiceConfig } from './config/service.config.js';
import { HealthController } from './health/health.controller.js';
import { OpenApiController } from './openapi/openapi.controller.js';
import { OpenApiDocumentStore } from './openapi/openapi-document.store.js';
import {
  IMAGE_JOB_LIMITER_OPTIONS,
  ImageJobLimiter,
  type ImageJobLimiterOptions,
} from './thumbnails/image-job.limiter.js';
import { ImageInspector } from './thumbnails/image.inspector.js';
import { ThumbnailRenderer } from './thumbnails/thumbnail.renderer.js';
import { ThumbnailService } from './thumbnails/thumbnail.service.js';
import { ThumbnailsController } from './thumbnails/thumbnails.controller.js';

/** The three rate-limit tiers: per address before any crypto, per caller, and for the instance. */
export const RATE_LIMIT_TIERS: readonly ThrottleTier[] = Object.freeze([
  { name: 'ip', by: 'ip', limit: 120, ttl: 60_000 },
  { name: 'principal', by: 'principal', limit: 60, ttl: 60_000 },
  { name: 'global', by: 'global', limit: 200, ttl: 1_000 },
]);

/** What tests (and other embeddings) may put in place of the configured parts. */
export interface AppOverrides {
  /** The two storage ports; default: S3 at `S3_ENDPOINT` with the SDK's credentials chain. */
  readonly storage?: { readonly reader: UploadReader; readonly writer: ThumbnailWriter };
  readonly imageJobs?: ImageJobLimiterOptions;
}

/** Owns the S3 clients it made, and closes their sockets on shutdown. */
class S3StorageLifecycle implements OnApplicationShutdown {
  constructor(readonly storage: S3Storage) {}

  onApplicationShutdown(): void {
    this.storage.close();
  }
}

function storageProviders(config: ServiceConfig, overrides: AppOverrides): Provider[] {
  if (overrides.storage !== undefined) {
    return [
      { provide: UploadReader, useValue: overrides.storage.reader },
      { provide: ThumbnailWriter, useValue: overrides.storage.writer },
    ];
  }
  return [
    {
      provide: S3StorageLifecycle,
      useFactory: () =>
        new S3StorageLifecycle(
          createS3Storage({ endpoint: config.s3Endpoint, region: config.s3Region }),
        ),
    },
    {
      provide: UploadReader,
      useFactory: (owner: S3StorageLifecycle) => owner.storage.reader,
      inject: [S3StorageLifecycle],
    },
    {
      provide: ThumbnailWriter,
      useFactory: (owner: S3StorageLifecycle) => owner.storage.writer,
      inject: [S3StorageLifecycle],
    },
  ];
}

/**
 * The thumbnail service, configured from {@link ServiceConfig}: every layer of
 * `@secure-api/nestjs` (mTLS with peer identities and rotation, bearer tokens with scopes,
 * strict DTOs, three rate-limit tiers, masked logs with a runtime level for the operator peer),
 * storage through the two narrow ports only.
 */
@Module({})
export class AppModule {
  static register(config: ServiceConfig, overrides: AppOverrides = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        // The environment was checked by loadServiceConfig(); the typed result is what the
        // service reads (ConfigService.get('service')), never process.env.
        ConfigModule.forRoot({
          isGlobal: true,
          ignoreEnvFile: true,
          load: [() => ({ service: config })],
        }),
        TerminusModule,
        SecureApiModule.forRoot({
          auth: {
            issuer: config.authIssuer,
            audience: config.authAudience,
            ...(config.authJwksUri === undefined ? {} : { jwksUri: config.authJwksUri }),
          },
          tls: {
            certFile: config.tls.certFile,
            keyFile: config.tls.keyFile,
            caFile: config.tls.caFile,
            clientCertificate: 'require',
            watch: true,
            ...(config.tls.allowedPeers === undefined
              ? {}
              : { allowedPeers: config.tls.allowedPeers }),
          },
          throttle: {
            tiers: RATE_LIMIT_TIERS,
            storage:
              config.redisUrl === undefined
                ? 'memory'
                : { redis: { url: config.redisUrl, keyPrefix: 'thumbnails:rl:' } },
            onStoreError: 'fallback-memory',
          },
          // GET/PUT /admin/log-level: scope logging.admin, from the operator peer only.
          logging: {
            level: config.logLevel,
            runtimeControl: true,
            adminPeers: config.tls.adminPeers,
          },
        }),
      ],
      controllers: [HealthController, OpenApiController, ThumbnailsController],
      providers: [
        OpenApiDocumentStore,
        ...storageProviders(config, overrides),
        ImageInspector,
        ThumbnailRenderer,
        ImageJobLimiter,
        ...(overrides.imageJobs === undefined
          ? []
          : [{ provide: IMAGE_JOB_LIMITER_OPTIONS, useValue: overrides.imageJobs }]),
        ThumbnailService,
      ],
    };
  }
}
