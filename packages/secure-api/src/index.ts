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
export { SecureApiError } from './errors/secure-api.error.js';
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
