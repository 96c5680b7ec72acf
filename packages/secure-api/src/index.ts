export { SecureApiModule } from './secure-api.module.js';
export {
  type AuthOptions,
  type HeadersOptions,
  type JwksOptions,
  type JwsAlgorithm,
  type ResolvedSecureApiOptions,
  type RouteAuditMode,
  type SecureApiModuleOptions,
  type TokenCacheOptions,
  SUPPORTED_ALGORITHMS,
  resolveOptions,
} from './secure-api.options.js';
export { SECURE_API_OPTIONS } from './secure-api.constants.js';
export { Scopes, ScopesMetadata } from './auth/scopes.decorator.js';
export { Public } from './auth/public.decorator.js';
export { CurrentPrincipal } from './auth/current-principal.decorator.js';
export { type AuthMethod, type Principal } from './auth/principal.js';
export { JwtAuthGuard } from './auth/jwt-auth.guard.js';
export { ScopesGuard } from './auth/scopes.guard.js';
export { JwksKeyStore, type JwksSourceStatus, type JwksStatus } from './auth/jwks-key-store.js';
export { VerifiedTokenCache } from './auth/verified-token.cache.js';
export { type ApplicationErrorCode, SecureApiError } from './errors/secure-api.error.js';
export { SecureApiHttpError, type SecureApiHttpErrorInit } from './errors/secure-api-http.error.js';
export { SecureApiErrorCode, TokenRejectionReason } from './errors/secure-api-error-code.js';
export { type FieldError, PROBLEM_JSON, type ProblemDetails } from './errors/problem-details.js';
export { SecureApiExceptionFilter } from './errors/secure-api-exception.filter.js';
export { SecureHeadersMiddleware } from './headers/secure-headers.middleware.js';
export { SecureValidationPipe } from './validation/secure-validation.pipe.js';
export { type CorsOptions, type ResolvedCorsOptions } from './secure-api.options.js';
export { CorsMiddleware } from './cors/cors.middleware.js';
export {
  applySecureApiOpenApi,
  type OpenApiDocument,
  type SecureApiOpenApiOptions,
} from './openapi/secure-api-openapi.js';
export { type BodyOptions, type ResolvedBodyOptions } from './validation/body-options.js';
export { type ResolvedTimeoutOptions, type TimeoutOptions } from './validation/server-timeouts.js';
export { REQUEST_ID_HEADER, REQUEST_ID_PATTERN, requestIdOf } from './logging/request-id.js';
export {
  type AuthFailureOptions,
  type RedisStorageOptions,
  type ResolvedThrottleOptions,
  type ResolvedTier,
  type ThrottleOptions,
  type ThrottleTier,
  type TierKey,
} from './throttling/throttle-options.js';
export {
  MemoryThrottlerStorage,
  type MemoryThrottlerStorageOptions,
  type ThrottlerStorageRecord,
} from './throttling/memory-throttler.storage.js';
export {
  RedisThrottlerStorage,
  type RedisThrottlerStorageOptions,
  type ThrottlerIncrement,
  type ThrottlerStoreErrorPolicy,
  ThrottlerStoreUnavailableError,
} from './throttling/redis-throttler.storage.js';
export { type ApiKeyConfig, hashApiKey } from './throttling/api-key.js';
export { type TrustProxy } from './throttling/client-address.js';
export { RateLimiter } from './throttling/rate-limiter.service.js';
export { EdgeThrottlerGuard, PrincipalThrottlerGuard } from './throttling/throttler.guard.js';
export { LOGIN_LIMIT, ThrottleLogin } from './throttling/login-throttle.decorator.js';
export { type LoggingOptions, type ResolvedLoggingOptions } from './logging/logging-options.js';
export {
  createLogDestination,
  type LogDestinationOptions,
  type LoggingStats,
  loggingStats,
} from './logging/logger-params.js';
export {
  DEFAULT_SENSITIVE_KEYS,
  DEFAULT_SENSITIVE_QUERY_PARAMS,
  Masker,
  type MaskingOptions,
  maskingPinoOptions,
  REDACTED,
} from './logging/masker.js';
export {
  LogLevelService,
  type LogLevelState,
  type SetLogLevelRequest,
  type SetLogLevelResult,
} from './logging/log-level.service.js';
export { SecureLoggingInterceptor } from './logging/secure-logging.interceptor.js';
export { RequestIdMiddleware, SecureApiRequestIdModule } from './logging/request-id.middleware.js';
export {
  logSecurityEvent,
  SecurityEvent,
  type SecurityEventName,
} from './logging/security-event.js';
export { type LoggedAction, type LoggedPrincipal } from './logging/request-context.js';
export { createHttpsOptions, type SecureHttpsOptions } from './tls/https-options.js';
export {
  type ClientCertificateMode,
  type ResolvedTlsOptions,
  type TlsFileOptions,
  type TlsOptions,
} from './tls/tls-options.js';
export { TlsFileError } from './tls/tls-files.js';
export { type PeerIdentity, peerOf } from './tls/peer-identity.js';
export { AllowPeers, AllowPeersMetadata } from './tls/allow-peers.decorator.js';
export { CurrentPeer } from './tls/current-peer.decorator.js';
export { PeerGuard } from './tls/peer.guard.js';
export { TlsServerService, type TlsStatus } from './tls/tls-server.service.js';
export {
  SecureHttpClient,
  type HttpClientCircuitEvent,
  type HttpClientRequest,
  type HttpClientRequestOptions,
  type HttpClientResponse,
  type HttpClientRetryEvent,
  type SecureHttpClientEvents,
} from './http-client/secure-http-client.js';
export {
  provideSecureHttpClient,
  type SecureHttpClientFactoryOptions,
} from './http-client/secure-http-client.provider.js';
export {
  resolveHttpClientOptions,
  type HttpClientCircuitBreakerOptions,
  type HttpClientCredentialsOptions,
  type HttpClientRetryOptions,
  type HttpClientTlsOptions,
  type ResolvedHttpClientOptions,
  type SecureHttpClientOptions,
} from './http-client/http-client-options.js';
export {
  CircuitOpenError,
  HttpClientAbortedError,
  HttpClientConnectError,
  HttpClientError,
  HttpClientNetworkError,
  HttpClientTimeoutError,
  HttpClientUrlRefusedError,
  ResponseTooLargeError,
  TokenRequestFailedError,
  UpstreamClientError,
  UpstreamHttpError,
  UpstreamServerError,
  type HttpClientAbortReason,
  type HttpClientTimeoutPhase,
  type OutboundTarget,
  type TokenFailureDetails,
  type UpstreamResponseDetails,
} from './http-client/http-client.errors.js';
export { ClientTlsError, type ClientTlsStatus } from './http-client/client-tls.js';
export { type CircuitStateName } from './http-client/origin-breaker.registry.js';
export { type QueryParameters, type QueryValue } from './http-client/request-target.js';
export { parseRetryAfter } from './http-client/retry-after.js';
